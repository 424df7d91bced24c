"""The GCP rules wired into cdktf: ``app.synth()`` fails on a broken stack, and the real
default deployment passes every rule.

cdktf work is module-scoped (importing the Google provider costs seconds): one
tiny broken app and one build of config/default.yaml, each synthesized once.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.validation import app_violations, check_stack, enforce_gcp_rules, violations_from_error

REPO = Path(__file__).resolve().parents[1]
EXPECTED_STACKS = {"network", "region-us-central1", "region-europe-west4", "global-frontend"}


def stacks_of(app: Any) -> list[Any]:
    from constructs_lib.toolkit import TerraformStack

    return [child for child in app.node.children if TerraformStack.is_stack(child)]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A one-stack app breaking GCP-LB-001 (no scheme) and GCP-LB-007 (global health check on a
    regional ALB, which only shows if references are resolved inside ``validate``)."""
    from constructs_lib.toolkit import App, LocalBackend, TerraformStack
    from constructs_lib.toolkit.google import (
        ComputeHealthCheck,
        ComputeRegionBackendService,
        ComputeRegionHealthCheck,
        GoogleProvider,
    )

    outdir = tmp_path_factory.mktemp("broken")
    app = App(outdir=str(outdir), stack_traces=False)
    stack = TerraformStack(app, "broken")
    LocalBackend(stack, path="terraform.tfstate")
    GoogleProvider(stack, "google", project="acme", region="us-central1")
    regional_check = ComputeRegionHealthCheck(stack, "hc", name="hc", region="us-central1", http_health_check={"port": 8000})
    ComputeRegionBackendService(
        stack,
        "no_scheme",
        name="no-scheme",
        region="us-central1",
        protocol="TCP",
        health_checks=[regional_check.id],
        timeout_sec=900,
        connection_draining_timeout_sec=900,
    )
    global_check = ComputeHealthCheck(stack, "global_hc", name="ghc", http_health_check={"port": 8000})
    ComputeRegionBackendService(
        stack,
        "wrong_check",
        name="wrong-check",
        region="us-central1",
        load_balancing_scheme="INTERNAL_MANAGED",
        protocol="HTTP",
        health_checks=[global_check.id],
        timeout_sec=900,
        connection_draining_timeout_sec=900,
    )
    enforce_gcp_rules(stack)
    error: Exception | None = None
    try:
        app.synth()
    except Exception as caught:  # noqa: BLE001 - the test inspects whatever jsii raises
        error = caught
    return {"error": error, "outdir": outdir, "stack": stack, "app": app}


def test_synth_raises_a_runtime_error_on_a_broken_rule(broken: dict[str, Any]) -> None:
    error = broken["error"]
    assert error is not None, "app.synth() did not fail although the stack breaks GCP-LB-001"
    assert type(error) is RuntimeError  # jsii re-raises the JavaScript Error as a plain RuntimeError
    assert "Validation failed with the following errors:" in str(error)


def test_violations_from_error_names_stack_resource_and_rule(broken: dict[str, Any]) -> None:
    lines = violations_from_error(broken["error"])
    assert lines is not None
    assert all("\n" not in line for line in lines)
    no_scheme = [line for line in lines if "google_compute_region_backend_service.no_scheme:" in line]
    assert any(
        line.startswith("broken: google_compute_region_backend_service.no_scheme: [GCP-LB-001 LoadBalancingSchemeExplicit] ")
        for line in no_scheme
    ), lines


def test_validate_sees_resolved_references(broken: dict[str, Any]) -> None:
    lines = violations_from_error(broken["error"]) or []
    assert any(
        "google_compute_region_backend_service.wrong_check: [GCP-LB-007 HealthCheckScopeMatchesScheme]" in line
        and "${google_compute_health_check.global_hc.id}" in line
        for line in lines
    ), lines
    from constructs_lib.validation import GcpRulesValidation

    direct = GcpRulesValidation(broken["stack"]).validate()
    assert [f"broken: {line}" for line in direct] == lines
    terraform = broken["stack"].to_terraform()
    checks = terraform["resource"]["google_compute_region_backend_service"]["wrong_check"]["health_checks"]
    assert checks == ["${google_compute_health_check.global_hc.id}"]


def test_app_violations_lists_the_same_lines(broken: dict[str, Any]) -> None:
    assert app_violations(broken["app"]) == violations_from_error(broken["error"])


def test_failed_stack_is_not_written(broken: dict[str, Any]) -> None:
    assert not (broken["outdir"] / "stacks" / "broken" / "cdk.tf.json").exists()


def test_violations_from_error_is_none_for_other_errors() -> None:
    assert violations_from_error(RuntimeError("Error: No app could be identified")) is None


@pytest.fixture(scope="module")
def default_deployment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """config/default.yaml built by stacks.app.build_app, every stack with the rules enforced, synthesized once."""
    from constructs_lib.config import load_config
    from stacks.app import build_app

    config = load_config(REPO / "config" / "default.yaml")
    outdir = tmp_path_factory.mktemp("default")
    if "outdir" in inspect.signature(build_app).parameters:
        app = build_app(config, outdir=str(outdir))
    else:  # pragma: no cover - build_app without outdir: cdktf's App honours CDKTF_OUTDIR
        mp = pytest.MonkeyPatch()
        mp.setenv("CDKTF_OUTDIR", str(outdir))
        try:
            app = build_app(config)
        finally:
            mp.undo()
        outdir = Path(app.outdir)
    stacks = stacks_of(app)
    for stack in stacks:
        enforce_gcp_rules(stack)
    error: Exception | None = None
    try:
        app.synth()
    except Exception as caught:  # noqa: BLE001
        error = caught
    return {"error": error, "outdir": outdir, "names": {stack.node.id for stack in stacks}}


def test_default_deployment_synthesizes_with_rules_enforced(default_deployment: dict[str, Any]) -> None:
    error = default_deployment["error"]
    if error is not None:
        lines = violations_from_error(error)
        pytest.fail("\n".join(lines) if lines else f"synth failed: {error}")
    assert EXPECTED_STACKS <= default_deployment["names"]


def test_default_deployment_has_no_findings(default_deployment: dict[str, Any]) -> None:
    findings = {}
    for name in sorted(default_deployment["names"]):
        path = default_deployment["outdir"] / "stacks" / name / "cdk.tf.json"
        if path.exists():
            findings[name] = [finding.line for finding in check_stack(json.loads(path.read_text()))]
    assert EXPECTED_STACKS <= set(findings), f"stacks not written: {EXPECTED_STACKS - set(findings)}"
    assert {name: lines for name, lines in findings.items() if lines} == {}
