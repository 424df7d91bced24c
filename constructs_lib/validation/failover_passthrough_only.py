"""GCP-LB-020: ``failover_policy`` and ``backend.failover`` only on passthrough NLB backend services."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES, backends_of, describe_backend, is_passthrough
from constructs_lib.validation.terraform_json import Resource, StackJson


class FailoverPassthroughOnly(Rule):
    """Failover policies exist only for passthrough NLBs (INTERNAL, regional EXTERNAL) (ref. 25).

    Application Load Balancers have no failover policy: the global ALB shifts
    traffic across regions on health and capacity (drain a region with
    ``capacity_scaler`` 0 instead).
    """

    id = "GCP-LB-020"
    name = "FailoverPassthroughOnly"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        backends = backends_of(resource)
        uses = [describe_backend(i, b) for i, b in enumerate(backends) if b.get("failover") is True]
        if resource.get("failover_policy"):
            uses.insert(0, "failover_policy")
        if not uses:
            return Verdict.NOT_APPLICABLE
        if is_passthrough(resource) is False:
            return non_compliant_if(
                [
                    f"sets failover ({', '.join(uses)}), which only passthrough NLBs support; "
                    "Application Load Balancers fail over on health and capacity (ref. 25)"
                ]
            )
        return Verdict.COMPLIANT
