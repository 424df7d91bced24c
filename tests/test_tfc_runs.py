"""tools/tfc_runs.py: which stacks CI plans and applies, in which order, and what the PR comment says.

Terraform is replaced by a stand-in runner that records every command and answers
with canned output, so the order, the stop at the first failed apply and the
comment are checked without Terraform Cloud.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))

import tfc_runs  # noqa: E402
from review import COMMENT_LIMIT, load_synth  # noqa: E402

from tests.test_review import DEFAULT_REGIONS, make_app  # noqa: E402

PLAN_NO_CHANGES = "No changes. Your infrastructure matches the configuration.\n"


def plan_output(add: int, change: int, destroy: int, replaced: Sequence[str] = ()) -> str:
    lines = [f"  # {address} must be replaced" for address in replaced]
    return "\n".join([*lines, f"Plan: {add} to add, {change} to change, {destroy} to destroy."]) + "\n"


class FakeTerraform:
    """Records ``(stack, verb)`` per call; ``answers`` maps them to (exit status, output)."""

    def __init__(self, answers: dict[tuple[str, str], tuple[int, str]] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, argv: Sequence[str], cwd: Path) -> tfc_runs.Completed:
        assert argv[0] == "terraform" and cwd.parent.name == "stacks" and cwd.is_dir()
        call = (cwd.name, argv[1])
        self.calls.append(call)
        default = (0, PLAN_NO_CHANGES if argv[1] == "plan" else "ok\n")
        return tfc_runs.Completed(*self.answers.get(call, default))

    def stacks(self, verb: str) -> list[str]:
        return [stack for stack, v in self.calls if v == verb]


def in_terraform_cloud(outdir: Path) -> Path:
    """Give every stack the ``cloud`` block a tfc deployment synthesizes."""
    for path in (outdir / "stacks").glob("*/cdk.tf.json"):
        body = json.loads(path.read_text())
        body["terraform"] = {"cloud": {"organization": "acme", "workspaces": {"name": f"llm-{path.parent.name}"}}}
        path.write_text(json.dumps(body))
    return outdir


THREE = {**DEFAULT_REGIONS, "asia-east1": {"machine_type": "g2-standard-8", "min": 1, "max": 2, "capacity": 1}}


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return in_terraform_cloud(make_app(tmp_path / "old", THREE))


def changed(tmp_path: Path, regions: dict[str, dict[str, Any]], *, network: bool = False) -> Path:
    outdir = make_app(tmp_path / "new", regions)
    if network:
        path = outdir / "stacks" / "network" / "cdk.tf.json"
        body = json.loads(path.read_text())
        body["resource"]["google_compute_firewall"]["hc"]["source_ranges"].append("10.0.0.0/8")
        path.write_text(json.dumps(body))
    return in_terraform_cloud(outdir)


def test_plans_run_for_touched_stacks_only_in_dependency_order(tmp_path: Path, base: Path) -> None:
    regions = {**THREE, "us-central1": {**THREE["us-central1"], "max": 8},
               "europe-west4": {**THREE["europe-west4"], "capacity": 0}}
    new = changed(tmp_path, regions, network=True)
    terraform = FakeTerraform({
        ("region-us-central1", "plan"): (0, plan_output(1, 1, 1, ["google_compute_instance_template.tmpl"])),
        ("global-frontend", "plan"): (0, plan_output(0, 1, 0)),
    })
    plans, markdown = tfc_runs.plan(load_synth(base), load_synth(new), terraform)
    # europe-west4 is drained in global-frontend only: its own stack is untouched, as is asia-east1.
    assert terraform.stacks("plan") == ["network", "region-us-central1", "global-frontend"]
    assert terraform.stacks("init") == terraform.stacks("plan")
    assert all(p.ok for p in plans)
    assert "| `region-us-central1` | ⚠️ replaces resources | 1 | 1 | 1 |" in markdown
    assert "| `global-frontend` | ok | 0 | 1 | 0 |" in markdown
    assert "| `network` | ok | 0 | 0 | 0 |" in markdown
    assert "`region-us-central1` **replaces** `google_compute_instance_template.tmpl`" in markdown


def test_a_failed_plan_is_reported_and_the_later_stacks_are_still_planned(tmp_path: Path, base: Path) -> None:
    regions = {**THREE, "us-central1": {**THREE["us-central1"], "max": 8, "capacity": 0.5}}
    new = changed(tmp_path, regions)
    terraform = FakeTerraform({("region-us-central1", "plan"): (1, "Error: googleapi: Error 403: permission denied\n")})
    plans, markdown = tfc_runs.plan(load_synth(base), load_synth(new), terraform)
    assert terraform.stacks("plan") == ["region-us-central1", "global-frontend"]
    assert [p.ok for p in plans] == [False, True]
    assert "| `region-us-central1` | ❌ failed | | | |" in markdown
    assert "Error 403: permission denied" in markdown


def test_plans_are_skipped_when_the_state_is_not_in_terraform_cloud(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new = make_app(tmp_path / "new", {**DEFAULT_REGIONS, "us-central1": {**DEFAULT_REGIONS["us-central1"], "max": 9}})
    terraform = FakeTerraform()
    _, markdown = tfc_runs.plan(load_synth(old), load_synth(new), terraform)
    assert terraform.calls == []
    assert "Not run: region-us-central1 not in Terraform Cloud" in markdown


def test_apply_goes_in_dependency_order_and_stops_at_the_first_failure(tmp_path: Path, base: Path) -> None:
    regions = {name: {**spec, "max": 9} for name, spec in THREE.items()}
    regions["asia-east1"]["capacity"] = 0.5
    new = changed(tmp_path, regions, network=True)
    terraform = FakeTerraform({("region-europe-west4", "apply"): (1, "Error: quota exceeded\n")})
    with pytest.raises(tfc_runs.ApplyFailed) as failure:
        tfc_runs.apply(load_synth(base), load_synth(new), terraform)
    assert terraform.stacks("apply") == ["network", "region-asia-east1", "region-europe-west4"]
    assert str(failure.value).startswith(
        "apply of stack region-europe-west4 failed (exit status 1); applied before it: network, "
        "region-asia-east1; not applied: region-us-central1, global-frontend."
    )


def test_apply_all_resumes_every_stack_and_removed_stacks_are_never_destroyed(tmp_path: Path, base: Path) -> None:
    new = changed(tmp_path, DEFAULT_REGIONS)  # asia-east1 removed
    terraform = FakeTerraform()
    applied = tfc_runs.apply(load_synth(base), load_synth(new), terraform)
    assert applied == ["global-frontend"] and "region-asia-east1" not in {s for s, _ in terraform.calls}
    terraform = FakeTerraform()
    applied = tfc_runs.apply(load_synth(base), load_synth(new), terraform, everything=True)
    assert applied == ["network", "region-europe-west4", "region-us-central1", "global-frontend"]
    assert {verb for _, verb in terraform.calls} == {"init", "apply"}
    _, markdown = tfc_runs.plan(load_synth(base), load_synth(new), FakeTerraform())
    assert "`region-asia-east1` is removed from the synth: it is not planned or destroyed by CI" in markdown


def test_cli_writes_one_comment_with_plans_then_review_under_the_limit(tmp_path: Path, base: Path) -> None:
    regions = {**THREE, **{f"zz-test{i:02d}": dict(THREE["asia-east1"]) for i in range(37)}}
    new = changed(tmp_path, regions)
    comment = tmp_path / "comment.md"
    terraform = FakeTerraform()
    status = tfc_runs.main(["plan", str(base), str(new), "--output", str(comment)], run=terraform)
    assert status == 0
    text = comment.read_text()
    assert len(text.encode("utf-16-le")) // 2 <= COMMENT_LIMIT
    assert text.index("## Synth review") < text.index("## Terraform Cloud speculative plans") < text.index("```mermaid")
    assert terraform.stacks("plan")[-1] == "global-frontend" and len(terraform.stacks("plan")) == 38
    assert text.rstrip().endswith("```")


def test_cli_apply_failure_is_one_line_and_exit_1(tmp_path: Path, base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = changed(tmp_path, {**THREE, "us-central1": {**THREE["us-central1"], "max": 9}})
    terraform = FakeTerraform({("region-us-central1", "init"): (1, "Error: workspace not found\n")})
    assert tfc_runs.main(["apply", str(base), str(new)], run=terraform) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: init of stack region-us-central1 failed")
    assert terraform.stacks("apply") == []


def test_readers_of_a_producer_whose_outputs_may_change_are_planned_too(tmp_path: Path, base: Path) -> None:
    def with_output(outdir: Path, vpc_name: str) -> None:
        path = outdir / "stacks" / "network" / "cdk.tf.json"
        body = json.loads(path.read_text())
        body["output"] = {"network_self_link": {"value": "${google_compute_network.vpc.self_link}"}}
        body["resource"]["google_compute_network"]["vpc"]["name"] = vpc_name
        path.write_text(json.dumps(body))

    with_output(base, "llm-vpc")
    renamed = changed(tmp_path, THREE)
    with_output(renamed, "llm-vpc-2")
    terraform = FakeTerraform()
    tfc_runs.plan(load_synth(base), load_synth(renamed), terraform)
    # Only network's JSON changed, but every region reads the VPC it outputs, and global-frontend reads them.
    assert terraform.stacks("plan") == [
        "network", "region-asia-east1", "region-europe-west4", "region-us-central1", "global-frontend"
    ]
    # Regions touched by the change themselves still pass the new VPC on to global-frontend.
    both = changed(tmp_path / "both", {name: {**spec, "max": 9} for name, spec in THREE.items()})
    with_output(both, "llm-vpc-2")
    terraform = FakeTerraform()
    tfc_runs.plan(load_synth(base), load_synth(both), terraform)
    assert terraform.stacks("plan")[0] == "network" and terraform.stacks("plan")[-1] == "global-frontend"
    assert len(terraform.stacks("plan")) == 5
    firewall_only = changed(tmp_path / "fw", THREE, network=True)
    with_output(firewall_only, "llm-vpc")
    terraform = FakeTerraform()
    tfc_runs.plan(load_synth(base), load_synth(firewall_only), terraform)
    assert terraform.stacks("plan") == ["network"]
