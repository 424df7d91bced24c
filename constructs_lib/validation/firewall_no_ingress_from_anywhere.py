"""GCP-LB-028: no firewall rule allows ingress from anywhere (0.0.0.0/0 or ::/0)."""

from __future__ import annotations

import ipaddress

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.terraform_json import Resource, StackJson, blocks, literal


def covers_everything(value: object) -> bool:
    """0.0.0.0/0, ::/0 or any other way of writing a /0."""
    cidr = literal(value)
    if cidr is None:
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


class FirewallNoIngressFromAnywhere(Rule):
    """Firewall rules admit only Google's health-check/front-end ranges and proxy-only subnets (ref. 14, 15).

    The servers are reached through the load balancers: GFEs and health checkers
    (35.191.0.0/16, 130.211.0.0/22) and regional proxies (the proxy-only subnet).
    An allow rule from 0.0.0.0/0 or ::/0 exposes the unauthenticated inference
    port to the internet. An INGRESS allow rule with no source at all defaults
    to 0.0.0.0/0 and is flagged too.
    """

    id = "GCP-LB-028"
    name = "FirewallNoIngressFromAnywhere"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type != "google_compute_firewall":
            return Verdict.NOT_APPLICABLE
        direction = literal(resource.get("direction")) or "INGRESS"
        if direction != "INGRESS" or not blocks(resource.get("allow")) or resource.get("disabled") is True:
            return Verdict.NOT_APPLICABLE
        ranges = resource.get("source_ranges") or []
        open_ranges = [value for value in ranges if covers_everything(value)]
        if open_ranges:
            return NonCompliant(
                f"allows ingress from {', '.join(open_ranges)}; admit only the health-check/front-end ranges "
                "and proxy-only subnets (ref. 14, 15)"
            )
        if not ranges and not resource.get("source_tags") and not resource.get("source_service_accounts"):
            return NonCompliant(
                "allows ingress with no source_ranges, source_tags or source_service_accounts, which GCP treats "
                "as 0.0.0.0/0 (ref. 14)"
            )
        return Verdict.COMPLIANT
