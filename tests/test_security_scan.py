"""tools/security_scan.py and constructs_lib/scan_suppressions.py.

Most tests judge small hand-made stacks and Checkov reports, so they run in
milliseconds. One test runs the real Checkov (tools/checkov/.venv) on a tiny
stack: a failed check must fail the scan. The real Checkov's side of a declared
skip (its baseline run) is `make scan`'s, which `make test` runs: the TFC
bootstrap declares skips, and one that does not come out SKIPPED fails the scan.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "security_scan.py"
_spec = importlib.util.spec_from_file_location("security_scan", SCRIPT)
assert _spec is not None and _spec.loader is not None
scan = importlib.util.module_from_spec(_spec)
sys.modules["security_scan"] = scan  # dataclasses resolve annotations through sys.modules
_spec.loader.exec_module(scan)

LOG4J_RULE = {
    "action": "deny(403)",
    "priority": 900,
    "match": {"expr": {"expression": "evaluatePreconfiguredExpr('cve-canary')"}},
}


def resource(path: str, skips: dict[str, str] | None = None, **attributes: Any) -> dict[str, Any]:
    comment: dict[str, Any] = {"metadata": {"path": path, "uniqueId": path.rsplit("/", 1)[-1]}}
    if skips is not None:
        comment["checkov"] = {"skip": skips}
    return {"//": comment, **attributes}


def write_outdir(root: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    """A cdktf-like output directory: manifest.json plus stacks/<name>/cdk.tf.json."""
    outdir = root / "cdktf.out"
    manifest = {"stacks": {}}
    for name, document in stacks.items():
        path = outdir / "stacks" / name / "cdk.tf.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(document, indent=2))
        manifest["stacks"][name] = {"name": name, "synthesizedStackPath": f"stacks/{name}/cdk.tf.json"}
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    return outdir


def subnet_stack(name: str, skips: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "resource": {
            "google_compute_subnetwork": {
                "subnet": resource(f"{name}/subnet", skips, name="s", ip_cidr_range="10.0.0.0/20", network="n")
            },
            "google_compute_network": {"vpc": resource(f"{name}/vpc", name="vpc")},
        }
    }


def result(stack: Any, finding: str, check_id: str, comment: str | None = None) -> dict[str, Any]:
    """One Checkov result record, as much of it as the scan reads."""
    check_result: dict[str, Any] = {"result": "SKIPPED" if comment else "?"}
    if comment:
        check_result["suppress_comment"] = comment
    return {
        "check_id": check_id,
        "check_name": f"name of {check_id}",
        "check_result": check_result,
        "file_path": f"/{stack.name}/cdk.tf.json",
        "file_abs_path": str(stack.path),
        "resource": finding,
    }


def report(passed=(), failed=(), skipped=(), parsing_errors=()) -> dict[str, Any]:
    return scan.normalise_report(
        {
            "check_type": "terraform_json",
            "results": {
                "passed_checks": list(passed),
                "failed_checks": list(failed),
                "skipped_checks": list(skipped),
                "parsing_errors": list(parsing_errors),
            },
            "summary": {"checkov_version": "3.3.30"},
        }
    )


@pytest.fixture
def two_stacks(tmp_path: Path) -> dict[str, Any]:
    """Stack "a" skips CKV_GCP_74 on its subnet; stack "b" has a same-named subnet without skips."""
    outdir = write_outdir(
        tmp_path,
        {"a": subnet_stack("a", {"CKV_GCP_74": "VMs here call no Google API"}), "b": subnet_stack("b")},
    )
    return {stack.name: stack for stack in scan.load_stacks(outdir)}


# --- reading skips and building the baseline ---------------------------------------------


def test_skips_are_read_from_each_resource(two_stacks: dict[str, Any]) -> None:
    a = {r.address: r for r in two_stacks["a"].resources}
    assert a["google_compute_subnetwork.subnet"].skips == {"CKV_GCP_74": "VMs here call no Google API"}
    assert a["google_compute_network.vpc"].skips == {}
    assert all(not r.skips for r in two_stacks["b"].resources)


def test_baseline_lists_each_skip_under_both_finding_names(two_stacks: dict[str, Any]) -> None:
    baseline = scan.build_baseline(list(two_stacks.values()))
    assert baseline["failed_checks"] == [
        {
            "file": str(two_stacks["a"].path),
            "findings": [
                {
                    "resource": "resource.subnet",
                    "check_ids": ["CKV_GCP_74"],
                    "reasons": {"CKV_GCP_74": "VMs here call no Google API"},
                },
                {
                    "resource": "google_compute_subnetwork.subnet",
                    "check_ids": ["CKV_GCP_74"],
                    "reasons": {"CKV_GCP_74": "VMs here call no Google API"},
                },
            ],
        }
    ]


def test_no_skips_means_no_baseline_run(two_stacks: dict[str, Any]) -> None:
    assert scan.build_baseline([two_stacks["b"]]) == {"failed_checks": []}
    command = scan.checkov_command("checkov", [two_stacks["b"]], None)
    assert "--baseline" not in command


def test_checkov_command_is_offline_terraform_json_without_global_skips(two_stacks: dict[str, Any]) -> None:
    command = scan.checkov_command("checkov", list(two_stacks.values()), Path("/tmp/b.json"))
    assert command[command.index("--framework") + 1] == "terraform_json"
    assert "--skip-download" in command and command[command.index("--output") + 1] == "json"
    assert command[command.index("--baseline") + 1] == "/tmp/b.json" and "--output-baseline-as-skipped" in command
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--file"] == [
        str(two_stacks["a"].path),
        str(two_stacks["b"].path),
    ]
    assert not {"--skip-check", "--check", "--config-file", "--soft-fail"} & set(command)


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ({"skip": {"CKV_AWS_1": "r"}}, "is not a Checkov GCP check ID"),
        ({"skip": {"CKV_GCP_74": " "}}, "needs a one-line reason"),
        ({"skip": {"CKV_GCP_74": "one\ntwo"}}, "needs a one-line reason"),
        ({"skip": [{"id": "CKV_GCP_74", "comment": "r"}]}, '"//".checkov must be'),
        ("checkov:skip=CKV_GCP_74: r", '"//".checkov must be'),
    ],
)
def test_malformed_skips_are_refused(tmp_path: Path, annotation: Any, message: str) -> None:
    document = subnet_stack("a")
    document["resource"]["google_compute_subnetwork"]["subnet"]["//"]["checkov"] = annotation
    outdir = write_outdir(tmp_path, {"a": document})
    with pytest.raises(scan.ScanError, match=message) as raised:
        scan.load_stacks(outdir)
    assert "google_compute_subnetwork.subnet" in str(raised.value)


# --- judging reports --------------------------------------------------------------------------


def test_all_passed_is_ok(two_stacks: dict[str, Any]) -> None:
    b = two_stacks["b"]
    full = report(
        passed=[result(b, "resource.subnet", "CKV_GCP_26"), result(b, "google_compute_network.vpc", "CKV2_GCP_18")]
    )
    outcome = scan.evaluate([b], full, None)
    assert outcome.ok
    assert outcome.counts == {"b": {"passed": 2, "failed": 0, "skipped": 0}}
    assert outcome.resources_checked == 2


def test_a_failed_check_fails_the_scan(two_stacks: dict[str, Any]) -> None:
    b = two_stacks["b"]
    outcome = scan.evaluate([b], report(failed=[result(b, "resource.subnet", "CKV_GCP_74")]), None)
    assert not outcome.ok
    assert outcome.failed == [
        scan.Finding("b", "google_compute_subnetwork.subnet", "CKV_GCP_74", "name of CKV_GCP_74")
    ]
    text = scan.render(Path("out"), outcome)
    assert "FAILED   b  google_compute_subnetwork.subnet  CKV_GCP_74  name of CKV_GCP_74" in text
    assert text.splitlines()[-1].startswith("security scan FAILED: 1 failed check(s)")


def test_a_declared_skip_is_reported_with_its_reason(two_stacks: dict[str, Any]) -> None:
    a = two_stacks["a"]
    full = report(
        passed=[result(a, "resource.subnet", "CKV_GCP_26")], failed=[result(a, "resource.subnet", "CKV_GCP_74")]
    )
    baselined = report(skipped=[result(a, "resource.subnet", "CKV_GCP_74", "baseline-skipped")])
    outcome = scan.evaluate([a], full, baselined)
    assert outcome.ok, outcome.errors
    assert outcome.counts["a"] == {"passed": 1, "failed": 0, "skipped": 1}
    assert "SKIPPED  a  google_compute_subnetwork.subnet  CKV_GCP_74  reason: VMs here call no Google API" in (
        scan.render(Path("out"), outcome)
    )


def test_a_skip_does_not_leak_to_a_same_named_resource_in_another_stack(two_stacks: dict[str, Any]) -> None:
    a, b = two_stacks["a"], two_stacks["b"]
    failing = [result(a, "resource.subnet", "CKV_GCP_74"), result(b, "resource.subnet", "CKV_GCP_74")]
    # Checkov's baseline ignores the file, so it skips stack b's subnet too.
    skipped = [result(s, "resource.subnet", "CKV_GCP_74", "baseline-skipped") for s in (a, b)]
    outcome = scan.evaluate([a, b], report(failed=failing), report(skipped=skipped))
    assert not outcome.ok
    assert [(f.stack, f.check_id) for f in outcome.failed] == [("b", "CKV_GCP_74")]
    assert "another stack" in outcome.failed[0].note
    assert [(f.stack, f.note) for f in outcome.skipped] == [("a", "VMs here call no Google API")]


def test_a_check_skipped_by_anything_else_counts_as_failed(two_stacks: dict[str, Any]) -> None:
    b = two_stacks["b"]
    outcome = scan.evaluate([b], report(skipped=[result(b, "resource.subnet", "CKV_GCP_74", "global skip")]), None)
    assert [f.check_id for f in outcome.failed] == ["CKV_GCP_74"]


def test_an_unused_skip_is_an_error(two_stacks: dict[str, Any]) -> None:
    a = two_stacks["a"]
    outcome = scan.evaluate([a], report(passed=[result(a, "resource.subnet", "CKV_GCP_74")]), None)
    assert outcome.errors == [
        "a: google_compute_subnetwork.subnet: unused skip of CKV_GCP_74: the check passes, so remove the skip"
    ]


def test_runs_that_disagree_are_an_error(two_stacks: dict[str, Any]) -> None:
    a = two_stacks["a"]
    full = report(passed=[result(a, "resource.subnet", "CKV_GCP_74")])
    baselined = report(skipped=[result(a, "resource.subnet", "CKV_GCP_74", "baseline-skipped")])
    assert any("disagree" in error for error in scan.evaluate([a], full, baselined).errors)


def test_nothing_checked_and_parsing_errors_are_errors(two_stacks: dict[str, Any]) -> None:
    b = two_stacks["b"]
    bare_summary = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 1, "checkov_version": "3.3.30"}
    outcome = scan.evaluate([b], scan.normalise_report(bare_summary), None)
    assert not outcome.ok and outcome.errors == [
        "Checkov checked no resource in 1 stack(s): the scan proves nothing"
    ]
    outcome = scan.evaluate([b], report(parsing_errors=[str(b.path)]), None)
    assert f"{b.path}: Checkov could not parse it, so none of its resources was checked" in outcome.errors


def policy_stack(tmp_path: Path, rules: list[dict[str, Any]]) -> Any:
    document = {"resource": {"google_compute_security_policy": {"edge_policy": resource("g/edge_policy", rule=rules)}}}
    (stack,) = scan.load_stacks(write_outdir(tmp_path, {"global-frontend": document}))
    return stack


def test_a_security_policy_needs_a_passed_log4j_check(tmp_path: Path) -> None:
    stack = policy_stack(tmp_path, [LOG4J_RULE])
    assert scan.evaluate([stack], report(passed=[result(stack, "resource.edge_policy", "CKV_GCP_73")]), None).ok
    outcome = scan.evaluate([stack], report(passed=[result(stack, "resource.edge_policy", "CKV_GCP_4")]), None)
    assert len(outcome.errors) == 1
    assert outcome.errors[0].startswith("global-frontend: google_compute_security_policy.edge_policy: no CKV_GCP_73")
    assert "evaluatePreconfiguredWaf('cve-canary')" in outcome.errors[0]


def test_a_crashed_check_is_an_error(tmp_path: Path) -> None:
    stack = policy_stack(tmp_path, [])
    log = (
        "2026-01-01 00:00:00,000 [MainThread  ] [ERROR]  Failed to run check CKV_GCP_73 on "
        "/../cdktf.out/stacks/global-frontend/cdk.tf.json:google_compute_security_policy.edge_policy\n"
        "Traceback (most recent call last):\n"
    )
    outcome = scan.evaluate([stack], report(passed=[result(stack, "resource.edge_policy", "CKV_GCP_4")]), None, log * 2)
    assert len(outcome.errors) == 1, outcome.errors
    assert outcome.errors[0].startswith(
        "global-frontend: google_compute_security_policy.edge_policy: check CKV_GCP_73 crashed"
    )
    other = scan.evaluate([stack], report(passed=[result(stack, "resource.x", "CKV_GCP_73")]), None, "x [ERROR]  boom")
    assert any(error.endswith("boom") for error in other.errors)


# --- the command line -------------------------------------------------------------------------


def run_script(outdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(outdir)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=300,
    )


def test_missing_output_is_one_error_line(tmp_path: Path) -> None:
    for outdir, what in [(tmp_path / "nope", "no such directory"), (tmp_path, "no manifest")]:
        done = run_script(outdir)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith("error: ") and what in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_missing_checkov_is_one_error_line(tmp_path: Path) -> None:
    outdir = write_outdir(tmp_path, {"b": subnet_stack("b")})
    done = run_script(outdir, CHECKOV=str(tmp_path / "no-checkov"))
    assert done.returncode == 2
    assert done.stderr == f"error: {tmp_path / 'no-checkov'}: not found ({scan.INSTALL_HINT})\n"


def test_real_checkov_fails_a_failed_check(tmp_path: Path) -> None:
    checkov = Path(os.environ.get("CHECKOV") or scan.DEFAULT_CHECKOV)
    if not checkov.is_file():
        message = f"{checkov} is missing; cd tools/checkov && PIPENV_VENV_IN_PROJECT=1 pipenv sync"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # The subnet lacks private_ip_google_access (CKV_GCP_74); no skip is declared, so Checkov runs once.
    outdir = write_outdir(
        tmp_path,
        {
            "b": {"resource": {"google_compute_subnetwork": {"failing_subnet": resource(
                "b/failing_subnet", name="s2", ip_cidr_range="10.0.0.0/20", network="n",
                log_config={"metadata": "INCLUDE_ALL_METADATA"})}}},
        },
    )  # fmt: skip
    done = run_script(outdir)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith(("FAILED", "SKIPPED", "ERROR"))] == [
        "FAILED   b  google_compute_subnetwork.failing_subnet  CKV_GCP_74  "
        "Ensure that private_ip_google_access is enabled for Subnet",
    ]
    assert lines[0].startswith("checkov 3.3.30 on 1 stack(s)")
    assert "Traceback" not in done.stdout + done.stderr


# --- constructs_lib.scan_suppressions ------------------------------------------------------


@pytest.fixture
def network() -> Any:
    from constructs_lib.toolkit import TerraformResource, TerraformStack, Testing

    stack = TerraformStack(Testing.app(), "network")
    return TerraformResource(stack, "vpc", terraform_resource_type="google_compute_network")


def test_skip_check_writes_skips_the_scan_reads(network: Any, tmp_path: Path) -> None:
    from constructs_lib.scan_suppressions import skip_check

    skip_check(network, "CKV2_GCP_18", "firewall rules live in the region stacks")
    skip_check(network, "CKV_GCP_999", "  a second skip keeps the first  ")
    document = network.cdktf_stack.to_terraform()
    (stack,) = scan.load_stacks(write_outdir(tmp_path, {"network": document}))
    assert stack.resources[0].skips == {
        "CKV2_GCP_18": "firewall rules live in the region stacks",
        "CKV_GCP_999": "a second skip keeps the first",
    }


@pytest.mark.parametrize(
    ("check_id", "reason", "error"),
    [
        ("CKV_AWS_20", "r", "not a Checkov GCP check ID"),
        ("ckv_gcp_26", "r", "not a Checkov GCP check ID"),
        ("CKV_GCP_26", "", "needs a reason"),
        ("CKV_GCP_26", "   ", "needs a reason"),
        ("CKV_GCP_26", "first line\nsecond line", "must be one line"),
    ],
)
def test_skip_check_refuses_bad_ids_and_reasons(network: Any, check_id: str, reason: str, error: str) -> None:
    from constructs_lib.scan_suppressions import skip_check

    with pytest.raises(ValueError, match=error):
        skip_check(network, check_id, reason)


def test_skip_check_needs_the_resource_not_its_construct(network: Any) -> None:
    from constructs_lib.scan_suppressions import skip_check

    with pytest.raises(TypeError, match="needs a Terraform resource"):
        skip_check(network.cdktf_stack, "CKV_GCP_26", "r")


def test_checkov_scans_a_copy_without_the_terraform_blocks_scalar_settings(tmp_path: Path) -> None:
    """Checkov 3.3.30 gives up on a file whose terraform block holds required_version (a string)."""
    path = tmp_path / "out" / "stacks" / "network" / "cdk.tf.json"
    path.parent.mkdir(parents=True)
    document = {"terraform": {"required_version": "= 1.11.4", "backend": {"local": {"path": "x"}}},
                "resource": {"google_compute_network": {"vpc": {"name": "v"}}}}
    path.write_text(json.dumps(document))
    stack = scan.Stack("network", path, ())
    scratch = tmp_path / "scratch"
    copy = scan.checkov_copy(stack, scratch)
    assert copy.path.parts[-2:] == ("network", "cdk.tf.json") and copy.path.is_relative_to(scratch)
    scanned = json.loads(copy.path.read_text())
    assert scanned == {**document, "terraform": {"backend": {"local": {"path": "x"}}}}
    assert json.loads(path.read_text()) == document  # the synthesized stack itself is untouched
    document["terraform"].pop("required_version")
    path.write_text(json.dumps(document))
    assert scan.checkov_copy(stack, scratch) is stack
