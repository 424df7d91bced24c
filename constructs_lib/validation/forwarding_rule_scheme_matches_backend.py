"""GCP-LB-003: a forwarding rule's scheme matches the backend services its proxy/URL map leads to."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES, FORWARDING_RULES, scheme_of
from constructs_lib.validation.terraform_json import Resource, StackJson

URL_MAPS = ("google_compute_url_map", "google_compute_region_url_map")
PROXIES = (
    "google_compute_target_http_proxy",
    "google_compute_target_https_proxy",
    "google_compute_region_target_http_proxy",
    "google_compute_region_target_https_proxy",
    "google_compute_target_tcp_proxy",
    "google_compute_target_ssl_proxy",
    "google_compute_region_target_tcp_proxy",
    "google_compute_target_grpc_proxy",
)


def backend_services_behind(forwarding_rule: Resource, stack: StackJson) -> list[Resource]:
    """The backend services of this stack a forwarding rule sends traffic to (target → URL map → services)."""
    found: list[Resource] = []
    frontier = stack.resolve(forwarding_rule.get("backend_service")) + stack.resolve(forwarding_rule.get("target"))
    seen: set[str] = set()
    while frontier:
        current = frontier.pop(0)
        if current.address in seen:
            continue
        seen.add(current.address)
        if current.type in BACKEND_SERVICES:
            found.append(current)
        elif current.type in PROXIES:
            frontier.extend(stack.resolve(current.get("url_map")) + stack.resolve(current.get("backend_service")))
        elif current.type in URL_MAPS:
            frontier.extend(stack.resolve(dict(current.config)))
    return found


class ForwardingRuleSchemeMatchesBackend(Rule):
    """Forwarding rule, URL map and backend service schemes must match (ref. 2).

    "A backend service created for one type of load balancer cannot be used
    with another" (ref. 1): an EXTERNAL_MANAGED forwarding rule in front of an
    EXTERNAL (classic) backend service fails at apply. Only backend services in
    the same stack can be followed; others are not applicable.
    """

    id = "GCP-LB-003"
    name = "ForwardingRuleSchemeMatchesBackend"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in FORWARDING_RULES:
            return Verdict.NOT_APPLICABLE
        scheme = scheme_of(resource)
        services = backend_services_behind(resource, stack)
        if scheme is None or not services:
            return Verdict.NOT_APPLICABLE
        mismatched = [
            f"{service.address} ({scheme_of(service)})"
            for service in services
            if scheme_of(service) is not None and scheme_of(service) != scheme
        ]
        if mismatched:
            return NonCompliant(
                f"load_balancing_scheme {scheme} does not match the backend service(s) it leads to: "
                f"{', '.join(mismatched)} (ref. 2)"
            )
        return Verdict.COMPLIANT
