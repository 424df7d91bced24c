#!/usr/bin/env python
"""`make mutate`: apply each named mutation of the code to a scratch copy, run the tests that
should catch it, and report the mutations no test caught (survivors).

A mutation is one small, deliberate bug: (file, original text, mutated text),
the kind of change a tired maintainer could make and every snapshot would
simply absorb. Each is applied alone to a copy of the working tree (never the
repository itself), the listed tests run with ``-x``, and a failing run means
the mutation was caught ("killed"). A mutation whose original text is no
longer in its file is reported as stale, so the list cannot rot silently.

    .venv/bin/python tools/mutate.py              # all mutations
    .venv/bin/python tools/mutate.py cooldown     # those whose name contains "cooldown"

Exit status: 0 when every mutation was killed, 1 when one survived or is stale.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

EVERY_OPTION = "tests/test_every_option.py"
RULES = "tests/test_validation_rules.py"
CONFIG = "tests/test_config.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    original: str
    mutated: str
    tests: tuple[str, ...]


MUTATIONS = (
    # Deployment-file keys that reach the JSON
    Mutation(
        "draining-set-to-request-timeout",
        "constructs_lib/backend_service.py",
        '"connection_draining_timeout_sec": frontend.connection_draining_sec',
        '"connection_draining_timeout_sec": frontend.request_timeout_sec',
        (EVERY_OPTION,),
    ),
    Mutation(
        "outlier-detection-dropped",
        "constructs_lib/backend_service.py",
        '"outlier_detection": OUTLIER_DETECTION,',
        "",
        ("tests/test_global_frontend.py", "tests/test_regional_entry_point.py"),
    ),
    Mutation(
        "max-rate-hard-coded",
        "constructs_lib/backend_service.py",
        '"max_rate_per_instance": max_rate_per_instance,',
        '"max_rate_per_instance": 8.0,',
        (EVERY_OPTION,),
    ),
    Mutation(
        "session-affinity-header-ignored",
        "constructs_lib/backend_service.py",
        "if frontend.session_affinity_header is None:",
        "if True:",
        (EVERY_OPTION,),
    ),
    Mutation(
        "log-sample-rate-hard-coded",
        "constructs_lib/backend_service.py",
        '"sample_rate": frontend.log_sample_rate',
        '"sample_rate": 1.0',
        (EVERY_OPTION,),
    ),
    Mutation(
        "cooldown-ignored",
        "constructs_lib/serving_pool.py",
        "scaling.cooldown_sec or server.model_load_seconds",
        "server.model_load_seconds",
        (EVERY_OPTION,),
    ),
    Mutation(
        "load-balancing-target-hard-coded",
        "constructs_lib/serving_pool.py",
        'policy["load_balancing_utilization"] = {"target": scaling.effective_target}',
        'policy["load_balancing_utilization"] = {"target": 0.8}',
        (EVERY_OPTION,),
    ),
    Mutation(
        "tls-profile-hard-coded",
        "constructs_lib/security.py",
        "region=region,\n                profile=profile,",
        'region=region,\n                profile="MODERN",',
        (EVERY_OPTION,),
    ),
    Mutation(
        "zones-ignored",
        "constructs_lib/config.py",
        "return gpu_catalog.resolve_zones(self.region, self.gpu[0], self.zones)",
        "return gpu_catalog.resolve_zones(self.region, self.gpu[0], None)",
        (EVERY_OPTION,),
    ),
    Mutation(
        "decommissioned-region-still-served",
        "constructs_lib/config.py",
        "for region in self.regions if not region.decommission",
        "for region in self.regions",
        (EVERY_OPTION,),
    ),
    # GPU capacity (#12): provisioning, per-region serving settings, the failover check
    Mutation(
        "spot-vms-restart-automatically",
        "constructs_lib/serving_pool.py",
        '"automatic_restart": False,',
        '"automatic_restart": True,',
        (EVERY_OPTION,),
    ),
    Mutation(
        "reservation-not-consumed",
        "constructs_lib/serving_pool.py",
        "reservation_affinity=reservation_affinity(region),",
        "reservation_affinity=None,",
        (EVERY_OPTION,),
    ),
    Mutation(
        "tensor-parallel-default-only-above-two-gpus",
        "constructs_lib/serving_pool.py",
        "gpu_count > 1 and",
        "gpu_count > 2 and",
        (EVERY_OPTION,),
    ),
    Mutation(
        "region-server-args-ignored",
        "constructs_lib/serving_pool.py",
        "args = (*server.args, *region.server_args)",
        "args = server.args",
        (EVERY_OPTION,),
    ),
    Mutation(
        "region-max-rate-ignored",
        "constructs_lib/config.py",
        "return self.max_rate_per_instance if self.max_rate_per_instance is not None else frontend.max_rate_per_instance",
        "return frontend.max_rate_per_instance",
        (EVERY_OPTION,),
    ),
    Mutation(
        "failover-check-refuses-exactly-enough",
        "constructs_lib/capacity.py",
        "worst.headroom_rps >= 0",
        "worst.headroom_rps > 0",
        ("tests/test_capacity.py",),
    ),
    Mutation(
        "failover-shortfall-not-refused",
        "constructs_lib/config.py",
        "if shortfall is not None:",
        "if False:",
        (EVERY_OPTION,),
    ),
    # Security and operations (#13): secrets, edge protection, drivers, alerts
    Mutation(
        "model-revision-dropped",
        "constructs_lib/serving_pool.py",
        'revision = ("--revision", server.model_revision) if server.model_revision is not None else ()',
        "revision = ()",
        (EVERY_OPTION,),
    ),
    Mutation(
        "api-key-secret-not-granted",
        "constructs_lib/config.py",
        "ids = [self.auth.secret] if isinstance(self.auth, ApiKeyAuth) else []",
        "ids = []",
        (EVERY_OPTION,),
    ),
    Mutation(
        "unprotected-external-entry-point-accepted",
        "constructs_lib/config.py",
        'if self.entry_point == "external" and not self.external_entry_point_without_cloud_armor:',
        "if False:",
        (EVERY_OPTION,),
    ),
    Mutation(
        "unpublished-metric-accepted",
        "constructs_lib/config.py",
        "and not self.external_publisher:",
        "and False:",
        (EVERY_OPTION,),
    ),
    Mutation(
        "waf-sensitivity-hard-coded",
        "constructs_lib/security.py",
        "waf_expression(rule_set, waf.sensitivity)",
        "waf_expression(rule_set, 1)",
        (EVERY_OPTION,),
    ),
    Mutation(
        "gpu-driver-override-ignored",
        "constructs_lib/gpu_drivers.py",
        "if override is not None:",
        "if False:",
        (EVERY_OPTION,),
    ),
    Mutation(
        "alert-error-ratio-hard-coded",
        "constructs_lib/monitoring.py",
        "threshold_value=alerts.error_ratio,",
        "threshold_value=0.05,",
        (EVERY_OPTION,),
    ),
    # Deployment-file bounds
    Mutation(
        "proxy-only-range-limit-changed",
        "constructs_lib/config.py",
        "ip_network(self.proxy_only_cidr).prefixlen > 26",
        "ip_network(self.proxy_only_cidr).prefixlen > 27",
        (CONFIG,),
    ),
    Mutation(
        "capacity-scaler-lower-bound-lowered",
        "constructs_lib/config.py",
        "0.1 <= value <= 1.0",
        "0.05 <= value <= 1.0",
        (CONFIG,),
    ),
    Mutation(
        "timeout-minimum-lowered",
        "constructs_lib/config.py",
        "request_timeout_sec: Annotated[int, Field(ge=600,",
        "request_timeout_sec: Annotated[int, Field(ge=500,",
        (CONFIG,),
    ),
    # GCP rules
    Mutation(
        "rule-600s-threshold-lowered-to-500s",
        "constructs_lib/validation/backend_timeouts_cover_long_generations.py",
        "MIN_TIMEOUT_SEC = 600",
        "MIN_TIMEOUT_SEC = 500",
        (RULES,),
    ),
    Mutation(
        "rule-threshold-inclusive",
        "constructs_lib/validation/backend_timeouts_cover_long_generations.py",
        "value < MIN_TIMEOUT_SEC",
        "value <= MIN_TIMEOUT_SEC",
        (RULES,),
    ),
    Mutation(
        "rule-no-longer-requires-a-health-check",
        "constructs_lib/validation/single_health_check.py",
        "if count != 1:",
        "if count > 1:",
        (RULES,),
    ),
    Mutation(
        "rule-capacity-scaler-bound-exclusive",
        "constructs_lib/validation/capacity_scaler_valid.py",
        "not 0.1 <= value <= 1.0",
        "not 0.1 < value <= 1.0",
        (RULES,),
    ),
    Mutation(
        "rule-proxy-only-prefix-limit-changed",
        "constructs_lib/validation/proxy_only_subnet_valid.py",
        "MAX_PREFIX = 26",
        "MAX_PREFIX = 25",
        (RULES,),
    ),
    Mutation(
        "rule-autohealing-delay-cap-lowered",
        "constructs_lib/validation/autohealing_initial_delay_valid.py",
        "MAX_INITIAL_DELAY_SEC = 3600",
        "MAX_INITIAL_DELAY_SEC = 3599",
        (RULES,),
    ),
    # The engine and its wiring
    Mutation(
        "crashing-rule-swallowed",
        "constructs_lib/validation/engine.py",
        "        return Finding(rule.id, rule.name, resource.address, message)\n",
        "        return None\n",
        (RULES,),
    ),
    Mutation(
        "only-the-first-stack-checked",
        "constructs_lib/validation/engine.py",
        "for name, stack_json in stacks.items()",
        "for name, stack_json in list(stacks.items())[:1]",
        (RULES, "tests/test_validation_synth.py"),
    ),
    Mutation(
        "main-skips-the-rules",
        "main.py",
        "            require_rules(staging)",
        "            pass",
        ("tests/test_main.py::test_rule_violation_fails_synth_with_one_line_per_finding_and_keeps_output",),
    ),
    Mutation(
        "kernel-runtime-in-a-temporary-directory-per-run",
        "constructs_lib/jsii_kernel_process.py",
        "    program, runtime = cached_runtime(), None",
        "    program, runtime = None, None",
        ("tests/test_output_directory.py::test_interrupt_mid_synth_is_one_line_and_keeps_the_earlier_synth",),
    ),
    # Stacks wiring the deployment file into constructs
    Mutation(
        "capacity-scaler-not-passed-to-the-global-backend",
        "stacks/global_frontend_stack.py",
        "capacity_scaler=region.capacity_scaler,",
        "capacity_scaler=1.0,",
        (EVERY_OPTION,),
    ),
    Mutation(
        "frontend-waits-for-decommissioned-regions",
        "stacks/app.py",
        "        if not region.decommission:\n            frontend.add_dependency(regional)",
        "        frontend.add_dependency(regional)",
        (EVERY_OPTION,),
    ),
    Mutation(
        "proxy-only-cidr-ignored",
        "stacks/regional_stack.py",
        "proxy_only_range=region.proxy_only_range,",
        "proxy_only_range=naming.default_proxy_only_cidr(region.region),",
        (EVERY_OPTION,),
    ),
)


def scratch_copy(destination: Path) -> None:
    """The working tree's files (tracked and new, not ignored) and links to the shared environments."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for relative in filter(None, listed):
        source = REPO / relative
        if source.is_file() and not source.is_symlink():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for environment in (".venv", "node_modules"):
        if (REPO / environment).exists():
            (destination / environment).symlink_to((REPO / environment).resolve())


