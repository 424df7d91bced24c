"""The VPC and each region's share of it: subnets, Cloud Router and Cloud NAT.

The VPC is global and lives in the ``network`` stack; a region's subnets and NAT
live in that region's stack, so adding a region never touches the VPC's state.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.toolkit import TerraformResourceLifecycle
from constructs_lib.toolkit.google import (
    ComputeNetwork,
    ComputeRouter,
    ComputeRouterNat,
    ComputeRouterNatSubnetwork,
    ComputeSubnetwork,
)


class ServingNetwork(Construct):
    """A custom-mode VPC, protected from accidental destroy.

    Custom mode because every subnet is declared by a regional stack; global
    routing so Cloud Routers see all regions' routes.
    """

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str) -> None:
        super().__init__(scope, id_)
        vpc = ComputeNetwork(
            self,
            "vpc",
            name=naming.resource_name(name_prefix, "vpc"),
            auto_create_subnetworks=False,
            routing_mode="GLOBAL",
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        vpc.override_logical_id("vpc")
        self.self_link: str = vpc.self_link


class RegionalNetwork(Construct):
    """A region's VM subnet with Private Google Access and flow logs, and Cloud NAT.

    The GPU VMs have no public IPs; NAT lets them pull the server image and
    model weights, and Private Google Access reaches Google APIs without NAT.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        region: str,
        network: str,
        serving_range: str,
    ) -> None:
        super().__init__(scope, id_)
        serving_subnet = ComputeSubnetwork(
            self,
            "serving_subnet",
            name=naming.resource_name(name_prefix, region, "serving"),
            region=region,
            network=network,
            ip_cidr_range=serving_range,
            private_ip_google_access=True,
            log_config={
                "aggregation_interval": "INTERVAL_5_MIN",
                "flow_sampling": 0.5,
                "metadata": "INCLUDE_ALL_METADATA",
            },
        )
        serving_subnet.override_logical_id("serving_subnet")
        router = ComputeRouter(
            self,
            "router",
            name=naming.resource_name(name_prefix, region, "router"),
            region=region,
            network=network,
        )
        router.override_logical_id("nat_router")
        nat = ComputeRouterNat(
            self,
            "nat",
            name=naming.resource_name(name_prefix, region, "nat"),
            region=region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetwork=[
                ComputeRouterNatSubnetwork(
                    name=serving_subnet.self_link,
                    source_ip_ranges_to_nat=["ALL_IP_RANGES"],
                )
            ],
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
        )
        nat.override_logical_id("nat")
        self.serving_subnet_id: str = serving_subnet.id
