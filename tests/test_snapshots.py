"""Snapshots of every stack kind, for the default deployment and the three-region and GPU-capacity examples.

A change to the synthesized JSON fails here until the snapshot is updated with
`pytest --snapshot-update`; read the diff of `tests/__snapshots__/` before you
commit it, as a reviewer will.
"""

from __future__ import annotations

import json

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import Synth


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", ["network", "region-us-central1", "global-frontend"])
def test_default_deployment(default_synth: Synth, snapshot_json: SnapshotAssertion, stack: str) -> None:
    assert default_synth.stack(stack) == snapshot_json


@pytest.mark.parametrize("stack", ["region-us-east4", "region-asia-southeast1", "global-frontend"])
def test_three_region_deployment(three_region_synth: Synth, snapshot_json: SnapshotAssertion, stack: str) -> None:
    assert three_region_synth.stack(stack) == snapshot_json


@pytest.mark.parametrize("stack", ["region-europe-west4", "region-us-central1"])
def test_gpu_capacity_deployment(gpu_capacity_synth: Synth, snapshot_json: SnapshotAssertion, stack: str) -> None:
    """A Spot region and a reservation region (the on-demand kind is pinned above)."""
    assert gpu_capacity_synth.stack(stack) == snapshot_json


def test_manifest(three_region_synth: Synth, snapshot_json: SnapshotAssertion) -> None:
    assert json.loads(json.dumps(three_region_synth.manifest)) == snapshot_json
