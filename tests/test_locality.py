"""Deterministic output, and changes that stay local to what was changed.

Reviewers trust a synth diff only if the same config gives the same bytes and
a change to one region shows up nowhere else; Terraform plans then touch only
what was meant.
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from constructs_lib.config import parse_config
from stacks.app import build_app
from tests.conftest import REPO, Synth

Synthesize = Callable[[dict[str, Any]], Synth]
ASIA = {
    "region": "asia-northeast1",
    "machine_type": "g2-standard-8",
    "min_replicas": 1,
    "max_replicas": 2,
    "capacity_scaler": 1.0,
}


def variant(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def changed_stacks(before: Synth, after: Synth) -> set[str]:
    names = set(before.texts) | set(after.texts)
    return {name for name in names if before.texts.get(name) != after.texts.get(name)}


def test_same_config_gives_identical_bytes(default_synth: Synth, default_document: dict[str, Any], tmp_path: Path) -> None:
    outdir = tmp_path / "again"
    build_app(parse_config(copy.deepcopy(default_document), "test.yaml"), outdir=str(outdir)).synth()
    for name, stack in default_synth.manifest["stacks"].items():
        assert (outdir / stack["synthesizedStackPath"]).read_text() == default_synth.texts[name]
    assert (outdir / "manifest.json").read_text() == (default_synth.outdir / "manifest.json").read_text()


def test_output_has_no_absolute_paths_or_timestamps(three_region_synth: Synth) -> None:
    timestamp = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
    machine_paths = (str(REPO), str(Path.cwd()), str(three_region_synth.outdir), tempfile.gettempdir())
    for text in three_region_synth.texts.values():
        assert not [path for path in machine_paths if path in text]
        assert not timestamp.search(text)


def test_adding_a_region_changes_only_its_stack_and_the_frontend(
    synthesize: Synthesize, default_document: dict[str, Any], default_synth: Synth
) -> None:
    added = synthesize(variant(default_document, lambda d: d["regions"].append(ASIA)))
    assert changed_stacks(default_synth, added) == {"region-asia-northeast1", "global-frontend"}


def test_removing_a_region_removes_its_stack_and_changes_only_the_frontend(
    synthesize: Synthesize, default_document: dict[str, Any], default_synth: Synth
) -> None:
    removed = synthesize(variant(default_document, lambda d: d["regions"].pop()))
    assert "region-europe-west4" not in removed.texts
    assert changed_stacks(default_synth, removed) == {"region-europe-west4", "global-frontend"}


def test_draining_a_region_changes_only_the_frontend(
    synthesize: Synthesize, default_document: dict[str, Any], default_synth: Synth
) -> None:
    drained = synthesize(variant(default_document, lambda d: d["regions"][1].update(capacity_scaler=0)))
    assert changed_stacks(default_synth, drained) == {"global-frontend"}
    backends = drained.resource("global-frontend", "google_compute_backend_service", "global_backend")["backend"]
    assert [b["capacity_scaler"] for b in backends] == [1, 0]


def test_restoring_a_drained_region_gives_back_the_original_bytes(
    synthesize: Synthesize, default_document: dict[str, Any], default_synth: Synth, tmp_path: Path
) -> None:
    drained = variant(default_document, lambda d: d["regions"][1].update(capacity_scaler=0))
    assert changed_stacks(default_synth, synthesize(drained)) == {"global-frontend"}
    restored = variant(drained, lambda d: d["regions"][1].update(capacity_scaler=1.0))
    outdir = tmp_path / "restored"  # synthesized afresh: the session cache would hand back default_synth
    build_app(parse_config(restored, "test.yaml"), outdir=str(outdir)).synth()
    for name, stack in default_synth.manifest["stacks"].items():
        assert (outdir / stack["synthesizedStackPath"]).read_text() == default_synth.texts[name]


def test_decommissioning_drops_the_backend_and_the_dependency_but_keeps_the_stack(
    synthesize: Synthesize, default_document: dict[str, Any]
) -> None:
    drained = synthesize(variant(default_document, lambda d: d["regions"][1].update(capacity_scaler=0)))
    leaving = synthesize(
        variant(default_document, lambda d: d["regions"][1].update(capacity_scaler=0, decommission=True))
    )
    assert changed_stacks(drained, leaving) == {"global-frontend"}
    backends = leaving.resource("global-frontend", "google_compute_backend_service", "global_backend")["backend"]
    assert [b["description"] for b in backends] == ["us-central1"]
    assert "region-europe-west4" not in leaving.stack("global-frontend")["data"]["terraform_remote_state"]
    assert leaving.manifest["stacks"]["global-frontend"]["dependencies"] == ["region-us-central1"]
    assert "region-europe-west4" in leaving.manifest["stacks"]


def test_region_order_in_the_file_does_not_change_regional_stacks(
    synthesize: Synthesize, default_document: dict[str, Any], default_synth: Synth
) -> None:
    reordered = synthesize(variant(default_document, lambda d: d["regions"].reverse()))
    assert changed_stacks(default_synth, reordered) == {"global-frontend"}
