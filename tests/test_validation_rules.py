"""Each GCP load-balancing rule on small hand-made Terraform JSON (no cdktf: milliseconds).

Two baseline stacks mirror what the app synthesizes (a global frontend and a
region with an internal ALB entry point) and are compliant with every rule;
each case changes one thing and states what the rule must answer: compliant,
non-compliant (the finding names the resource address and the rule id), or not
applicable.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from constructs_lib.validation import ALL_RULES
from constructs_lib.validation.engine import Finding, NonCompliant, Rule, Verdict, check_stack, check_stacks, verdict_of
from constructs_lib.validation.gcp_vocabulary import GroupKind, group_kind
from constructs_lib.validation.terraform_json import Resource, StackJson, references

Json = dict[str, Any]

REMOTE_US = "${data.terraform_remote_state.region-us-central1.outputs.instance_group}"
REMOTE_EU = "${data.terraform_remote_state.region-europe-west4.outputs.instance_group}"
NETWORK = "${data.terraform_remote_state.network.outputs.network_self_link}"
MIG_GROUP = "${google_compute_region_instance_group_manager.serving_pool.instance_group}"
META = {"metadata": {"path": "x/y", "uniqueId": "y"}}


def global_stack() -> Json:
    """A compliant global frontend (like stacks/global-frontend)."""
    return {
        "//": {"metadata": {"stackName": "global-frontend"}},
        "provider": {"google": [{"project": "acme"}]},
        "resource": {
            "google_compute_health_check": {
                "global_health_check": {"//": META, "name": "hc", "http_health_check": {"port": 8000, "request_path": "/health"}}
            },
            "google_compute_backend_service": {
                "global_backend": {
                    "//": META,
                    "name": "llm-backend",
                    "load_balancing_scheme": "EXTERNAL_MANAGED",
                    "protocol": "HTTP",
                    "port_name": "http",
                    "timeout_sec": 900,
                    "connection_draining_timeout_sec": 900,
                    "health_checks": ["${google_compute_health_check.global_health_check.id}"],
                    "backend": [
                        {"group": REMOTE_US, "balancing_mode": "RATE", "max_rate_per_instance": 8, "capacity_scaler": 1},
                        {"group": REMOTE_EU, "balancing_mode": "RATE", "max_rate_per_instance": 8, "capacity_scaler": 1},
                    ],
                    "locality_lb_policy": "LEAST_REQUEST",
                    "outlier_detection": {"consecutive_errors": 5},
                    "enable_cdn": False,
                }
            },
            "google_compute_url_map": {
                "frontend_url_map": {"name": "m", "default_service": "${google_compute_backend_service.global_backend.id}"},
                "http_redirect_url_map": {"name": "r", "default_url_redirect": {"https_redirect": True}},
            },
            "google_compute_managed_ssl_certificate": {"frontend_certificate": {"name": "c", "managed": {"domains": ["a.example"]}}},
            "google_compute_target_https_proxy": {
                "frontend_https_proxy": {
                    "name": "p",
                    "url_map": "${google_compute_url_map.frontend_url_map.id}",
                    "ssl_certificates": ["${google_compute_managed_ssl_certificate.frontend_certificate.id}"],
                }
            },
            "google_compute_target_http_proxy": {
                "http_redirect_proxy": {"name": "hp", "url_map": "${google_compute_url_map.http_redirect_url_map.id}"}
            },
            "google_compute_global_forwarding_rule": {
                "frontend_https": {
                    "name": "https",
                    "load_balancing_scheme": "EXTERNAL_MANAGED",
                    "ip_protocol": "TCP",
                    "port_range": "443",
                    "target": "${google_compute_target_https_proxy.frontend_https_proxy.id}",
                },
                "http_redirect": {
                    "name": "http",
                    "load_balancing_scheme": "EXTERNAL_MANAGED",
                    "ip_protocol": "TCP",
                    "port_range": "80",
                    "target": "${google_compute_target_http_proxy.http_redirect_proxy.id}",
                },
            },
        },
    }


def regional_stack() -> Json:
    """A compliant region (like stacks/region-us-central1 with an internal entry point)."""
    return {
        "provider": {"google": [{"project": "acme", "region": "us-central1"}]},
        "resource": {
            "google_compute_subnetwork": {
                "serving_subnet": {"name": "s", "region": "us-central1", "network": NETWORK, "ip_cidr_range": "10.0.0.0/20"},
                "proxy_only_subnet": {
                    "name": "po",
                    "region": "us-central1",
                    "network": NETWORK,
                    "ip_cidr_range": "10.0.16.0/23",
                    "purpose": "REGIONAL_MANAGED_PROXY",
                    "role": "ACTIVE",
                },
            },
            "google_compute_firewall": {
                "allow_proxy_only": {
                    "name": "f",
                    "network": NETWORK,
                    "direction": "INGRESS",
                    "source_ranges": ["10.0.16.0/23"],
                    "allow": [{"protocol": "tcp", "ports": ["8000"]}],
                }
            },
            "google_compute_instance_template": {
                "inference_template": {
                    "name_prefix": "llm-",
                    "machine_type": "g2-standard-8",
                    "network_interface": [{"subnetwork": "${google_compute_subnetwork.serving_subnet.id}"}],
                    "scheduling": {"on_host_maintenance": "TERMINATE", "automatic_restart": True},
                }
            },
            "google_compute_region_health_check": {
                "autohealing": {"name": "ah", "region": "us-central1", "http_health_check": {"port": 8000}},
                "regional_health_check": {"name": "hc", "region": "us-central1", "http_health_check": {"port": 8000}},
            },
            "google_compute_region_instance_group_manager": {
                "serving_pool": {
                    "name": "pool",
                    "region": "us-central1",
                    "named_port": [{"name": "http", "port": 8000}],
                    "auto_healing_policies": {
                        "health_check": "${google_compute_region_health_check.autohealing.id}",
                        "initial_delay_sec": 1200,
                    },
                    "version": [{"instance_template": "${google_compute_instance_template.inference_template.self_link_unique}"}],
                }
            },
            "google_compute_region_autoscaler": {
                "serving_pool_autoscaler": {
                    "name": "as",
                    "region": "us-central1",
                    "target": "${google_compute_region_instance_group_manager.serving_pool.id}",
                    "autoscaling_policy": {"min_replicas": 1, "max_replicas": 4},
                }
            },
            "google_compute_region_backend_service": {
                "regional_backend": {
                    "name": "rb",
                    "region": "us-central1",
                    "load_balancing_scheme": "INTERNAL_MANAGED",
                    "protocol": "HTTP",
                    "port_name": "http",
                    "timeout_sec": 900,
                    "connection_draining_timeout_sec": 900,
                    "health_checks": ["${google_compute_region_health_check.regional_health_check.id}"],
                    "locality_lb_policy": "LEAST_REQUEST",
                    "backend": [
                        {"group": MIG_GROUP, "balancing_mode": "RATE", "max_rate_per_instance": 8, "capacity_scaler": 1}
                    ],
                }
            },
            "google_compute_region_url_map": {
                "regional_url_map": {
                    "name": "rm",
                    "region": "us-central1",
                    "default_service": "${google_compute_region_backend_service.regional_backend.id}",
                }
            },
            "google_compute_region_target_http_proxy": {
                "regional_proxy": {
                    "name": "rp",
                    "region": "us-central1",
                    "url_map": "${google_compute_region_url_map.regional_url_map.id}",
                }
            },
            "google_compute_forwarding_rule": {
                "regional_forwarding_rule": {
                    "name": "fr",
                    "region": "us-central1",
                    "load_balancing_scheme": "INTERNAL_MANAGED",
                    "ip_protocol": "TCP",
                    "port_range": "80",
                    "network": NETWORK,
                    "subnetwork": "${google_compute_subnetwork.serving_subnet.id}",
                    "target": "${google_compute_region_target_http_proxy.regional_proxy.id}",
                    "depends_on": ["google_compute_subnetwork.proxy_only_subnet"],
                }
            },
        },
    }


GBS = "google_compute_backend_service.global_backend"
RBS = "google_compute_region_backend_service.regional_backend"
GFR = "google_compute_global_forwarding_rule.frontend_https"
RFR = "google_compute_forwarding_rule.regional_forwarding_rule"
TEMPLATE = "google_compute_instance_template.inference_template"
MIG = "google_compute_region_instance_group_manager.serving_pool"
FIREWALL = "google_compute_firewall.allow_proxy_only"
PROXY_SUBNET = "google_compute_subnetwork.proxy_only_subnet"


def res(stack: Json, address: str) -> dict[str, Any]:
    type_, name = address.split(".", 1)
    return stack["resource"][type_][name]


def add(stack: Json, address: str, config: dict[str, Any]) -> None:
    type_, name = address.split(".", 1)
    stack["resource"].setdefault(type_, {})[name] = config


def rule_of(rule_id: str) -> Rule:
    return next(rule for rule in ALL_RULES if rule.id == rule_id)


@dataclass(frozen=True)
class Case:
    rule_id: str
    label: str
    base: Callable[[], Json]
    mutate: Callable[[Json], None] | None
    address: str
    expected: Verdict
    message: str = ""  # a fragment the non-compliant message must contain

    @property
    def id(self) -> str:
        return f"{self.rule_id}-{self.expected.name.lower()}-{self.label}"


def setv(address: str, **values: Any) -> Callable[[Json], None]:
    """Set (or with None, delete) top-level fields of one resource."""

    def mutate(stack: Json) -> None:
        config = res(stack, address)
        for key, value in values.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value

    return mutate


def backend0(address: str, **values: Any) -> Callable[[Json], None]:
    """Set (or with None, delete) fields of a backend service's first backend."""

    def mutate(stack: Json) -> None:
        backend = res(stack, address)["backend"][0]
        for key, value in values.items():
            if value is None:
                backend.pop(key, None)
            else:
                backend[key] = value

    return mutate


