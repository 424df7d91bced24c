"""Who may reach the inference servers, and what the servers may do.

- firewall rules admit exactly Google's health-check/front-end ranges and a
  region's proxy-only subnet to the serving port on the tagged VMs, never 0.0.0.0/0;
- the VMs run as a dedicated service account holding only the roles they need;
- the public endpoint is fronted by a Cloud Armor policy (per-client throttle)
  and an SSL policy of TLS 1.2 or newer.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import RateLimit
from constructs_lib.toolkit.google import (
    ComputeFirewall,
    ComputeFirewallAllow,
    ComputeSecurityPolicy,
    ComputeSecurityPolicyRule,
    ComputeSslPolicy,
    ProjectIamMember,
    ServiceAccount,
)

INFERENCE_ROLES = {
    "log_writer": "roles/logging.logWriter",
    "metric_writer": "roles/monitoring.metricWriter",
    "artifact_reader": "roles/artifactregistry.reader",
}
"""Write logs and metrics (the autoscaler and dashboards read them), pull server images."""

DEFAULT_RULE_PRIORITY = 2147483647
_EVERY_SOURCE = {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}}


class InferenceIdentity(Construct):
    """The service account of every inference VM, never the default compute account."""

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, project_id: str) -> None:
        super().__init__(scope, id_)
        account = ServiceAccount(
            self,
            "account",
            account_id=naming.service_account_id(name_prefix),
            display_name="LLM inference servers",
            description="Runs the GPU inference VMs: writes logs and metrics, pulls images.",
        )
        account.override_logical_id("inference")
        for key, role in INFERENCE_ROLES.items():
            ProjectIamMember(
                self,
                key,
                project=project_id,
                role=role,
                member=account.member,
            ).override_logical_id(f"inference_{key}")
        self.email: str = account.email


class ServingPortFirewall(Construct):
    """An ingress rule from the given source ranges to the serving port on the tagged VMs."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        network: str,
        source_ranges: tuple[str, ...],
        target_tag: str,
        port: int,
        description: str,
    ) -> None:
        super().__init__(scope, id_)
        rule = ComputeFirewall(
            self,
            "rule",
            name=name,
            network=network,
            description=description,
            direction="INGRESS",
            source_ranges=list(source_ranges),
            target_tags=[target_tag],
            allow=[ComputeFirewallAllow(protocol="tcp", ports=[str(port)])],
            log_config={"metadata": "INCLUDE_ALL_METADATA"},
        )
        rule.override_logical_id(id_)


class EdgeSecurityPolicy(Construct):
    """Cloud Armor in front of the global backend service.

    A throttle per client (IP or API-key header) answers 429 beyond the
    configured rate, so one client cannot exhaust scarce GPU capacity; a
    preconfigured rule blocks Log4j probes; everything else is allowed.
    """

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, rate_limit: RateLimit) -> None:
        super().__init__(scope, id_)
        enforce = {"enforce_on_key": rate_limit.key}
        if rate_limit.header_name is not None:
            enforce["enforce_on_key_name"] = rate_limit.header_name
        policy = ComputeSecurityPolicy(
            self,
            "policy",
            name=naming.resource_name(name_prefix, "edge-policy"),
            description="Per-client throttle and Log4j protection for the LLM endpoint",
            type="CLOUD_ARMOR",
            adaptive_protection_config={"layer7_ddos_defense_config": {"enable": True}},
            rule=[
                ComputeSecurityPolicyRule(
                    priority=900,
                    action="deny(403)",
                    description="Block Log4j (CVE-2021-44228) exploit attempts",
                    match={"expr": {"expression": "evaluatePreconfiguredExpr('cve-canary')"}},
                ),
                ComputeSecurityPolicyRule(
                    priority=1000,
                    action="throttle",
                    description="Per-client request rate limit",
                    match=_EVERY_SOURCE,
                    rate_limit_options={
                        "conform_action": "allow",
                        "exceed_action": "deny(429)",
                        "rate_limit_threshold": {
                            "count": rate_limit.requests,
                            "interval_sec": rate_limit.interval_sec,
                        },
                        **enforce,
                    },
                ),
                ComputeSecurityPolicyRule(
                    priority=DEFAULT_RULE_PRIORITY,
                    action="allow",
                    description="Default rule: allow what no rule above denied",
                    match=_EVERY_SOURCE,
                ),
            ],
        )
        policy.override_logical_id("edge_policy")
        self.id: str = policy.id


class ModernTlsPolicy(Construct):
    """An SSL policy that refuses anything older than TLS 1.2."""

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str, profile: str) -> None:
        super().__init__(scope, id_)
        policy = ComputeSslPolicy(
            self,
            "policy",
            name=naming.resource_name(name_prefix, "tls-policy"),
            profile=profile,
            min_tls_version="TLS_1_2",
        )
        policy.override_logical_id("tls_policy")
        self.id: str = policy.id
