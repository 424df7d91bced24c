"""Shared fixtures: each deployment is synthesized once per test session, in this process.

Importing the google provider costs seconds and half a GB, so tests never
synthesize per test; they ask `synthesize` for a deployment and get the cached
result, read back from the JSON files cdktf wrote. The GCP rules run on that
JSON as main.py runs them: a synthesized deployment that breaks one fails the
test that asked for it, unless it passed ``allow_violations=True`` to look at them.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib import provider_import, run_environment

run_environment.prepare(os.environ)  # the pinned Node 22 LTS runs the jsii kernel, as in main.py
provider_import.install()

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO / "config" / "default.yaml"
THREE_REGIONS_CONFIG = REPO / "config" / "examples" / "three-regions.yaml"
GPU_CAPACITY_CONFIG = REPO / "config" / "examples" / "gpu-capacity.yaml"

MAIN = (sys.executable, "-O", str(REPO / "main.py"))
"""The app as cdktf.json's command and `make synth` run it; the tests' in-process builds keep the
bindings' runtime type checks that ``-O`` skips."""

COLLECTED: list[pytest.Item] = []
"""Every test collected in this process, before -k/-m deselection (tests/test_snapshot_files.py)."""


SLOW_FILES_FIRST = (
    "test_output_directory.py",
    "test_readme.py",
    "test_jsii_kernel_process.py",
    "test_review.py",
    "test_main.py",
    "test_security_scan.py",
    "test_cli.py",
    "test_jsii_package_cache.py",
    "test_provider_import.py",
    "test_workflows.py",
)
"""The files that run subprocesses for seconds, longest first (tests/test_*.py --durations=0).

pytest.ini's --no-loadscope-reorder makes xdist hand out files in collection order: these
start first, and the many quick files fill in around them, so the two workers end together.
"""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    COLLECTED[:] = items
    rank = {name: index for index, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@dataclass(frozen=True)
class Synth:
    """One synthesized deployment: the manifest, and each stack's JSON text and parsed form."""

    outdir: Path
    manifest: dict[str, Any]
    texts: dict[str, str]
    violations: tuple[str, ...]

    def stack(self, name: str) -> dict[str, Any]:
        return json.loads(self.texts[name])

    def resources(self, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.stack(stack).get("resource", {}).get(resource_type, {})

    def resource(self, stack: str, resource_type: str, name: str) -> dict[str, Any]:
        return self.resources(stack, resource_type)[name]


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="session")
def synthesize(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Synth]:
    """Synthesize a deployment document (a dict as read from YAML); cached by its content."""
    from constructs_lib.config import parse_config
    from constructs_lib.validation import ALL_RULES
    from constructs_lib.validation.engine import check_stacks
    from stacks.app import build_app

    cache: dict[str, Synth] = {}

    def run(document: dict[str, Any], *, allow_violations: bool = False) -> Synth:
        key = json.dumps(document, sort_keys=True)
        if key not in cache:
            config = parse_config(copy.deepcopy(document), "test.yaml")
            outdir = tmp_path_factory.mktemp("cdktf.out")
            build_app(config, outdir=str(outdir)).synth()
            manifest = json.loads((outdir / "manifest.json").read_text())
            texts = {
                name: (outdir / stack["synthesizedStackPath"]).read_text()
                for name, stack in manifest["stacks"].items()
            }
            violations = check_stacks({name: json.loads(text) for name, text in texts.items()}, ALL_RULES)
            cache[key] = Synth(outdir=outdir, manifest=manifest, texts=texts, violations=tuple(violations))
        synth = cache[key]
        if synth.violations and not allow_violations:
            pytest.fail("the deployment breaks GCP rules:\n" + "\n".join(synth.violations))
        return synth

    return run


@pytest.fixture(scope="session")
def default_document() -> dict[str, Any]:
    return load_yaml(DEFAULT_CONFIG)


@pytest.fixture(scope="session")
def three_region_document() -> dict[str, Any]:
    return load_yaml(THREE_REGIONS_CONFIG)


@pytest.fixture(scope="session")
def default_synth(synthesize: Callable[[dict[str, Any]], Synth], default_document: dict[str, Any]) -> Synth:
    return synthesize(default_document)


@pytest.fixture(scope="session")
def three_region_synth(
    synthesize: Callable[[dict[str, Any]], Synth], three_region_document: dict[str, Any]
) -> Synth:
    return synthesize(three_region_document)


@pytest.fixture(scope="session")
def gpu_capacity_synth(synthesize: Callable[[dict[str, Any]], Synth]) -> Synth:
    """The example with on-demand, Spot and reservation regions and per-region serving settings."""
    return synthesize(load_yaml(GPU_CAPACITY_CONFIG))
