"""The opt-in Terraform Cloud bootstrap: workspaces, state sharing and run triggers per stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib.config import load_config
from tests.conftest import REPO

TFC_CONFIG = REPO / "config" / "examples" / "tfc.yaml"


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from stacks.tfc_bootstrap_stack import build_bootstrap_app

    outdir = tmp_path_factory.mktemp("bootstrap")
    build_bootstrap_app(load_config(TFC_CONFIG), outdir=str(outdir)).synth()
    return json.loads((outdir / "stacks" / "tfc-bootstrap" / "cdk.tf.json").read_text())


def by_name(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ws["name"]: ws for ws in bootstrap["resource"]["tfe_workspace"].values()}


def test_one_workspace_per_stack_with_its_working_directory(bootstrap: dict[str, Any]) -> None:
    workspaces = by_name(bootstrap)
    stacks = ["network", "region-us-central1", "region-europe-west4", "global-frontend"]
    assert sorted(workspaces) == sorted(f"llm-prod-{stack}" for stack in stacks)
    for stack in stacks:
        workspace = workspaces[f"llm-prod-{stack}"]
        assert workspace["working_directory"] == f"cdktf.out/stacks/{stack}"
        assert workspace["organization"] == "acme"
        assert workspace["project_id"] == "${data.tfe_project.project.id}"
        assert workspace["vcs_repo"]["identifier"] == "acme/llm-serving"


def test_state_is_shared_only_with_the_stacks_that_read_it(bootstrap: dict[str, Any]) -> None:
    sharing = bootstrap["resource"]["tfe_workspace_settings"]
    assert sharing["network_state_sharing"]["remote_state_consumer_ids"] == [
        "${tfe_workspace.region_us_central1.id}",
        "${tfe_workspace.region_europe_west4.id}",
    ]
    assert sharing["region_us_central1_state_sharing"]["remote_state_consumer_ids"] == [
        "${tfe_workspace.global_frontend.id}"
    ]
    assert all(settings["global_remote_state"] is False for settings in sharing.values())
    assert "global_frontend_state_sharing" not in sharing


def test_a_region_apply_queues_a_global_frontend_run(bootstrap: dict[str, Any]) -> None:
    triggers = {
        (t["sourceable_id"], t["workspace_id"]) for t in bootstrap["resource"]["tfe_run_trigger"].values()
    }
    assert triggers == {
        ("${tfe_workspace.network.id}", "${tfe_workspace.region_us_central1.id}"),
        ("${tfe_workspace.network.id}", "${tfe_workspace.region_europe_west4.id}"),
        ("${tfe_workspace.region_us_central1.id}", "${tfe_workspace.global_frontend.id}"),
        ("${tfe_workspace.region_europe_west4.id}", "${tfe_workspace.global_frontend.id}"),
    }


def test_bootstrap_snapshot(bootstrap: dict[str, Any], snapshot: SnapshotAssertion) -> None:
    assert bootstrap == snapshot.use_extension(JSONSnapshotExtension)


def test_bootstrap_refuses_other_backends(tmp_path: Path) -> None:
    env = {**os.environ, "DEPLOYMENT_CONFIG": "config/default.yaml", "CDKTF_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run(
        [sys.executable, "tfc_bootstrap.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: config/default.yaml: state.backend: is 'local'; the bootstrap is for tfc (set DEPLOYMENT_CONFIG to the tfc file)"
    assert not (tmp_path / "out").exists()


def test_bootstrap_into_an_unwritable_output_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {
        **os.environ,
        "DEPLOYMENT_CONFIG": "config/examples/tfc.yaml",
        "CDKTF_OUTDIR": str(blocker / "cdktf.out.bootstrap"),
    }
    result = subprocess.run(
        [sys.executable, "tfc_bootstrap.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {blocker}"), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
