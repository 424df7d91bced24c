"""Who may reach the inference servers, and what the servers may do.

- firewall rules admit exactly Google's health-check/front-end ranges and a
  region's proxy-only subnet to the serving port on the tagged VMs, never 0.0.0.0/0;
- the VMs run as a dedicated service account holding only the roles they need:
  project-wide only log and metric writing; reading exactly the secrets, the
  weights bucket and the image repository of the deployment, each granted on
  that one resource;
- the public endpoint is fronted by a Cloud Armor policy (only the API paths,
  per-client throttle, optional OWASP rules) and an SSL policy of TLS 1.2 or newer.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import ArtifactRepository, RateLimit, Waf
from constructs_lib.toolkit.google import (
    ArtifactRegistryRepositoryIamMember,
    ComputeFirewall,
    ComputeFirewallAllow,
    ComputeRegionSslPolicy,
    ComputeSecurityPolicy,
    ComputeSecurityPolicyRule,
    ComputeSecurityPolicyRuleRateLimitOptionsEnforceOnKeyConfigs,
    ComputeSslPolicy,
    ProjectIamMember,
    SecretManagerSecretIamMember,
    ServiceAccount,
    StorageBucketIamMember,
)

INFERENCE_ROLES = {
    "log_writer": "roles/logging.logWriter",
    "metric_writer": "roles/monitoring.metricWriter",
}
"""Project-wide: write logs and metrics (the autoscaler, alerts and dashboard read them)."""
SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
BUCKET_READER_ROLE = "roles/storage.objectViewer"
REPOSITORY_READER_ROLE = "roles/artifactregistry.reader"

DEFAULT_RULE_PRIORITY = 2147483647
_EVERY_SOURCE = {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}}


class InferenceIdentity(Construct):
    """The service account of every inference VM, never the default compute account.

    Beyond writing logs and metrics it may read only what this deployment names:
    each secret (``roles/secretmanager.secretAccessor`` on that secret, which must
    already exist: the app never holds a secret's value), the weights bucket
    (``roles/storage.objectViewer`` on that bucket) and the image's Artifact
    Registry repository (``roles/artifactregistry.reader`` on that repository).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        project_id: str,
        secret_ids: tuple[str, ...] = (),
        weights_bucket: str | None = None,
        image_repository: ArtifactRepository | None = None,
    ) -> None:
        super().__init__(scope, id_)
        account = ServiceAccount(
            self,
            "account",
            account_id=naming.service_account_id(name_prefix),
            display_name="LLM inference servers",
            description="Runs the GPU inference VMs: writes logs and metrics, reads its own secrets.",
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
        for secret_id in secret_ids:
            SecretManagerSecretIamMember(
                self,
                f"secret_{secret_id}",
                project=project_id,
                secret_id=secret_id,
                role=SECRET_ACCESSOR_ROLE,
                member=account.member,
            ).override_logical_id(f"inference_reads_secret_{secret_id}")
        if weights_bucket is not None:
            StorageBucketIamMember(
                self,
                "weights_bucket",
                bucket=weights_bucket,
                role=BUCKET_READER_ROLE,
                member=account.member,
            ).override_logical_id("inference_reads_weights")
        if image_repository is not None:
            ArtifactRegistryRepositoryIamMember(
                self,
                "image_repository",
                project=image_repository.project,
                location=image_repository.location,
                repository=image_repository.repository,
                role=REPOSITORY_READER_ROLE,
                member=account.member,
            ).override_logical_id("inference_pulls_image")
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


PUBLIC_PATH_PREFIX = "/v1/"
"""The OpenAI-compatible API. vLLM checks the API key only under /v1 (and a few other
prefixes); admin and scoring paths such as /pause or /invocations take no key, so the
edge passes only the API and the health path."""


def waf_expression(rule_set: str, sensitivity: int) -> str:
    """Cloud Armor's expression for one preconfigured OWASP CRS rule set at a sensitivity level."""
    return f"evaluatePreconfiguredWaf('{rule_set}', {{'sensitivity': {sensitivity}}})"


class EdgeSecurityPolicy(Construct):
    """Cloud Armor in front of the global backend service.

    - only the API (``/v1/...``) and the health path pass; anything else gets 404,
      so paths the server does not protect with its key never reach it;
    - a preconfigured rule blocks Log4j probes, and the optional OWASP rule sets deny with 403;
    - a throttle per client (IP, or IP and a header) answers 429 beyond the
      configured rate, so one client cannot exhaust scarce GPU capacity;
    - everything else is allowed.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        rate_limit: RateLimit,
        health_path: str,
        waf: Waf | None = None,
    ) -> None:
        super().__init__(scope, id_)
        enforce: dict[str, object]
        if rate_limit.key == "IP_AND_HTTP_HEADER":
            enforce = {
                "enforce_on_key_configs": [
                    ComputeSecurityPolicyRuleRateLimitOptionsEnforceOnKeyConfigs(enforce_on_key_type="IP"),
                    ComputeSecurityPolicyRuleRateLimitOptionsEnforceOnKeyConfigs(
                        enforce_on_key_type="HTTP_HEADER", enforce_on_key_name=rate_limit.header_name
                    ),
                ]
            }
        else:
            enforce = {"enforce_on_key": "IP"}
        path_allowed = f"request.path.startsWith('{PUBLIC_PATH_PREFIX}') || request.path == '{health_path}'"
        rules = [
            ComputeSecurityPolicyRule(
                priority=800,
                action="deny(404)",
                description="Only the OpenAI-compatible API and the health path are public",
                match={"expr": {"expression": f"!({path_allowed})"}},
            ),
            ComputeSecurityPolicyRule(
                priority=900,
                action="deny(403)",
                description="Block Log4j (CVE-2021-44228) exploit attempts",
                match={"expr": {"expression": "evaluatePreconfiguredExpr('cve-canary')"}},
            ),
        ]
        if waf is not None:
            for offset, rule_set in enumerate(waf.rule_sets):
                rules.append(
                    ComputeSecurityPolicyRule(
                        priority=910 + offset,
                        action="deny(403)",
                        description=f"OWASP CRS {rule_set} at sensitivity {waf.sensitivity}",
                        match={"expr": {"expression": waf_expression(rule_set, waf.sensitivity)}},
                    )
                )
        rules += [
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
        ]
        policy = ComputeSecurityPolicy(
            self,
            "policy",
            name=naming.resource_name(name_prefix, "edge-policy"),
            description="API paths only, per-client throttle, Log4j and optional OWASP rules for the LLM endpoint",
            type="CLOUD_ARMOR",
            adaptive_protection_config={"layer7_ddos_defense_config": {"enable": True}},
            rule=rules,
        )
        policy.override_logical_id("edge_policy")
        self.id: str = policy.id


MIN_TLS_VERSION = "TLS_1_2"


class ModernTlsPolicy(Construct):
    """An SSL policy that refuses anything older than TLS 1.2: global, or regional when ``region`` is set.

    The global HTTPS proxy and a regional external entry point's proxy take the
    same policy; regional proxies need a regional policy resource.
    """

    def __init__(
        self, scope: Construct, id_: str, *, name_prefix: str, profile: str, region: str | None = None
    ) -> None:
        super().__init__(scope, id_)
        policy: ComputeSslPolicy | ComputeRegionSslPolicy
        if region is None:
            policy = ComputeSslPolicy(
                self,
                "policy",
                name=naming.resource_name(name_prefix, "tls-policy"),
                profile=profile,
                min_tls_version=MIN_TLS_VERSION,
            )
            policy.override_logical_id("tls_policy")
        else:
            policy = ComputeRegionSslPolicy(
                self,
                "policy",
                name=naming.resource_name(name_prefix, region, "tls-policy"),
                region=region,
                profile=profile,
                min_tls_version=MIN_TLS_VERSION,
            )
            policy.override_logical_id("regional_tls_policy")
        self.id: str = policy.id
