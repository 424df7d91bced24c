"""GCP-LB-018: ``locality_lb_policy`` only where the scheme supports it, and compatible with session affinity."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    GLOBAL_BACKEND_SERVICE,
    REGION_BACKEND_SERVICE,
    scheme_of,
)
from constructs_lib.validation.terraform_json import Resource, StackJson, literal

MAGLEV_POLICIES = ("MAGLEV", "WEIGHTED_MAGLEV")
AFFINITY_POLICIES = ("MAGLEV", "WEIGHTED_MAGLEV", "RING_HASH")


class LocalityLbPolicySchemeSupported(Rule):
    """``locality_lb_policy`` per scheme (ref. 23).

    - Not on the classic ALB (global EXTERNAL) nor internal passthrough (INTERNAL).
    - The external passthrough NLB (regional EXTERNAL) takes only MAGLEV or
      WEIGHTED_MAGLEV, and WEIGHTED_MAGLEV exists only there.
    - Session affinity only works with MAGLEV, WEIGHTED_MAGLEV or RING_HASH.
    """

    id = "GCP-LB-018"
    name = "LocalityLbPolicySchemeSupported"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES or resource.get("locality_lb_policy") is None:
            return Verdict.NOT_APPLICABLE
        policy = literal(resource.get("locality_lb_policy"))
        scheme = scheme_of(resource)
        if policy is None or scheme is None:
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        regional_external = resource.type == REGION_BACKEND_SERVICE and scheme == "EXTERNAL"
        if (resource.type == GLOBAL_BACKEND_SERVICE and scheme == "EXTERNAL") or scheme == "INTERNAL":
            problems.append(
                f"sets locality_lb_policy {policy}, which {scheme} backend services do not support (ref. 23)"
            )
        elif regional_external and policy not in MAGLEV_POLICIES:
            problems.append(
                f"locality_lb_policy {policy}: a regional EXTERNAL backend service takes only MAGLEV or "
                "WEIGHTED_MAGLEV (ref. 23)"
            )
        elif not regional_external and policy == "WEIGHTED_MAGLEV":
            problems.append(
                "WEIGHTED_MAGLEV is only for regional EXTERNAL (passthrough NLB) backend services (ref. 23)"
            )
        affinity = literal(resource.get("session_affinity"))
        if affinity not in (None, "NONE") and policy not in AFFINITY_POLICIES:
            problems.append(
                f"session_affinity {affinity} has no effect with locality_lb_policy {policy}; "
                "use RING_HASH (or MAGLEV) (ref. 23)"
            )
        return non_compliant_if(problems)
