"""GCP-LB-007: a backend service's health check has the scope its load balancer type needs."""

from __future__ import annotations

import re
from typing import Any

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import GLOBAL_BACKEND_SERVICE, REGION_BACKEND_SERVICE, scheme_of
from constructs_lib.validation.terraform_json import Resource, StackJson, literal, references

GLOBAL_HEALTH_CHECKS = (
    "google_compute_health_check",
    "google_compute_http_health_check",
    "google_compute_https_health_check",
)
REGION_HEALTH_CHECK = "google_compute_region_health_check"
_REGIONAL_URL = re.compile(r"/regions/(?P<region>[^/]+)/healthChecks/")
_GLOBAL_URL = re.compile(r"/global/(healthChecks|httpHealthChecks|httpsHealthChecks)/")


def health_check_scope(value: Any, stack: StackJson) -> tuple[str | None, str | None]:
    """("global" | "regional" | None, the regional check's region if known) of one health_checks entry."""
    for type_, name in references(value):
        if type_ in GLOBAL_HEALTH_CHECKS:
            return "global", None
        if type_ == REGION_HEALTH_CHECK:
            check = stack.get(type_, name)
            return "regional", stack.region_of(check) if check is not None else None
    url = literal(value)
    if url is not None:
        if match := _REGIONAL_URL.search(url):
            return "regional", match["region"]
        if _GLOBAL_URL.search(url):
            return "global", None
    return None, None


class HealthCheckScopeMatchesScheme(Rule):
    """Health-check scope per load balancer type (ref. 12).

    Global backend services (global external ALB, classic ALB, cross-region
    internal ALB) take a global ``google_compute_health_check``; regional
    external/internal ALBs (region backend service, EXTERNAL_MANAGED or
    INTERNAL_MANAGED) and the external passthrough NLB take a
    ``google_compute_region_health_check`` in their own region; the internal
    passthrough NLB (INTERNAL) takes either.
    """

    id = "GCP-LB-007"
    name = "HealthCheckScopeMatchesScheme"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in (GLOBAL_BACKEND_SERVICE, REGION_BACKEND_SERVICE):
            return Verdict.NOT_APPLICABLE
        checks = resource.get("health_checks")
        if not isinstance(checks, list) or not checks:
            return Verdict.NOT_APPLICABLE  # how many there must be is GCP-LB-008's question
        scheme = scheme_of(resource)
        if resource.type == GLOBAL_BACKEND_SERVICE:
            wanted = "global"
        elif scheme is None or scheme == "INTERNAL":
            return Verdict.NOT_APPLICABLE
        else:
            wanted = "regional"
        region = stack.region_of(resource) if wanted == "regional" else None
        problems: list[str] = []
        for check in checks:
            scope, check_region = health_check_scope(check, stack)
            if scope is not None and scope != wanted:
                kind = "google_compute_health_check" if wanted == "global" else REGION_HEALTH_CHECK
                problems.append(
                    f"health check {check} is {scope}, but a {resource.type} with scheme {scheme} "
                    f"needs a {wanted} one ({kind}) (ref. 12)"
                )
            elif scope == "regional" and region and check_region and check_region != region:
                problems.append(f"health check {check} is in {check_region}, the backend service in {region} (ref. 12)")
        return non_compliant_if(problems)
