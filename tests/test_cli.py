"""The pinned cdktf CLI (`npx cdktf synth`) runs the app as users and Terraform Cloud runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

CLI = REPO / "node_modules" / ".bin" / "cdktf"


@pytest.mark.skipif(not CLI.exists(), reason="the pinned cdktf CLI is not installed: run `make install` (make test does)")
def test_cdktf_synth_writes_every_stack_and_the_dependency_order(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DEPLOYMENT_CONFIG", "CDKTF_OUTDIR")}
    env.update(CI="1", CHECKPOINT_DISABLE="1", DEPLOYMENT_CONFIG="config/examples/three-regions.yaml")
    outdir = tmp_path / "cdktf.out"
    result = subprocess.run(
        [str(CLI), "synth", "--output", str(outdir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = manifest["stacks"]
    assert set(stacks) == {
        "network",
        "region-us-east4",
        "region-europe-west4",
        "region-asia-southeast1",
        "global-frontend",
    }
    assert sorted(stacks["global-frontend"]["dependencies"]) == [
        "region-asia-southeast1",
        "region-europe-west4",
        "region-us-east4",
    ]
    for name, stack in stacks.items():
        assert (outdir / stack["synthesizedStackPath"]).is_file(), name
