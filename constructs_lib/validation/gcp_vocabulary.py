"""What Google Cloud calls things in Terraform JSON: resource types, schemes, provider defaults, backend kinds.

The defaults are those of hashicorp/google 6.x (what the pinned provider
bindings wrap); docs/gcp-load-balancing-rules.md explains the rules behind them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from constructs_lib.validation.terraform_json import Resource, StackJson, blocks, literal, references

GLOBAL_BACKEND_SERVICE = "google_compute_backend_service"
REGION_BACKEND_SERVICE = "google_compute_region_backend_service"
BACKEND_SERVICES = (GLOBAL_BACKEND_SERVICE, REGION_BACKEND_SERVICE)
REGIONAL_FORWARDING_RULE = "google_compute_forwarding_rule"
GLOBAL_FORWARDING_RULE = "google_compute_global_forwarding_rule"
FORWARDING_RULES = (REGIONAL_FORWARDING_RULE, GLOBAL_FORWARDING_RULE)
INSTANCE_TEMPLATES = ("google_compute_instance_template", "google_compute_region_instance_template")
VM_RESOURCES = (*INSTANCE_TEMPLATES, "google_compute_instance")
INSTANCE_GROUP_MANAGERS = ("google_compute_region_instance_group_manager", "google_compute_instance_group_manager")
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTPS", "HTTP2", "H2C"})

DEFAULT_SCHEME = {
    # hashicorp/google 6.x defaults (v8 changes the global ones to EXTERNAL_MANAGED; ref. 2)
    GLOBAL_BACKEND_SERVICE: "EXTERNAL",
    REGION_BACKEND_SERVICE: "INTERNAL",
    REGIONAL_FORWARDING_RULE: "EXTERNAL",
    GLOBAL_FORWARDING_RULE: "EXTERNAL",
}


def scheme_of(resource: Resource) -> str | None:
    """The effective ``load_balancing_scheme``: the provider default when unset, None when a token."""
    value = resource.get("load_balancing_scheme")
    if value is None:
        return DEFAULT_SCHEME.get(resource.type)
    return literal(value)


def is_passthrough(resource: Resource) -> bool | None:
    """A passthrough NLB backend service (INTERNAL, or regional EXTERNAL); None when the scheme is a token."""
    scheme = scheme_of(resource)
    if scheme is None:
        return None
    return scheme == "INTERNAL" or (resource.type == REGION_BACKEND_SERVICE and scheme == "EXTERNAL")


def protocol_of(resource: Resource) -> str | None:
    """A backend service's ``protocol`` (API default HTTP), None when a token."""
    value = resource.get("protocol")
    return "HTTP" if value is None else literal(value)


DEFAULT_BALANCING_MODE = {GLOBAL_BACKEND_SERVICE: "UTILIZATION", REGION_BACKEND_SERVICE: "UTILIZATION"}
"""Provider (6.x) defaults of ``backend.balancing_mode``: UTILIZATION, even for INTERNAL, which rejects it."""


def balancing_mode_of(resource: Resource, backend: Mapping[str, Any]) -> str | None:
    """A backend's effective balancing mode (provider default when unset), None when a token."""
    value = backend.get("balancing_mode")
    if value is None:
        return DEFAULT_BALANCING_MODE.get(resource.type)
    return literal(value)


def backends_of(resource: Resource) -> list[Mapping[str, Any]]:
    return blocks(resource.get("backend"))


class GroupKind(enum.Enum):
    """What a backend's ``group`` is (see ``group_kind``)."""

    INSTANCE_GROUP = "instance group"
    NEG = "network endpoint group"
    SERVERLESS_NEG = "serverless NEG"
    INTERNET_NEG = "internet NEG"
    PSC_NEG = "Private Service Connect NEG"
    BACKEND_SERVICE = "backend service"
    UNKNOWN = "unknown"


_NEG_KINDS = (GroupKind.NEG, GroupKind.SERVERLESS_NEG, GroupKind.INTERNET_NEG, GroupKind.PSC_NEG)
NO_BALANCING_MODE_KINDS = frozenset({GroupKind.SERVERLESS_NEG, GroupKind.INTERNET_NEG, GroupKind.PSC_NEG})
"""NEG kinds that take no balancing mode or capacity_scaler (ref. 7, 13)."""
_REGION_NEG_KINDS = {
    "SERVERLESS": GroupKind.SERVERLESS_NEG,  # the provider default of a region NEG
    "PRIVATE_SERVICE_CONNECT": GroupKind.PSC_NEG,
    "INTERNET_IP_PORT": GroupKind.INTERNET_NEG,
    "INTERNET_FQDN_PORT": GroupKind.INTERNET_NEG,
}


def group_kind(group: Any, stack: StackJson) -> GroupKind:
    """What a backend's ``group`` points at, from its reference or URL; UNKNOWN when it cannot be told
    (e.g. a URL read from another stack's remote state)."""
    for type_, name in references(group):
        if type_ in INSTANCE_GROUP_MANAGERS or type_ == "google_compute_instance_group":
            return GroupKind.INSTANCE_GROUP
        if type_ == "google_compute_network_endpoint_group":
            return GroupKind.NEG
        if type_ == "google_compute_global_network_endpoint_group":
            return GroupKind.INTERNET_NEG
        if type_ == "google_compute_region_network_endpoint_group":
            neg = stack.get(type_, name)
            endpoint_type = literal(neg.get("network_endpoint_type", "SERVERLESS")) if neg is not None else None
            return _REGION_NEG_KINDS.get(endpoint_type or "", GroupKind.NEG)
        if type_ in BACKEND_SERVICES or type_ == "google_compute_backend_bucket":
            return GroupKind.BACKEND_SERVICE
    url = literal(group)
    if url is not None:
        if "/instanceGroups/" in url:
            return GroupKind.INSTANCE_GROUP
        if "/networkEndpointGroups/" in url:
            return GroupKind.NEG
        if "/backendServices/" in url or "/backendBuckets/" in url:
            return GroupKind.BACKEND_SERVICE
    return GroupKind.UNKNOWN


def is_neg(kind: GroupKind) -> bool:
    return kind in _NEG_KINDS


def describe_backend(index: int, backend: Mapping[str, Any]) -> str:
    group = backend.get("group")
    return f"backend[{index}] (group {group})" if group is not None else f"backend[{index}]"
