"""GCP-LB-027: a MIG managed by an autoscaler leaves ``target_size`` unset."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import INSTANCE_GROUP_MANAGERS
from constructs_lib.validation.terraform_json import Resource, StackJson

AUTOSCALERS = ("google_compute_region_autoscaler", "google_compute_autoscaler")


class AutoscaledMigHasNoTargetSize(Rule):
    """Leave ``target_size`` unset when an autoscaler manages the group (docs/gcp-load-balancing-rules.md, topology choices).

    Otherwise every apply resets the group to ``target_size``, fighting the
    autoscaler: serving GPU VMs are deleted mid-generation, or scale-out is undone.
    """

    id = "GCP-LB-027"
    name = "AutoscaledMigHasNoTargetSize"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in INSTANCE_GROUP_MANAGERS:
            return Verdict.NOT_APPLICABLE
        autoscalers = [
            autoscaler
            for autoscaler in stack.of_type(*AUTOSCALERS)
            if any(target.address == resource.address for target in stack.resolve(autoscaler.get("target")))
        ]
        if not autoscalers:
            return Verdict.NOT_APPLICABLE
        if resource.get("target_size") is not None:
            return NonCompliant(
                f"sets target_size although {autoscalers[0].address} manages its size; every apply would reset "
                "the group and fight the autoscaler"
            )
        return Verdict.COMPLIANT
