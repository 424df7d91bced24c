"""The ``region-<region>`` stack: one region's subnets, NAT, GPU serving pool and entry point.

It reads the VPC from the ``network`` stack's remote state and exports its
instance group for the ``global-frontend`` stack. Its content depends only on
its own region's settings, so a change to one region leaves the others alone.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import DeploymentConfig, Region
from constructs_lib.network import RegionalNetwork
from constructs_lib.regional_entry_point import RegionalEntryPoint
from constructs_lib.serving_pool import ServingPool
from constructs_lib.state_backends import remote_state
from stacks.base import DeploymentStack


class RegionalStack(DeploymentStack):
    """A region's serving capacity and its own load-balancer entry point."""

    def __init__(self, scope: Construct, *, config: DeploymentConfig, region: Region) -> None:
        super().__init__(scope, naming.region_stack(region.region), config=config, region=region.region)
        network_state = remote_state(self, config.state, producer=naming.NETWORK_STACK)
        network = network_state.get_string("network_self_link")
        network_tag = network_state.get_string("network_tag")

        subnets = RegionalNetwork(
            self,
            "subnets",
            name_prefix=config.name,
            region=region.region,
            network=network,
            serving_range=region.serving_range,
        )
        pool = ServingPool(
            self,
            "serving_pool",
            name_prefix=config.name,
            region=region,
            server=config.server,
            subnetwork=subnets.serving_subnet_id,
            service_account_email=network_state.get_string("service_account_email"),
            network_tag=network_tag,
        )
        entry_point = RegionalEntryPoint(
            self,
            "entry_point",
            name_prefix=config.name,
            region=region.region,
            kind=region.entry_point,
            network=network,
            serving_subnetwork=subnets.serving_subnet_id,
            proxy_only_range=region.proxy_only_range,
            instance_group=pool.instance_group,
            network_tag=network_tag,
            server=config.server,
            frontend=config.frontend,
            max_rate_per_instance=region.rate_per_instance(config.frontend),
            domain=region.entry_domain,
        )

        self.export("instance_group", pool.instance_group, "The serving pool, a backend of the global backend service")
        self.export("named_port", pool.named_port, "The serving pool's named port (backend services' port_name)")
        self.export("region", region.region, "The region this stack serves")
        self.export("entry_point_address", entry_point.address, f"The regional {region.entry_point} endpoint's IP")
        if entry_point.dns_authorization_record is not None:
            self.export(
                "dns_authorization_record",
                entry_point.dns_authorization_record,
                f"Publish this CNAME (name type data) so {region.entry_domain}'s certificate is issued",
            )
