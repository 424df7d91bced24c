"""The pinned cdktf CLI (`npx cdktf synth`) as users run it, where a region's stack goes away.

The steps write into one output directory, as a user's `cdktf.out` lives on
between commands, and each is followed by a check that the manifest and the
stack folders agree. The CLI removes the stack folders it saw before a synth
that the new manifest no longer lists; the app must leave them for it (it fails
with ENOENT otherwise). So the step that drops a stack goes through the CLI; the
one before runs the app as the CLI runs it (cdktf.json's command, with the CLI's
CDKTF_OUTDIR), which saves the CLI's two seconds of start.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, THREE_REGIONS_CONFIG, load_yaml

CLI = REPO / "node_modules" / ".bin" / "cdktf"
pytestmark = pytest.mark.skipif(
    not CLI.exists(), reason="the pinned cdktf CLI is not installed: run `make install` (make test does)"
)


def cli_environment(**overrides: str) -> dict[str, str]:
    """The environment the Makefile gives the CLI: the pinned Node first on PATH, no update check."""
    env = {k: v for k, v in os.environ.items() if k not in ("DEPLOYMENT_CONFIG", "CDKTF_OUTDIR", "JSII_NODE")}
    env["PATH"] = f"{REPO / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(CHECKPOINT_DISABLE="1", CI="1")
    config_file = env.get("TF_CLI_CONFIG_FILE")
    if config_file and not Path(config_file).exists():
        # A machine setting naming a missing Terraform CLI config makes terraform warn (and the
        # CDKTF CLI log that as [ERROR]) on every call; it is not this project's output.
        del env["TF_CLI_CONFIG_FILE"]
    env.update(overrides)
    return env


def cdktf_synth(config: Path, outdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "synth", "--output", str(outdir)],
        cwd=REPO,
        env=cli_environment(DEPLOYMENT_CONFIG=str(config)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def app_synth(config: Path, outdir: Path) -> subprocess.CompletedProcess[str]:
    """What `cdktf synth --output OUTDIR` runs: cdktf.json's app command, CDKTF_OUTDIR set to OUTDIR."""
    command = json.loads((REPO / "cdktf.json").read_text())["app"]
    return subprocess.run(
        shlex.split(command),
        cwd=REPO,
        env=cli_environment(DEPLOYMENT_CONFIG=str(config), CDKTF_OUTDIR=str(outdir)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clean_success(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[ERROR]" not in output and "end-of-life" not in output.lower() and "Traceback" not in output, output


def stacks_on_disk(outdir: Path) -> dict[str, Any]:
    """The manifest's stacks, after checking that they and the stack folders agree."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = manifest["stacks"]
    assert {path.name for path in (outdir / "stacks").iterdir()} == set(stacks)
    for name, stack in stacks.items():
        assert (outdir / stack["synthesizedStackPath"]).is_file(), name
    return stacks


def write_config(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_removing_a_decommissioned_region_goes_through_the_cli(tmp_path: Path) -> None:
    """The last step of the README's decommission runbook, in the output directory step 2 left
    (drained and marked, one synth of the app).

    What each step changes in the stacks is tests/test_locality.py's; here the stack
    folders, the manifest and a deployed stack's `.terraform` must agree after the CLI.
    """
    outdir = tmp_path / "cdktf.out"
    document = load_yaml(THREE_REGIONS_CONFIG)
    position = [r["region"] for r in document["regions"]].index("asia-southeast1")
    decommissioned = copy.deepcopy(document)
    decommissioned["regions"][position].update(capacity_scaler=0, decommission=True)
    assert_clean_success(app_synth(write_config(tmp_path / "2-decommission.yaml", decommissioned), outdir))
    stacks = stacks_on_disk(outdir)
    assert "region-asia-southeast1" in stacks  # still synthesized, to be destroyed (step 3, needs the cloud)
    assert "region-asia-southeast1" not in stacks["global-frontend"]["dependencies"]
    (outdir / "stacks" / "network" / ".terraform").mkdir()  # as `cdktf deploy` leaves it
    (outdir / "stacks" / "network" / ".terraform" / "marker").write_text("init")

    removed = copy.deepcopy(decommissioned)
    del removed["regions"][position]
    assert_clean_success(cdktf_synth(write_config(tmp_path / "4-remove.yaml", removed), outdir))
    stacks = stacks_on_disk(outdir)
    assert set(stacks) == {"network", "region-us-east4", "region-europe-west4", "global-frontend"}
    assert sorted(stacks["global-frontend"]["dependencies"]) == ["region-europe-west4", "region-us-east4"]
    assert (outdir / "stacks" / "network" / ".terraform" / "marker").read_text() == "init"
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == [".cdktf.out.lock"]