def chain(*mutations: Callable[[Json], None]) -> Callable[[Json], None]:
    def mutate(stack: Json) -> None:
        for mutation in mutations:
            mutation(stack)

    return mutate


def with_resource(address: str, config: dict[str, Any]) -> Callable[[Json], None]:
    return lambda stack: add(stack, address, copy.deepcopy(config))


C, N, NA = Verdict.COMPLIANT, Verdict.NON_COMPLIANT, Verdict.NOT_APPLICABLE
G, R = global_stack, regional_stack
NEG = "google_compute_region_network_endpoint_group.run"

CASES = [
    # GCP-LB-001 LoadBalancingSchemeExplicit
    Case("GCP-LB-001", "global-backend", G, None, GBS, C),
    Case("GCP-LB-001", "regional-rule", R, None, RFR, C),
    Case("GCP-LB-001", "region-backend-unset", R, setv(RBS, load_balancing_scheme=None), RBS, N, "default INTERNAL, which is immutable"),
    Case("GCP-LB-001", "global-rule-unset", G, setv(GFR, load_balancing_scheme=None), GFR, N, "load_balancing_scheme"),
    Case("GCP-LB-001", "global-backend-unset", G, setv(GBS, load_balancing_scheme=None), GBS, N, "EXTERNAL"),
    Case("GCP-LB-001", "regional-rule-unset", R, setv(RFR, load_balancing_scheme=None), RFR, N, "explicitly"),
    Case("GCP-LB-001", "url-map", G, None, "google_compute_url_map.frontend_url_map", NA),
    # GCP-LB-002 LoadBalancingSchemeSupported
    Case("GCP-LB-002", "external-managed", G, None, GBS, C),
    Case("GCP-LB-002", "global-internal", G, setv(GBS, load_balancing_scheme="INTERNAL"), GBS, N, "'INTERNAL'"),
    Case("GCP-LB-002", "region-self-managed", R, setv(RBS, load_balancing_scheme="INTERNAL_SELF_MANAGED"), RBS, N, "INTERNAL_SELF_MANAGED"),
    Case("GCP-LB-002", "token", R, setv(RBS, load_balancing_scheme="${var.scheme}"), RBS, NA),
    Case("GCP-LB-002", "psc-rule", R, setv(RFR, load_balancing_scheme=""), RFR, C),
    Case("GCP-LB-002", "subnet", R, None, PROXY_SUBNET, NA),
    # GCP-LB-003 ForwardingRuleSchemeMatchesBackend
    Case("GCP-LB-003", "global-chain", G, None, GFR, C),
    Case("GCP-LB-003", "regional-chain", R, None, RFR, C),
    Case("GCP-LB-003", "classic-backend", G, setv(GBS, load_balancing_scheme="EXTERNAL"), GFR, N, "EXTERNAL_MANAGED does not match"),
    Case("GCP-LB-003", "regional-mismatch", R, setv(RBS, load_balancing_scheme="EXTERNAL_MANAGED"), RFR, N, RBS),
    Case("GCP-LB-003", "redirect-only", G, None, "google_compute_global_forwarding_rule.http_redirect", NA),
    Case("GCP-LB-003", "backend-service", G, None, GBS, NA),
    # GCP-LB-004 BackendGroupNotBackendService
    Case("GCP-LB-004", "remote-instance-groups", G, None, GBS, C),
    Case("GCP-LB-004", "mig", R, None, RBS, C),
    Case(
        "GCP-LB-004", "region-backend-as-group", G,
        chain(with_resource(RBS, {"name": "rb", "region": "us-central1"}),
              backend0(GBS, group="${google_compute_region_backend_service.regional_backend.id}")),
        GBS, N, "backend[0]",
    ),
    Case(
        "GCP-LB-004", "backend-service-url", G,
        backend0(GBS, group="https://www.googleapis.com/compute/v1/projects/p/regions/us-central1/backendServices/rb"),
        GBS, N, "instance group or a NEG",
    ),
    Case("GCP-LB-004", "no-backends", G, setv(GBS, backend=None), GBS, NA),
    Case("GCP-LB-004", "forwarding-rule", G, None, GFR, NA),
    # GCP-LB-005 BackendGroupsUniformAndUnique
    Case("GCP-LB-005", "distinct-groups", G, None, GBS, C),
    Case("GCP-LB-005", "duplicate-group", G, lambda s: res(s, GBS)["backend"].__setitem__(1, dict(res(s, GBS)["backend"][0])), GBS, N, "repeats backend[0]"),
    Case(
        "GCP-LB-005", "mixed-kinds", R,
        chain(with_resource(NEG, {"name": "neg", "region": "us-central1", "network_endpoint_type": "GCE_VM_IP_PORT"}),
              lambda s: res(s, RBS)["backend"].append({"group": "${google_compute_region_network_endpoint_group.run.id}",
                                                       "balancing_mode": "RATE", "max_rate_per_endpoint": 1, "capacity_scaler": 1})),
        RBS, N, "mixes instance groups and network endpoint groups",
    ),
    Case("GCP-LB-005", "short-name", G, backend0(GBS, group="my-instance-group"), GBS, N, "full instance group or NEG URL"),
    Case("GCP-LB-005", "full-url", G, backend0(GBS, group="projects/p/regions/us-central1/instanceGroups/ig"), GBS, C),
    Case("GCP-LB-005", "no-backends", G, setv(GBS, backend=None), GBS, NA),
    # GCP-LB-006 UrlMapScopeMatchesBackend
    Case("GCP-LB-006", "global-map", G, None, "google_compute_url_map.frontend_url_map", C),
    Case("GCP-LB-006", "region-map", R, None, "google_compute_region_url_map.regional_url_map", C),
    Case(
        "GCP-LB-006", "global-map-to-region-backend", G,
        chain(with_resource(RBS, {"name": "rb", "region": "us-central1"}),
              setv("google_compute_url_map.frontend_url_map", default_service="${google_compute_region_backend_service.regional_backend.id}")),
        "google_compute_url_map.frontend_url_map", N, RBS,
    ),
    Case(
        "GCP-LB-006", "region-map-to-global-backend-url", R,
        setv("google_compute_region_url_map.regional_url_map", default_service="projects/p/global/backendServices/b"),
        "google_compute_region_url_map.regional_url_map", N, "global backend service",
    ),
    Case(
        "GCP-LB-006", "region-map-other-region", R, setv(RBS, region="europe-west4"),
        "google_compute_region_url_map.regional_url_map", N, "another region",
    ),
    Case("GCP-LB-006", "backend-service", G, None, GBS, NA),
    # GCP-LB-007 HealthCheckScopeMatchesScheme
    Case("GCP-LB-007", "global-global", G, None, GBS, C),
    Case("GCP-LB-007", "regional-regional", R, None, RBS, C),
    Case(
        "GCP-LB-007", "global-with-regional-check", G,
        setv(GBS, health_checks=["projects/p/regions/us-central1/healthChecks/hc"]), GBS, N, "google_compute_health_check",
    ),
    Case(
        "GCP-LB-007", "managed-region-with-global-check", R,
        chain(with_resource("google_compute_health_check.g", {"name": "g"}),
              setv(RBS, health_checks=["${google_compute_health_check.g.id}"])),
        RBS, N, "google_compute_region_health_check",
    ),
    Case(
        "GCP-LB-007", "other-region-check", R,
        setv("google_compute_region_health_check.regional_health_check", region="europe-west4"), RBS, N, "europe-west4",
    ),
    Case(
        "GCP-LB-007", "internal-takes-either", R,
        chain(with_resource("google_compute_health_check.g", {"name": "g"}),
              setv(RBS, load_balancing_scheme="INTERNAL", health_checks=["${google_compute_health_check.g.id}"])),
        RBS, NA,
    ),
    Case("GCP-LB-007", "template", R, None, TEMPLATE, NA),
    # GCP-LB-008 SingleHealthCheck
    Case("GCP-LB-008", "one", G, None, GBS, C),
    Case("GCP-LB-008", "none", G, setv(GBS, health_checks=None), GBS, N, "has 0 health checks"),
    Case(
        "GCP-LB-008", "two", R,
        setv(RBS, health_checks=["${google_compute_region_health_check.regional_health_check.id}",
                                  "${google_compute_region_health_check.autohealing.id}"]),
        RBS, N, "has 2 health checks",
    ),
    Case(
        "GCP-LB-008", "serverless-without", R,
        chain(with_resource(NEG, {"name": "neg", "region": "us-central1"}),
              setv(RBS, health_checks=None, backend=[{"group": "${google_compute_region_network_endpoint_group.run.id}"}])),
        RBS, C,
    ),
    Case(
        "GCP-LB-008", "serverless-with", R,
        chain(with_resource(NEG, {"name": "neg", "region": "us-central1"}),
              setv(RBS, backend=[{"group": "${google_compute_region_network_endpoint_group.run.id}"}])),
        RBS, N, "serverless and internet NEG",
    ),
    Case(
        "GCP-LB-008", "psc", R,
        chain(with_resource(NEG, {"name": "neg", "region": "us-central1", "network_endpoint_type": "PRIVATE_SERVICE_CONNECT"}),
              setv(RBS, health_checks=None, backend=[{"group": "${google_compute_region_network_endpoint_group.run.id}"}])),
        RBS, NA,
    ),
    Case("GCP-LB-008", "forwarding-rule", R, None, RFR, NA),
    # GCP-LB-009 BalancingModeMatchesProtocol
    Case("GCP-LB-009", "rate", G, None, GBS, C),
    Case("GCP-LB-009", "utilization", G, backend0(GBS, balancing_mode="UTILIZATION", max_rate_per_instance=None, max_utilization=0.8), GBS, C),
    Case("GCP-LB-009", "connection-on-http", G, backend0(GBS, balancing_mode="CONNECTION"), GBS, N, "CONNECTION with protocol HTTP"),
    Case("GCP-LB-009", "regional-default-utilization", R, backend0(RBS, balancing_mode=None, max_rate_per_instance=None), RBS, C),
    Case(
        "GCP-LB-009", "internal-default-utilization", R,
        chain(setv(RBS, load_balancing_scheme="INTERNAL", protocol="TCP", port_name=None),
              backend0(RBS, balancing_mode=None, max_rate_per_instance=None, capacity_scaler=None)),
        RBS, N, "UTILIZATION (the provider default); INTERNAL backends must use CONNECTION",
    ),
    Case("GCP-LB-009", "rate-without-rate", R, backend0(RBS, max_rate_per_instance=None), RBS, N, "RATE without max_rate"),
    Case("GCP-LB-009", "zero-rate", G, backend0(GBS, max_rate_per_instance=0), GBS, N, "zero rate"),
    Case("GCP-LB-009", "max-utilization", G, backend0(GBS, balancing_mode="UTILIZATION", max_utilization=1.5), GBS, N, "max_utilization 1.5"),
    Case(
        "GCP-LB-009", "internal-rate", R,
        setv(RBS, load_balancing_scheme="INTERNAL", protocol="TCP", port_name=None), RBS, N, "must use CONNECTION",
    ),
    Case(
        "GCP-LB-009", "internal-connection", R,
        chain(setv(RBS, load_balancing_scheme="INTERNAL", protocol="TCP", port_name=None), backend0(RBS, balancing_mode="CONNECTION")),
        RBS, C,
    ),
    Case("GCP-LB-009", "passthrough-http", R, chain(setv(RBS, load_balancing_scheme="INTERNAL"), backend0(RBS, balancing_mode="CONNECTION")), RBS, N, "passthrough"),
    Case("GCP-LB-009", "tcp-proxy-connection", G, chain(setv(GBS, protocol="TCP"), backend0(GBS, balancing_mode="CONNECTION", max_connections=10)), GBS, C),
    Case("GCP-LB-009", "token-scheme", G, setv(GBS, load_balancing_scheme="${var.s}"), GBS, NA),
    Case("GCP-LB-009", "mig", R, None, MIG, NA),
    # GCP-LB-010 CapacityScalerValid
    Case("GCP-LB-010", "ones", G, None, GBS, C),
    Case("GCP-LB-010", "one-drained", G, backend0(GBS, capacity_scaler=0), GBS, C),
    Case("GCP-LB-010", "between-0-and-0.1", G, backend0(GBS, capacity_scaler=0.05), GBS, N, "capacity_scaler 0.05"),
    Case("GCP-LB-010", "above-1", G, backend0(GBS, capacity_scaler=1.5), GBS, N, "0.1..1.0"),
    Case(
        "GCP-LB-010", "all-drained", G,
        lambda s: [backend.__setitem__("capacity_scaler", 0) for backend in res(s, GBS)["backend"]], GBS, N, "all 2 backends are drained",
    ),
    Case("GCP-LB-010", "only-backend-drained", R, backend0(RBS, capacity_scaler=0), RBS, N, "its only backend is drained"),
    Case("GCP-LB-010", "managed-region-missing", R, backend0(RBS, capacity_scaler=None), RBS, N, "require"),
    Case("GCP-LB-010", "global-missing", G, backend0(GBS, capacity_scaler=None), GBS, C),
    Case(
        "GCP-LB-010", "internal-sets-it", R,
        setv(RBS, load_balancing_scheme="INTERNAL", protocol="TCP"), RBS, N, "INTERNAL backend services reject",
    ),
    Case("GCP-LB-010", "no-backends", G, setv(GBS, backend=None), GBS, NA),
    # GCP-LB-011 SharedGroupSameBalancingMode
    Case(
        "GCP-LB-011", "same-mode", R,
        with_resource("google_compute_region_backend_service.other", {
            "name": "o", "load_balancing_scheme": "EXTERNAL_MANAGED",
            "backend": [{"group": MIG_GROUP, "balancing_mode": "RATE", "max_rate_per_instance": 4}]}),
        RBS, C,
    ),
    Case(
        "GCP-LB-011", "ilb-connection-and-alb-utilization", R,
        chain(backend0(RBS, balancing_mode="UTILIZATION", max_rate_per_instance=None),
              with_resource("google_compute_region_backend_service.ilb", {
                  "name": "ilb", "load_balancing_scheme": "INTERNAL", "protocol": "TCP",
                  "backend": [{"group": MIG_GROUP, "balancing_mode": "CONNECTION"}]})),
        RBS, N, "google_compute_region_backend_service.ilb",
    ),
    Case("GCP-LB-011", "not-shared", R, None, RBS, NA),
    Case("GCP-LB-011", "template", R, None, TEMPLATE, NA),
    # GCP-LB-012 PortNameMatchesScheme
    Case("GCP-LB-012", "global-http", G, None, GBS, C),
    Case("GCP-LB-012", "regional-with-named-port", R, None, RBS, C),
    Case("GCP-LB-012", "missing", G, setv(GBS, port_name=None), GBS, N, "has no port_name"),
    Case("GCP-LB-012", "not-on-mig", R, setv(RBS, port_name="grpc"), RBS, N, "has no named_port 'grpc'"),
    Case(
        "GCP-LB-012", "internal-sets-it", R,
        chain(setv(RBS, load_balancing_scheme="INTERNAL", protocol="TCP"), backend0(RBS, balancing_mode="CONNECTION")),
        RBS, N, "must be omitted for INTERNAL",
    ),
    Case(
        "GCP-LB-012", "internal-omits-it", R,
        setv(RBS, load_balancing_scheme="INTERNAL", protocol="TCP", port_name=None), RBS, C,
    ),
    Case(
        "GCP-LB-012", "negs-only", R,
        chain(with_resource(NEG, {"name": "neg", "region": "us-central1"}),
              setv(RBS, port_name=None, backend=[{"group": "${google_compute_region_network_endpoint_group.run.id}"}])),
        RBS, NA,
    ),
    Case("GCP-LB-012", "external-passthrough", R, setv(RBS, load_balancing_scheme="EXTERNAL", port_name=None), RBS, NA),
    # GCP-LB-013 ProxyOnlySubnetForManagedForwardingRule
    Case("GCP-LB-013", "internal-managed", R, None, RFR, C),
    Case(
        "GCP-LB-013", "external-managed", R,
        setv(RFR, load_balancing_scheme="EXTERNAL_MANAGED", subnetwork=None, network_tier="PREMIUM"), RFR, C,
    ),
    Case("GCP-LB-013", "external-managed-no-network", R, setv(RFR, load_balancing_scheme="EXTERNAL_MANAGED", network=None), RFR, N, "must set network"),
    Case("GCP-LB-013", "no-depends-on", R, setv(RFR, depends_on=None), RFR, N, "does not depend on the proxy-only subnet"),
    Case(
        "GCP-LB-013", "no-proxy-subnet", R,
        lambda s: (s["resource"]["google_compute_subnetwork"].pop("proxy_only_subnet"), res(s, RFR).pop("depends_on")),
        RFR, N, "purpose=REGIONAL_MANAGED_PROXY subnet in us-central1",
    ),
    Case("GCP-LB-013", "proxy-subnet-other-region", R, setv(PROXY_SUBNET, region="europe-west4"), RFR, N, "in us-central1"),
    Case("GCP-LB-013", "region-from-provider", R, chain(setv(RFR, region=None), setv(PROXY_SUBNET, region=None)), RFR, C),
    Case("GCP-LB-013", "internal-passthrough", R, setv(RFR, load_balancing_scheme="INTERNAL", depends_on=None), RFR, NA),
    Case("GCP-LB-013", "global-external-managed", G, None, GFR, NA),
    # GCP-LB-014 ProxyOnlySubnetValid
    Case("GCP-LB-014", "slash-23", R, None, PROXY_SUBNET, C),
    Case("GCP-LB-014", "slash-27", R, setv(PROXY_SUBNET, ip_cidr_range="10.0.16.0/27"), PROXY_SUBNET, N, "/26 or larger"),
    Case(
        "GCP-LB-014", "two-active", R,
        with_resource("google_compute_subnetwork.second", {
            "name": "p2", "region": "us-central1", "network": NETWORK, "ip_cidr_range": "10.0.18.0/23",
            "purpose": "REGIONAL_MANAGED_PROXY", "role": "ACTIVE"}),
        PROXY_SUBNET, N, "google_compute_subnetwork.second",
    ),
    Case(
        "GCP-LB-014", "active-and-backup", R,
        with_resource("google_compute_subnetwork.second", {
            "name": "p2", "region": "us-central1", "network": NETWORK, "ip_cidr_range": "10.0.18.0/23",
            "purpose": "REGIONAL_MANAGED_PROXY", "role": "BACKUP"}),
        PROXY_SUBNET, C,
    ),
    Case("GCP-LB-014", "serving-subnet", R, None, "google_compute_subnetwork.serving_subnet", NA),
    # GCP-LB-015 CertificateScopeMatchesProxy
    Case("GCP-LB-015", "global-managed-cert", G, None, "google_compute_target_https_proxy.frontend_https_proxy", C),
    Case(
        "GCP-LB-015", "global-proxy-regional-cert", G,
        setv("google_compute_target_https_proxy.frontend_https_proxy",
             ssl_certificates=["projects/p/regions/us-central1/sslCertificates/c"]),
        "google_compute_target_https_proxy.frontend_https_proxy", N, "regional certificate",
    ),
    Case(
        "GCP-LB-015", "regional-proxy-global-cert", R,
        chain(with_resource("google_compute_managed_ssl_certificate.c", {"name": "c"}),
              with_resource("google_compute_region_target_https_proxy.p", {
                  "name": "p", "region": "us-central1", "url_map": "x",
                  "ssl_certificates": ["${google_compute_managed_ssl_certificate.c.id}"]})),
        "google_compute_region_target_https_proxy.p", N, "global certificate",
    ),
    Case("GCP-LB-015", "certificate-map-only", G,
         setv("google_compute_target_https_proxy.frontend_https_proxy", ssl_certificates=None, certificate_map="//certificatemanager/m"),
         "google_compute_target_https_proxy.frontend_https_proxy", NA),
    Case("GCP-LB-015", "http-proxy", G, None, "google_compute_target_http_proxy.http_redirect_proxy", NA),
    # GCP-LB-016 BackendTimeoutsCoverLongGenerations
    Case("GCP-LB-016", "900s", G, None, GBS, C),
    Case("GCP-LB-016", "default-timeout", G, setv(GBS, timeout_sec=None), GBS, N, "timeout_sec is 30 s (the default)"),
    Case("GCP-LB-016", "short-draining", R, setv(RBS, connection_draining_timeout_sec=300), RBS, N, "connection_draining_timeout_sec is 300 s"),
    Case("GCP-LB-016", "internal-ignores-timeout", R, setv(RBS, load_balancing_scheme="INTERNAL", timeout_sec=None), RBS, C),
    Case("GCP-LB-016", "token", G, setv(GBS, timeout_sec="${var.t}"), GBS, C),
    Case("GCP-LB-016", "health-check", G, None, "google_compute_health_check.global_health_check", NA),
    # GCP-LB-017 OutlierDetectionSchemeSupported
    Case("GCP-LB-017", "external-managed", G, None, GBS, C),
    Case("GCP-LB-017", "classic", G, setv(GBS, load_balancing_scheme="EXTERNAL"), GBS, N, "EXTERNAL backend services do not support"),
    Case("GCP-LB-017", "not-set", R, None, RBS, NA),
    # GCP-LB-018 LocalityLbPolicySchemeSupported
    Case("GCP-LB-018", "least-request", G, None, GBS, C),
    Case("GCP-LB-018", "classic", G, setv(GBS, load_balancing_scheme="EXTERNAL"), GBS, N, "do not support"),
    Case("GCP-LB-018", "nlb-least-request", R, setv(RBS, load_balancing_scheme="EXTERNAL"), RBS, N, "only MAGLEV or WEIGHTED_MAGLEV"),
    Case("GCP-LB-018", "nlb-maglev", R, setv(RBS, load_balancing_scheme="EXTERNAL", locality_lb_policy="MAGLEV"), RBS, C),
    Case("GCP-LB-018", "weighted-maglev-on-alb", G, setv(GBS, locality_lb_policy="WEIGHTED_MAGLEV"), GBS, N, "only for regional EXTERNAL"),
    Case("GCP-LB-018", "affinity-least-request", G, setv(GBS, session_affinity="HEADER_FIELD"), GBS, N, "no effect"),
    Case("GCP-LB-018", "affinity-ring-hash", G, setv(GBS, session_affinity="HEADER_FIELD", locality_lb_policy="RING_HASH"), GBS, C),
    Case("GCP-LB-018", "unset", G, setv(GBS, locality_lb_policy=None), GBS, NA),
    # GCP-LB-019 TrafficPolicySchemeSupported
    Case(
        "GCP-LB-019", "ring-hash", G,
        setv(GBS, locality_lb_policy="RING_HASH", session_affinity="HEADER_FIELD", consistent_hash={"http_header_name": "x"}),
        GBS, C,
    ),
    Case("GCP-LB-019", "hash-without-ring", G, setv(GBS, consistent_hash={"http_header_name": "x"}), GBS, N, "only applies with RING_HASH"),
    Case(
        "GCP-LB-019", "classic-circuit-breakers", G,
        setv(GBS, load_balancing_scheme="EXTERNAL", circuit_breakers={"max_requests": 10}), GBS, N, "circuit_breakers",
    ),
    Case("GCP-LB-019", "max-stream-duration", R, setv(RBS, max_stream_duration={"seconds": 60}), RBS, N, "INTERNAL_SELF_MANAGED only"),
    Case("GCP-LB-019", "none", G, None, GBS, NA),
    # GCP-LB-020 FailoverPassthroughOnly
    Case("GCP-LB-020", "internal-failover", R,
         setv(RBS, load_balancing_scheme="INTERNAL", failover_policy={"drop_traffic_if_unhealthy": True}), RBS, C),
    Case("GCP-LB-020", "alb-failover-policy", R, setv(RBS, failover_policy={"drop_traffic_if_unhealthy": True}), RBS, N, "failover_policy"),
    Case("GCP-LB-020", "alb-backend-failover", R, backend0(RBS, failover=True), RBS, N, "backend[0]"),
    Case("GCP-LB-020", "none", R, None, RBS, NA),
    # GCP-LB-021 BackendPreferenceNotOnExternal
    Case("GCP-LB-021", "managed", G, backend0(GBS, preference="PREFERRED"), GBS, C),
    Case("GCP-LB-021", "classic", G, chain(setv(GBS, load_balancing_scheme="EXTERNAL"), backend0(GBS, preference="PREFERRED")), GBS, N, "preference"),
    Case("GCP-LB-021", "none", G, None, GBS, NA),
    # GCP-LB-022 CdnDisabledOnLlmBackends
    Case("GCP-LB-022", "false", G, None, GBS, C),
    Case("GCP-LB-022", "unset", R, None, RBS, C),
    Case("GCP-LB-022", "true", G, setv(GBS, enable_cdn=True), GBS, N, "enable_cdn is true"),
    Case("GCP-LB-022", "url-map", G, None, "google_compute_url_map.frontend_url_map", NA),
    # GCP-LB-023 GpuVmTerminatesOnHostMaintenance
    Case("GCP-LB-023", "g2-terminate", R, None, TEMPLATE, C),
    Case("GCP-LB-023", "g2-migrate", R, setv(TEMPLATE, scheduling={"on_host_maintenance": "MIGRATE"}), TEMPLATE, N, "machine type g2-standard-8"),
    Case("GCP-LB-023", "a3-unset", R, setv(TEMPLATE, machine_type="a3-highgpu-8g", scheduling=None), TEMPLATE, N, "unset (MIGRATE)"),
    Case(
        "GCP-LB-023", "n1-with-accelerator", R,
        setv(TEMPLATE, machine_type="n1-standard-8", scheduling={}, guest_accelerator=[{"type": "nvidia-tesla-t4", "count": 1}]),
        TEMPLATE, N, "guest_accelerator nvidia-tesla-t4",
    ),
    Case("GCP-LB-023", "cpu-only", R, setv(TEMPLATE, machine_type="n2-standard-8", scheduling=None), TEMPLATE, NA),
    Case("GCP-LB-023", "mig", R, None, MIG, NA),
    # GCP-LB-024 SpotVmNoAutomaticRestart
    Case("GCP-LB-024", "spot-no-restart", R,
         setv(TEMPLATE, scheduling={"on_host_maintenance": "TERMINATE", "provisioning_model": "SPOT", "preemptible": True, "automatic_restart": False}),
         TEMPLATE, C),
    Case("GCP-LB-024", "spot-restart", R,
         setv(TEMPLATE, scheduling={"on_host_maintenance": "TERMINATE", "provisioning_model": "SPOT", "automatic_restart": True}),
         TEMPLATE, N, "Spot VM"),
    Case("GCP-LB-024", "preemptible-default", R,
         setv(TEMPLATE, scheduling={"on_host_maintenance": "TERMINATE", "preemptible": True}), TEMPLATE, N, "unset (true)"),
    Case("GCP-LB-024", "standard", R, None, TEMPLATE, NA),
    # GCP-LB-025 VmHasNoPublicIp
    Case("GCP-LB-025", "private", R, None, TEMPLATE, C),
    Case("GCP-LB-025", "access-config", R,
         setv(TEMPLATE, network_interface=[{"subnetwork": "s", "access_config": [{"network_tier": "PREMIUM"}]}]),
         TEMPLATE, N, "network_interface[0] has access_config"),
    Case("GCP-LB-025", "empty-access-config-object", R,
         setv(TEMPLATE, network_interface=[{"subnetwork": "s", "access_config": [{}]}]), TEMPLATE, N, "external IP"),
    Case("GCP-LB-025", "firewall", R, None, FIREWALL, NA),
    # GCP-LB-026 AutohealingInitialDelayValid
    Case("GCP-LB-026", "1200s", R, None, MIG, C),
    Case("GCP-LB-026", "too-long", R, lambda s: res(s, MIG)["auto_healing_policies"].__setitem__("initial_delay_sec", 4000), MIG, N, "initial_delay_sec is 4000"),
    Case("GCP-LB-026", "negative", R, lambda s: res(s, MIG)["auto_healing_policies"].__setitem__("initial_delay_sec", -1), MIG, N, "0..3600"),
    Case("GCP-LB-026", "delay-missing", R, lambda s: res(s, MIG)["auto_healing_policies"].pop("initial_delay_sec"), MIG, N, "is not set"),
    Case("GCP-LB-026", "no-policy", R, setv(MIG, auto_healing_policies=None), MIG, N, "no auto_healing_policies"),
    Case("GCP-LB-026", "list-form", R,
         setv(MIG, auto_healing_policies=[{"health_check": "hc", "initial_delay_sec": 0}]), MIG, C),
    Case("GCP-LB-026", "template", R, None, TEMPLATE, NA),
    # GCP-LB-027 AutoscaledMigHasNoTargetSize
    Case("GCP-LB-027", "unset", R, None, MIG, C),
    Case("GCP-LB-027", "set", R, setv(MIG, target_size=2), MIG, N, "google_compute_region_autoscaler.serving_pool_autoscaler"),
    Case("GCP-LB-027", "no-autoscaler", R,
         chain(setv(MIG, target_size=2), lambda s: s["resource"].pop("google_compute_region_autoscaler")), MIG, NA),
    # GCP-LB-028 FirewallNoIngressFromAnywhere
    Case("GCP-LB-028", "proxy-range", R, None, FIREWALL, C),
    Case("GCP-LB-028", "anywhere-v4", R, setv(FIREWALL, source_ranges=["35.191.0.0/16", "0.0.0.0/0"]), FIREWALL, N, "0.0.0.0/0"),
    Case("GCP-LB-028", "anywhere-v6", R, setv(FIREWALL, source_ranges=["::/0"]), FIREWALL, N, "::/0"),
    Case("GCP-LB-028", "anywhere-spelled-oddly", R, setv(FIREWALL, source_ranges=["10.0.0.0/0"]), FIREWALL, N, "10.0.0.0/0"),
    Case("GCP-LB-028", "no-source", R, setv(FIREWALL, source_ranges=None, direction=None), FIREWALL, N, "treats as 0.0.0.0/0"),
    Case("GCP-LB-028", "source-tags", R, setv(FIREWALL, source_ranges=None, source_tags=["lb"]), FIREWALL, C),
    Case("GCP-LB-028", "deny-anywhere", R,
         setv(FIREWALL, source_ranges=["0.0.0.0/0"], allow=None, deny=[{"protocol": "all"}]), FIREWALL, NA),
    Case("GCP-LB-028", "egress", R, setv(FIREWALL, direction="EGRESS", source_ranges=None, destination_ranges=["0.0.0.0/0"]), FIREWALL, NA),
    # GCP-LB-029 NoSecretInVmMetadata
    Case("GCP-LB-029", "secret-id-only", R,
         setv(TEMPLATE, metadata={"startup-script": "value=$(retry 'reading secret llm-api-key' read_secret llm-api-key)"}), TEMPLATE, C),
    Case("GCP-LB-029", "no-metadata", R, None, TEMPLATE, C),
    Case("GCP-LB-029", "api-key-arg", R,
         setv(TEMPLATE, metadata={"startup-script": "docker run vllm --api-key=hunter2"}), TEMPLATE, N, "metadata.startup-script contains a credential (--api-key)"),
    Case("GCP-LB-029", "hf-token-env", R,
         setv(TEMPLATE, metadata={"startup-script": "--env HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz012345"}), TEMPLATE, N, "a Hugging Face token"),
    Case("GCP-LB-029", "private-key-item", R,
         setv(TEMPLATE, metadata={"tls-key": "-----BEGIN PRIVATE KEY-----"}), TEMPLATE, N, "metadata.tls-key contains a private key"),
    Case("GCP-LB-029", "sk-in-startup-script-field", R,
         setv(TEMPLATE, metadata_startup_script="OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwx"), TEMPLATE, N, "Secret Manager"),
    Case("GCP-LB-029", "mig", R, None, MIG, NA),
    # Boundaries: the last value each rule accepts and the first it refuses.
    Case("GCP-LB-008", "missing-on-regional", R, setv(RBS, health_checks=None), RBS, N, "has 0 health checks"),
    Case("GCP-LB-008", "empty-list", G, setv(GBS, health_checks=[]), GBS, N, "has 0 health checks"),
    Case("GCP-LB-009", "rate-at-smallest", G, backend0(GBS, max_rate_per_instance=0.001), GBS, C),
    Case("GCP-LB-009", "utilization-at-1", G, backend0(GBS, balancing_mode="UTILIZATION", max_rate_per_instance=None, max_utilization=1), GBS, C),
    Case("GCP-LB-009", "utilization-above-1", G, backend0(GBS, balancing_mode="UTILIZATION", max_rate_per_instance=None, max_utilization=1.01), GBS, N, "max_utilization 1.01"),
    Case("GCP-LB-009", "utilization-at-0", G, backend0(GBS, balancing_mode="UTILIZATION", max_rate_per_instance=None, max_utilization=0), GBS, C),
    Case("GCP-LB-009", "utilization-below-0", G, backend0(GBS, balancing_mode="UTILIZATION", max_rate_per_instance=None, max_utilization=-0.01), GBS, N, "max_utilization -0.01"),
    Case("GCP-LB-010", "at-0.1", G, backend0(GBS, capacity_scaler=0.1), GBS, C),
    Case("GCP-LB-010", "below-0.1", G, backend0(GBS, capacity_scaler=0.099), GBS, N, "capacity_scaler 0.099"),
    Case("GCP-LB-010", "at-1.0", G, backend0(GBS, capacity_scaler=1.0), GBS, C),
    Case("GCP-LB-010", "above-1.0", G, backend0(GBS, capacity_scaler=1.001), GBS, N, "capacity_scaler 1.001"),
    Case("GCP-LB-014", "slash-26", R, setv(PROXY_SUBNET, ip_cidr_range="10.0.16.0/26"), PROXY_SUBNET, C),
    Case("GCP-LB-016", "timeout-600", G, setv(GBS, timeout_sec=600), GBS, C),
    Case("GCP-LB-016", "timeout-599", G, setv(GBS, timeout_sec=599), GBS, N, "timeout_sec is 599 s; LLM generations stream for minutes, set >= 600 s"),
    Case("GCP-LB-016", "draining-600", R, setv(RBS, connection_draining_timeout_sec=600), RBS, C),
    Case("GCP-LB-016", "draining-599", R, setv(RBS, connection_draining_timeout_sec=599), RBS, N, "connection_draining_timeout_sec is 599 s"),
    Case("GCP-LB-016", "default-draining", R, setv(RBS, connection_draining_timeout_sec=None), RBS, N, "connection_draining_timeout_sec is 300 s (the default)"),
    Case("GCP-LB-016", "timeout-599-as-string", G, setv(GBS, timeout_sec="599"), GBS, N, "timeout_sec is 599 s"),
    Case("GCP-LB-016", "timeout-token", G, setv(GBS, timeout_sec="${var.timeout}"), GBS, C),
    Case("GCP-LB-026", "delay-0", R, lambda s: res(s, MIG)["auto_healing_policies"].update(initial_delay_sec=0), MIG, C),
    Case("GCP-LB-026", "delay-3600", R, lambda s: res(s, MIG)["auto_healing_policies"].update(initial_delay_sec=3600), MIG, C),
    Case("GCP-LB-026", "delay-3601", R, lambda s: res(s, MIG)["auto_healing_policies"].update(initial_delay_sec=3601), MIG, N, "initial_delay_sec is 3601"),
    Case("GCP-LB-026", "delay-negative", R, lambda s: res(s, MIG)["auto_healing_policies"].update(initial_delay_sec=-1), MIG, N, "initial_delay_sec is -1"),
    Case("GCP-LB-026", "delay-missing", R, lambda s: res(s, MIG)["auto_healing_policies"].pop("initial_delay_sec"), MIG, N, "initial_delay_sec is not set"),
]


