"""GCP-LB-002: a backend service or forwarding rule uses a scheme its resource type accepts."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import (
    GLOBAL_BACKEND_SERVICE,
    GLOBAL_FORWARDING_RULE,
    REGION_BACKEND_SERVICE,
    REGIONAL_FORWARDING_RULE,
    scheme_of,
)
from constructs_lib.validation.terraform_json import Resource, StackJson

SUPPORTED = {
    GLOBAL_BACKEND_SERVICE: ("EXTERNAL", "EXTERNAL_MANAGED", "INTERNAL_MANAGED", "INTERNAL_SELF_MANAGED"),
    REGION_BACKEND_SERVICE: ("INTERNAL", "EXTERNAL", "EXTERNAL_MANAGED", "INTERNAL_MANAGED"),
    # "" is how a Private Service Connect forwarding rule says "no load balancer"
    GLOBAL_FORWARDING_RULE: ("EXTERNAL", "EXTERNAL_MANAGED", "INTERNAL_MANAGED", "INTERNAL_SELF_MANAGED", ""),
    REGIONAL_FORWARDING_RULE: ("EXTERNAL", "EXTERNAL_MANAGED", "INTERNAL", "INTERNAL_MANAGED", ""),
}


class LoadBalancingSchemeSupported(Rule):
    """The scheme is one the resource type accepts (ref. 1).

    A global backend service has no INTERNAL (internal passthrough is regional
    only), a region backend service has no INTERNAL_SELF_MANAGED; the API
    rejects the combination at apply time, after the plan looked fine.
    """

    id = "GCP-LB-002"
    name = "LoadBalancingSchemeSupported"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        allowed = SUPPORTED.get(resource.type)
        if allowed is None:
            return Verdict.NOT_APPLICABLE
        scheme = scheme_of(resource)
        if scheme is None:  # a token: cannot be known at synth
            return Verdict.NOT_APPLICABLE
        if scheme not in allowed:
            shown = ", ".join(value or '""' for value in allowed)
            return NonCompliant(
                f"load_balancing_scheme {scheme!r} is not accepted by {resource.type} (allowed: {shown}) (ref. 1)"
            )
        return Verdict.COMPLIANT
