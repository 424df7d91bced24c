"""GCP-LB-017: ``outlier_detection`` only on load balancers that support it (not classic or passthrough)."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES, scheme_of
from constructs_lib.validation.terraform_json import Resource, StackJson

UNSUPPORTED = ("EXTERNAL", "INTERNAL")


class OutlierDetectionSchemeSupported(Rule):
    """``outlier_detection`` per scheme (ref. 22).

    Supported by the Envoy-based load balancers (global EXTERNAL_MANAGED,
    INTERNAL_SELF_MANAGED, regional INTERNAL_MANAGED, and likely regional
    EXTERNAL_MANAGED); not by the classic ALB (EXTERNAL) or passthrough NLBs,
    where it would silently do nothing (lb-http gates it the same way).
    """

    id = "GCP-LB-017"
    name = "OutlierDetectionSchemeSupported"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES or not resource.get("outlier_detection"):
            return Verdict.NOT_APPLICABLE
        scheme = scheme_of(resource)
        if scheme in UNSUPPORTED:
            return NonCompliant(
                f"sets outlier_detection, which {scheme} backend services do not support; "
                "use EXTERNAL_MANAGED (or an *_MANAGED scheme) (ref. 22)"
            )
        return Verdict.COMPLIANT