def build(case: Case) -> Json:
    stack = case.base()
    if case.mutate is not None:
        case.mutate(stack)
    return stack


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_rule_case(case: Case) -> None:
    stack_json = build(case)
    rule = rule_of(case.rule_id)
    stack = StackJson(stack_json)
    type_, name = case.address.split(".", 1)
    resource = stack.get(type_, name)
    assert resource is not None, f"{case.address} is not in the case's stack"

    result = rule.check(resource, stack)

    assert verdict_of(result) is case.expected, result
    findings = [f for f in check_stack(stack_json, (rule,)) if f.address == case.address]
    if case.expected is Verdict.NON_COMPLIANT:
        assert isinstance(result, NonCompliant)
        assert case.message in result.message
        assert len(findings) == 1
        line = findings[0].line
        assert line.startswith(f"{case.address}: [{case.rule_id} {rule.name}] ")
        assert "\n" not in line
    else:
        assert findings == []


@pytest.mark.parametrize("base", [global_stack, regional_stack], ids=["global", "regional"])
def test_baselines_pass_every_rule(base: Callable[[], Json]) -> None:
    assert check_stack(base(), ALL_RULES) == []


def test_every_rule_has_compliant_and_non_compliant_cases() -> None:
    for rule in ALL_RULES:
        verdicts = {case.expected for case in CASES if case.rule_id == rule.id}
        assert {Verdict.COMPLIANT, Verdict.NON_COMPLIANT} <= verdicts, rule.id


