"""GCP-LB-024: Spot and preemptible VMs set ``automatic_restart = false``."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import VM_RESOURCES
from constructs_lib.validation.gpu_vm_terminates_on_host_maintenance import scheduling
from constructs_lib.validation.terraform_json import Resource, StackJson, literal


class SpotVmNoAutomaticRestart(Rule):
    """Spot/preemptible VMs need ``scheduling.automatic_restart = false`` (ref. 28).

    ``automatic_restart`` defaults to true, which the API rejects for Spot and
    preemptible VMs (the vm module's ``instance_template`` sets it the same way).
    """

    id = "GCP-LB-024"
    name = "SpotVmNoAutomaticRestart"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in VM_RESOURCES:
            return Verdict.NOT_APPLICABLE
        settings = scheduling(resource)
        spot = literal(settings.get("provisioning_model")) == "SPOT"
        preemptible = settings.get("preemptible") in (True, "true")
        if not (spot or preemptible):
            return Verdict.NOT_APPLICABLE
        restart = settings.get("automatic_restart")
        if restart in (False, "false"):
            return Verdict.COMPLIANT
        if literal(restart) is None and restart is not None and not isinstance(restart, bool):
            return Verdict.NOT_APPLICABLE  # a token
        kind = "Spot" if spot else "preemptible"
        shown = "unset (true)" if restart is None else str(restart).lower()
        return NonCompliant(f"is a {kind} VM but scheduling.automatic_restart is {shown}; set it to false (ref. 28)")