def run(mutation: Mutation, copy: Path) -> str:
    """``killed``, ``survived`` or ``stale`` (the original text is not exactly once in the file)."""
    path = copy / mutation.path
    text = path.read_text()
    if text.count(mutation.original) != 1:
        return "stale"
    path.write_text(text.replace(mutation.original, mutation.mutated))
    try:
        result = subprocess.run(
            [
                str(copy / ".venv" / "bin" / "python"),
                "-m",
                "pytest",
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                *mutation.tests,
            ],
            cwd=copy,
            capture_output=True,
            text=True,
        )
    finally:
        path.write_text(text)
    return "survived" if result.returncode == 0 else "killed"


def main(argv: list[str]) -> int:
    selected = [m for m in MUTATIONS if not argv or any(word in m.name for word in argv)]
    started = time.monotonic()
    outcomes: dict[str, list[str]] = {"killed": [], "survived": [], "stale": []}
    with tempfile.TemporaryDirectory(prefix="mutate-") as scratch:
        copy = Path(scratch)
        scratch_copy(copy)
        for mutation in selected:
            began = time.monotonic()
            outcome = run(mutation, copy)
            outcomes[outcome].append(mutation.name)
            print(f"{outcome:8} {mutation.name} ({mutation.path}, {time.monotonic() - began:.0f} s)", flush=True)
    print(
        f"\n{len(outcomes['killed'])} killed, {len(outcomes['survived'])} survived, {len(outcomes['stale'])} stale "
        f"of {len(selected)} mutations in {time.monotonic() - started:.0f} s"
    )
    for name in outcomes["survived"]:
        print(f"survived: {name}: no test failed; add one that does")
    for name in outcomes["stale"]:
        print(f"stale: {name}: its original text is not (exactly once) in its file; update tools/mutate.py")
    return 0 if not outcomes["survived"] and not outcomes["stale"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