def test_rules_are_registered_one_per_module_in_id_order() -> None:
    ids = [rule.id for rule in ALL_RULES]
    assert ids == [f"GCP-LB-{number:03d}" for number in range(1, len(ids) + 1)]
    assert len({rule.name for rule in ALL_RULES}) == len(ALL_RULES)
    for rule in ALL_RULES:
        module = type(rule).__module__
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", rule.name).lower()
        assert module == f"constructs_lib.validation.{snake}", (rule.name, module)
        assert type(rule).__name__ == rule.name
        assert importlib.import_module(module).__doc__.startswith(f"{rule.id}: ")
        doc = type(rule).__doc__ or ""
        assert "ref. " in doc or "docs/gcp-load-balancing-rules.md" in doc, rule.name


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)
def test_unrelated_resource_is_not_applicable(rule: Rule) -> None:
    stack = StackJson({"resource": {"google_storage_bucket": {"b": {"name": "b"}}}})
    assert rule.check(stack.get("google_storage_bucket", "b"), stack) is Verdict.NOT_APPLICABLE


def test_metadata_keys_are_ignored() -> None:
    stack = StackJson({"resource": {"//": {"x": 1}, "google_compute_firewall": {"//": {}, "f": {"//": META, "name": "f"}}}})
    assert [r.address for r in stack.resources] == ["google_compute_firewall.f"]
    assert "//" not in stack.resources[0].config


