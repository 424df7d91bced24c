"""Every name the app gives: stacks, GCP resources, Terraform addresses, address ranges.

Names are chosen here on purpose rather than derived from construct nesting, so
that refactoring a construct never renames a GCP resource or moves a Terraform
address (which Terraform would plan as destroy-and-create), and so that one
region's names never depend on which other regions exist.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from constructs_lib import gcp_regions

NETWORK_STACK = "network"
GLOBAL_FRONTEND_STACK = "global-frontend"
HEALTH_CHECK_SOURCE_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
"""Google's health checkers and Google Front Ends (global external ALB data traffic).

130.211.0.0/22 was dropped from Google's docs in July 2026 but the provider's
``google_netblock_ip_ranges`` still returns it; both are allowed until that is settled.
"""
NAMED_PORT = "http"
"""The instance groups' named port; every backend service's ``port_name``."""

_GCP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def region_stack(region: str) -> str:
    """``region-<gcp-region>``: the stack (and Terraform Cloud workspace suffix) of one region."""
    return f"region-{region}"


def resource_name(prefix: str, *parts: str) -> str:
    """A GCP resource name ``<prefix>-<parts...>``, checked against GCP's naming rule."""
    name = "-".join((prefix, *parts))
    if not _GCP_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid GCP resource name (RFC 1035, at most 63 characters)")
    return name


def template_name_prefix(prefix: str, region: str) -> str:
    """An instance template's ``name_prefix`` (at most 37 characters; Terraform adds a suffix).

    Templates are immutable, so each change creates a new one before the old is destroyed.
    """
    return f"{prefix}-{region}"[:36].rstrip("-") + "-"


def network_tag(prefix: str) -> str:
    """The tag on every inference VM; firewall rules admit traffic to it."""
    return resource_name(prefix, "inference")


def service_account_id(prefix: str) -> str:
    """The inference VMs' service account id (6-30 characters)."""
    return resource_name(prefix, "inference")


def certificate_name(prefix: str, domains: tuple[str, ...]) -> str:
    """A managed certificate's name, which changes with its domains.

    Managed certificates are immutable; a new name lets Terraform create the
    replacement before it destroys the certificate the proxy still uses.
    """
    digest = hashlib.sha256(",".join(domains).encode()).hexdigest()[:8]
    return resource_name(prefix, "cert", digest)


def default_serving_cidr(region: str) -> str:
    """The VM subnet of a region: ``10.<n>.0.0/20``, n fixed by the region, not the config order."""
    return f"10.{gcp_regions.INDEX[region]}.0.0/20"


def default_proxy_only_cidr(region: str) -> str:
    """The region's REGIONAL_MANAGED_PROXY subnet for Envoy-based load balancers: ``10.<n>.16.0/23``."""
    return f"10.{gcp_regions.INDEX[region]}.16.0/23"


def overlapping(cidrs: dict[str, str]) -> tuple[str, str] | None:
    """The first pair of labels whose ranges overlap, or None."""
    networks = [(label, ipaddress.ip_network(cidr)) for label, cidr in cidrs.items()]
    for position, (label, network) in enumerate(networks):
        for other_label, other in networks[position + 1 :]:
            if network.overlaps(other):
                return label, other_label
    return None
