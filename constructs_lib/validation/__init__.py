"""Synth-time GCP load-balancing validity rules, one per module (the shape of cdk-nag's ``src/rules/``).

This package only registers the rules: ``ALL_RULES`` lists them in id order.
The engine is in ``engine``, the reading of Terraform JSON in ``terraform_json``,
what GCP calls things in ``gcp_vocabulary``, and running the rules on a
synthesized app in ``synthesized_app``::

    from constructs_lib.validation.synthesized_app import check_rules
    violations = check_rules("cdktf.out")   # ["network: <address>: [GCP-LB-... Name] why", ...]

Rule ids ("GCP-LB-016") and the "ref. N" in docstrings and messages point to the numbered rules of
docs/gcp-load-balancing-rules.md, which states each GCP rule and its sources.
"""

from __future__ import annotations

from constructs_lib.validation.autohealing_initial_delay_valid import AutohealingInitialDelayValid
from constructs_lib.validation.autoscaled_mig_has_no_target_size import AutoscaledMigHasNoTargetSize
from constructs_lib.validation.backend_group_not_backend_service import BackendGroupNotBackendService
from constructs_lib.validation.backend_groups_uniform_and_unique import BackendGroupsUniformAndUnique
from constructs_lib.validation.backend_preference_not_on_external import BackendPreferenceNotOnExternal
from constructs_lib.validation.backend_timeouts_cover_long_generations import (
    BackendTimeoutsCoverLongGenerations,
)
from constructs_lib.validation.balancing_mode_matches_protocol import BalancingModeMatchesProtocol
from constructs_lib.validation.capacity_scaler_valid import CapacityScalerValid
from constructs_lib.validation.cdn_disabled_on_llm_backends import CdnDisabledOnLlmBackends
from constructs_lib.validation.certificate_scope_matches_proxy import CertificateScopeMatchesProxy
from constructs_lib.validation.engine import Rule
from constructs_lib.validation.failover_passthrough_only import FailoverPassthroughOnly
from constructs_lib.validation.firewall_no_ingress_from_anywhere import FirewallNoIngressFromAnywhere
from constructs_lib.validation.forwarding_rule_scheme_matches_backend import (
    ForwardingRuleSchemeMatchesBackend,
)
from constructs_lib.validation.gpu_vm_terminates_on_host_maintenance import (
    GpuVmTerminatesOnHostMaintenance,
)
from constructs_lib.validation.health_check_scope_matches_scheme import HealthCheckScopeMatchesScheme
from constructs_lib.validation.load_balancing_scheme_explicit import LoadBalancingSchemeExplicit
from constructs_lib.validation.load_balancing_scheme_supported import LoadBalancingSchemeSupported
from constructs_lib.validation.locality_lb_policy_scheme_supported import LocalityLbPolicySchemeSupported
from constructs_lib.validation.no_secret_in_vm_metadata import NoSecretInVmMetadata
from constructs_lib.validation.outlier_detection_scheme_supported import OutlierDetectionSchemeSupported
from constructs_lib.validation.port_name_matches_scheme import PortNameMatchesScheme
from constructs_lib.validation.proxy_only_subnet_for_managed_forwarding_rule import (
    ProxyOnlySubnetForManagedForwardingRule,
)
from constructs_lib.validation.proxy_only_subnet_valid import ProxyOnlySubnetValid
from constructs_lib.validation.shared_group_same_balancing_mode import SharedGroupSameBalancingMode
from constructs_lib.validation.single_health_check import SingleHealthCheck
from constructs_lib.validation.spot_vm_no_automatic_restart import SpotVmNoAutomaticRestart
from constructs_lib.validation.traffic_policy_scheme_supported import TrafficPolicySchemeSupported
from constructs_lib.validation.url_map_scope_matches_backend import UrlMapScopeMatchesBackend
from constructs_lib.validation.vm_has_no_public_ip import VmHasNoPublicIp

ALL_RULES: tuple[Rule, ...] = (
    LoadBalancingSchemeExplicit(),
    LoadBalancingSchemeSupported(),
    ForwardingRuleSchemeMatchesBackend(),
    BackendGroupNotBackendService(),
    BackendGroupsUniformAndUnique(),
    UrlMapScopeMatchesBackend(),
    HealthCheckScopeMatchesScheme(),
    SingleHealthCheck(),
    BalancingModeMatchesProtocol(),
    CapacityScalerValid(),
    SharedGroupSameBalancingMode(),
    PortNameMatchesScheme(),
    ProxyOnlySubnetForManagedForwardingRule(),
    ProxyOnlySubnetValid(),
    CertificateScopeMatchesProxy(),
    BackendTimeoutsCoverLongGenerations(),
    OutlierDetectionSchemeSupported(),
    LocalityLbPolicySchemeSupported(),
    TrafficPolicySchemeSupported(),
    FailoverPassthroughOnly(),
    BackendPreferenceNotOnExternal(),
    CdnDisabledOnLlmBackends(),
    GpuVmTerminatesOnHostMaintenance(),
    SpotVmNoAutomaticRestart(),
    VmHasNoPublicIp(),
    AutohealingInitialDelayValid(),
    AutoscaledMigHasNoTargetSize(),
    FirewallNoIngressFromAnywhere(),
    NoSecretInVmMetadata(),
)
"""Every rule, in id order: what ``synthesized_app.check_rules`` runs."""