def test_resource_address_and_references() -> None:
    resource = Resource("google_compute_backend_service", "global_backend", {})
    assert resource.address == GBS
    assert references("${google_compute_health_check.hc.id}") == [("google_compute_health_check", "hc")]
    assert references("${data.terraform_remote_state.network.outputs.network_self_link}") == []
    assert references(["${element(google_compute_region_instance_group_manager.p.instance_group, 0)}"]) == [
        ("google_compute_region_instance_group_manager", "p")
    ]


def test_group_kinds() -> None:
    stack = StackJson({"resource": {"google_compute_region_network_endpoint_group": {
        "run": {"name": "r"}, "psc": {"network_endpoint_type": "PRIVATE_SERVICE_CONNECT"}}}})
    assert group_kind(MIG_GROUP, stack) is GroupKind.INSTANCE_GROUP
    assert group_kind(REMOTE_US, stack) is GroupKind.UNKNOWN
    assert group_kind("${google_compute_region_network_endpoint_group.run.id}", stack) is GroupKind.SERVERLESS_NEG
    assert group_kind("${google_compute_region_network_endpoint_group.psc.id}", stack) is GroupKind.PSC_NEG
    assert group_kind("${google_compute_region_backend_service.r.id}", stack) is GroupKind.BACKEND_SERVICE
    assert group_kind("projects/p/zones/z/networkEndpointGroups/n", stack) is GroupKind.NEG


