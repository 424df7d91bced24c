"""GCP-LB-001: every backend service and forwarding rule sets ``load_balancing_scheme`` itself."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    DEFAULT_SCHEME,
    FORWARDING_RULES,
    REGION_BACKEND_SERVICE,
)
from constructs_lib.validation.terraform_json import Resource, StackJson


class LoadBalancingSchemeExplicit(Rule):
    """Backend services and forwarding rules set ``load_balancing_scheme`` explicitly (ref. 2).

    The defaults differ per resource (a region backend service defaults to
    INTERNAL, and that field is immutable: a wrong default means destroy and
    recreate) and change between provider majors (v8 moves the global backend
    service and global forwarding rule from EXTERNAL to EXTERNAL_MANAGED), so an
    unset scheme silently changes meaning on a provider upgrade.
    """

    id = "GCP-LB-001"
    name = "LoadBalancingSchemeExplicit"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in (*BACKEND_SERVICES, *FORWARDING_RULES):
            return Verdict.NOT_APPLICABLE
        if resource.get("load_balancing_scheme") is None:
            why = (
                "which is immutable once created"
                if resource.type == REGION_BACKEND_SERVICE
                else "which differs per resource and changes between provider majors"
            )
            return NonCompliant(
                f"load_balancing_scheme is not set, so it takes the provider default {DEFAULT_SCHEME[resource.type]}, "
                f"{why}; set it explicitly (ref. 2)"
            )
        return Verdict.COMPLIANT
