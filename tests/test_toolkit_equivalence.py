"""tools/toolkit_equivalence.py: what `make cdktn-check` accepts and how it reports the rest.

`make cdktn-check` itself synthesizes on both toolkits (it needs tools/cdktn's
environment); these tests pin the comparator's judgement, on small trees and on
a copy of the real default synth made to look like a cdktn one.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "toolkit_equivalence.py"
_spec = importlib.util.spec_from_file_location("toolkit_equivalence", TOOL)
assert _spec and _spec.loader
equivalence = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(equivalence)


def stack(*, source: str = "google", version: str = "0.21.0", interval: Any = 5) -> dict[str, Any]:
    return {
        "//": {"metadata": {"backend": "local", "stackName": "network", "version": version}},
        "resource": {
            "google_compute_health_check": {
                "probe": {"//": {"metadata": {"path": "network/probe"}}, "check_interval_sec": interval}
            }
        },
        "terraform": {"required_providers": {"google": {"source": source, "version": "6.50.0"}}},
    }


def test_provider_source_spelling_and_toolkit_version_are_not_differences() -> None:
    assert equivalence.differences(stack(), stack(source="hashicorp/google", version="0.23.4")) == []
    assert equivalence.differences(stack(), stack(source="registry.terraform.io/hashicorp/google")) == []


def test_one_attribute_rendered_differently_is_reported_with_its_path_and_both_values() -> None:
    assert equivalence.differences(stack(), stack(source="hashicorp/google", interval="5")) == [
        'resource.google_compute_health_check.probe.check_interval_sec: cdktf 5 != cdktn "5"'
    ]


def test_another_provider_under_the_same_name_is_a_difference() -> None:
    assert equivalence.differences(stack(), stack(source="evilcorp/google")) == [
        'terraform.required_providers.google.source: cdktf "google" != cdktn "evilcorp/google"'
    ]


def test_the_provider_version_is_not_ignored() -> None:
    newer = stack()
    newer["terraform"]["required_providers"]["google"]["version"] = "7.0.0"
    assert equivalence.differences(stack(), newer) == [
        'terraform.required_providers.google.version: cdktf "6.50.0" != cdktn "7.0.0"'
    ]


def test_missing_and_extra_keys_and_list_lengths_are_reported() -> None:
    left = {"resource": {"a": {"tags": ["x", "y"]}, "b": {}}}
    right = {"resource": {"a": {"tags": ["x"]}, "c": {}}}
    assert equivalence.differences(left, right) == [
        'resource.a.tags: cdktf ["x", "y"] != cdktn ["x"]',
        "resource.b: cdktf {} != cdktn (absent)",
        "resource.c: cdktf (absent) != cdktn {}",
    ]


@pytest.fixture
def as_cdktn(synthesize: Callable[[dict[str, Any]], Any], default_document: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the default synth with what cdktn 0.23 writes differently: version and provider source."""
    cdktf_out = synthesize(default_document).outdir
    copy = tmp_path / "cdktn.out"
    shutil.copytree(cdktf_out, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["version"] = "0.23.4"
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for entry in manifest["stacks"].values():
        path = copy / entry["synthesizedStackPath"]
        data = json.loads(path.read_text())
        data["//"]["metadata"]["version"] = "0.23.4"
        data["terraform"]["required_providers"]["google"]["source"] = "hashicorp/google"
        path.write_text(json.dumps(data, indent=2))
    return copy


def run_tool(left: Path, right: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), str(left), str(right)], capture_output=True, text=True, timeout=120
    )


def test_the_default_synth_passes_against_its_cdktn_rendering(
    synthesize: Callable[[dict[str, Any]], Any], default_document: dict[str, Any], as_cdktn: Path
) -> None:
    result = run_tool(synthesize(default_document).outdir, as_cdktn)
    assert result.returncode == 0, result.stderr
    assert "4 stacks equal" in result.stdout


def test_a_deliberate_difference_fails_with_a_readable_per_stack_diff(
    synthesize: Callable[[dict[str, Any]], Any], default_document: dict[str, Any], as_cdktn: Path
) -> None:
    path = as_cdktn / "stacks" / "region-us-central1" / "cdk.tf.json"
    data = json.loads(path.read_text())
    template = next(iter(data["resource"]["google_compute_instance_template"].values()))
    machine_type = template["machine_type"]
    template["machine_type"] = "n1-standard-1"
    path.write_text(json.dumps(data))

    result = run_tool(synthesize(default_document).outdir, as_cdktn)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[1:] == [
        "stack region-us-central1 (stacks/region-us-central1/cdk.tf.json):",
        f"  resource.google_compute_instance_template.{next(iter(data['resource']['google_compute_instance_template']))}"
        f'.machine_type: cdktf "{machine_type}" != cdktn "n1-standard-1"',
    ]
    assert lines[0].startswith("error: ") and "beyond the provider source spelling and versions" in lines[0]
