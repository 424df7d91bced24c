"""GCP-LB-025: inference VMs have no public IP (no ``access_config`` on any network interface)."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import VM_RESOURCES
from constructs_lib.validation.terraform_json import Resource, StackJson, blocks


class VmHasNoPublicIp(Rule):
    """GPU VMs get no public IPs; egress goes through Cloud NAT (docs/gcp-load-balancing-rules.md, topology choices).

    An ``access_config`` (or ``ipv6_access_config``) block on a network interface
    gives every VM an external address, reachable around the load balancer,
    Cloud Armor and the firewall's intent. Traffic reaches the servers only
    through the load balancers.
    """

    id = "GCP-LB-025"
    name = "VmHasNoPublicIp"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in VM_RESOURCES:
            return Verdict.NOT_APPLICABLE
        problems = [
            f"network_interface[{index}] has {field}, which gives the VM an external IP; "
            "leave it out and use Cloud NAT for egress"
            for index, interface in enumerate(blocks(resource.get("network_interface")))
            for field in ("access_config", "ipv6_access_config")
            if interface.get(field) not in (None, [], {})
        ]
        return non_compliant_if(problems)
