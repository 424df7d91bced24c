"""The GCP rules on what cdktf writes: every stack of a synthesized app is checked, read from disk.

One tiny broken two-stack app is synthesized once for the module (importing the
Google provider costs seconds); the shipped deployments come from the session's
``synthesize`` cache, which itself fails on any violation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from constructs_lib.validation.synthesized_app import RuleViolations, check_rules, read_stacks, require_rules
from tests.conftest import DEFAULT_CONFIG, THREE_REGIONS_CONFIG, Synth, load_yaml

REGIONAL_BACKEND = "google_compute_region_backend_service"


@pytest.fixture(scope="module")
def broken_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two stacks, each breaking rules: ``first`` has a backend with no scheme (GCP-LB-001) and a global
    health check on a regional ALB (GCP-LB-007, visible only once the reference is resolved);
    ``second`` has a 599 s request timeout (GCP-LB-016)."""
    from constructs_lib.toolkit import App, LocalBackend, TerraformStack
    from constructs_lib.toolkit.google import (
        ComputeHealthCheck,
        ComputeRegionBackendService,
        ComputeRegionHealthCheck,
        GoogleProvider,
    )

    outdir = tmp_path_factory.mktemp("broken")
    app = App(outdir=str(outdir), stack_traces=False)
    for stack_name in ("first", "second"):
        stack = TerraformStack(app, stack_name)
        LocalBackend(stack, path=f"{stack_name}.tfstate")
        GoogleProvider(stack, "google", project="acme", region="us-central1")
        regional_check = ComputeRegionHealthCheck(
            stack, "hc", name="hc", region="us-central1", http_health_check={"port": 8000}
        )
        if stack_name == "first":
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
        else:
            ComputeRegionBackendService(
                stack,
                "short_timeout",
                name="short-timeout",
                region="us-central1",
                load_balancing_scheme="INTERNAL_MANAGED",
                protocol="HTTP",
                health_checks=[regional_check.id],
                timeout_sec=599,
                connection_draining_timeout_sec=600,
            )
    app.synth()
    return outdir


def test_every_stack_is_reported_with_its_name(broken_outdir: Path) -> None:
    lines = check_rules(broken_outdir)
    assert all("\n" not in line for line in lines)
    assert any(
        line.startswith(f"first: {REGIONAL_BACKEND}.no_scheme: [GCP-LB-001 LoadBalancingSchemeExplicit] ")
        for line in lines
    ), lines
    assert [line for line in lines if line.startswith("second: ")] == [
        f"second: {REGIONAL_BACKEND}.short_timeout: [GCP-LB-016 BackendTimeoutsCoverLongGenerations] "
        "timeout_sec is 599 s; LLM generations stream for minutes, set >= 600 s (ref. 19)"
    ]


def test_rules_see_references_as_cdktf_resolved_them(broken_outdir: Path) -> None:
    stacks = read_stacks(broken_outdir)
    checks = stacks["first"]["resource"][REGIONAL_BACKEND]["wrong_check"]["health_checks"]
    assert checks == ["${google_compute_health_check.global_hc.id}"]
    assert any(
        f"{REGIONAL_BACKEND}.wrong_check: [GCP-LB-007 HealthCheckScopeMatchesScheme]" in line
        and "${google_compute_health_check.global_hc.id}" in line
        for line in check_rules(broken_outdir)
    )


def test_require_rules_raises_with_every_line(broken_outdir: Path) -> None:
    with pytest.raises(RuleViolations) as raised:
        require_rules(broken_outdir)
    assert raised.value.lines == check_rules(broken_outdir)


def test_a_rule_subset_checks_only_those_rules(broken_outdir: Path) -> None:
    from constructs_lib.validation.backend_timeouts_cover_long_generations import BackendTimeoutsCoverLongGenerations

    lines = check_rules(broken_outdir, (BackendTimeoutsCoverLongGenerations(),))
    assert lines and all("[GCP-LB-016 " in line for line in lines)


@pytest.mark.parametrize("config", [DEFAULT_CONFIG, THREE_REGIONS_CONFIG], ids=["default", "three-regions"])
def test_shipped_deployments_break_no_rule(synthesize: Callable[..., Synth], config: Path) -> None:
    synth = synthesize(load_yaml(config), allow_violations=True)
    assert synth.violations == ()
    assert check_rules(synth.outdir) == []
    require_rules(synth.outdir)  # does not raise


def test_stacks_are_read_in_manifest_order(default_synth: Synth) -> None:
    assert list(read_stacks(default_synth.outdir)) == list(default_synth.manifest["stacks"])
    assert set(read_stacks(default_synth.outdir)) == {
        "network",
        "region-us-central1",
        "region-europe-west4",
        "global-frontend",
    }

