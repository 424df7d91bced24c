"""GCP-LB-023: GPU VMs (templates and instances) stop, not live-migrate, on host maintenance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import VM_RESOURCES
from constructs_lib.validation.terraform_json import Resource, StackJson, blocks, literal, number

GPU_MACHINE_FAMILIES = ("a2-", "a3-", "a4-", "a4x-", "g2-", "g4-")
"""Accelerator-optimized machine types that bundle their GPUs."""


def gpu_reason(resource: Resource) -> str | None:
    """Why ``resource`` is a GPU VM (machine type family or guest_accelerator), None if it is not."""
    machine_type = literal(resource.get("machine_type"))
    if machine_type is not None:
        short = machine_type.rsplit("/", 1)[-1]
        if short.startswith(GPU_MACHINE_FAMILIES):
            return f"machine type {short}"
    for accelerator in blocks(resource.get("guest_accelerator")):
        count = number(accelerator.get("count"))
        if count is None or count > 0:
            return f"guest_accelerator {accelerator.get('type')}"
    return None


def scheduling(resource: Resource) -> Mapping[str, Any]:
    found = blocks(resource.get("scheduling"))
    return found[0] if found else {}


class GpuVmTerminatesOnHostMaintenance(Rule):
    """GPU VMs cannot live-migrate: ``scheduling.on_host_maintenance = "TERMINATE"`` (ref. 28).

    The default is MIGRATE, which the API rejects for VMs with GPUs (machine
    types a2-/a3-/a4-/g2-/g4- bundle theirs; others attach them through
    ``guest_accelerator``).
    """

    id = "GCP-LB-023"
    name = "GpuVmTerminatesOnHostMaintenance"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in VM_RESOURCES:
            return Verdict.NOT_APPLICABLE
        reason = gpu_reason(resource)
        if reason is None:
            return Verdict.NOT_APPLICABLE
        raw = scheduling(resource).get("on_host_maintenance")
        value = literal(raw)
        if raw is None or (value is not None and value != "TERMINATE"):
            shown = "unset (MIGRATE)" if raw is None else value
            return NonCompliant(
                f"is a GPU VM ({reason}) but scheduling.on_host_maintenance is {shown}; GPU VMs cannot "
                "live-migrate, set TERMINATE (ref. 28)"
            )
        return Verdict.COMPLIANT