def test_a_crashing_rule_is_reported_not_swallowed() -> None:
    class Broken(Rule):
        """Always crashes."""

        id = "GCP-LB-999"
        name = "Broken"

        def check(self, resource: Resource, stack: StackJson) -> Verdict:
            raise KeyError("boom\nsecond line")

    findings = check_stack(regional_stack(), (Broken(),))
    assert findings and all(isinstance(f, Finding) for f in findings)
    assert findings[0].line.startswith(findings[0].address + ": [GCP-LB-999 Broken] rule could not evaluate")
    assert all("\n" not in f.line for f in findings)


def test_check_stacks_reports_every_stack_with_its_name() -> None:
    """The whole app's list: a violation in the first stack does not hide one in the second."""
    broken_global = global_stack()
    broken_global["resource"]["google_compute_backend_service"]["global_backend"]["enable_cdn"] = True
    broken_regional = regional_stack()
    broken_regional["resource"]["google_compute_region_backend_service"]["regional_backend"]["timeout_sec"] = 599

    lines = check_stacks({"global-frontend": broken_global, "region-us-central1": broken_regional}, ALL_RULES)

    assert [line.split(" [")[0] for line in lines] == [f"global-frontend: {GBS}:", f"region-us-central1: {RBS}:"], lines
    assert "[GCP-LB-022 CdnDisabledOnLlmBackends]" in lines[0]
    assert "[GCP-LB-016 BackendTimeoutsCoverLongGenerations] timeout_sec is 599 s" in lines[1]
