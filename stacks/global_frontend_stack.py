"""The ``global-frontend`` stack: one anycast HTTPS endpoint over every region.

Each region's instance group is read from that region's remote state (named
outputs, not cdktf's automatic cross-stack references), so this stack plans on
its own in Terraform Cloud; its backend list and capacities come from the
deployment file.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import DeploymentConfig
from constructs_lib.global_frontend import GlobalBackend, HttpsEndpoint, RegionalBackend
from constructs_lib.security import EdgeSecurityPolicy, ModernTlsPolicy
from constructs_lib.state_backends import remote_state
from stacks.base import DeploymentStack


class GlobalFrontendStack(DeploymentStack):
    """The global load balancer and its edge security."""

    def __init__(self, scope: Construct, *, config: DeploymentConfig) -> None:
        super().__init__(scope, naming.GLOBAL_FRONTEND_STACK, config=config)
        backends = tuple(
            RegionalBackend(
                region=region.region,
                instance_group=remote_state(
                    self, config.state, producer=naming.region_stack(region.region)
                ).get_string("instance_group"),
                capacity_scaler=region.capacity_scaler,
                max_rate_per_instance=region.rate_per_instance(config.frontend),
            )
            for region in config.serving_regions
        )
        edge_policy = EdgeSecurityPolicy(self, "edge_policy", name_prefix=config.name, rate_limit=config.frontend.rate_limit)
        tls_policy = ModernTlsPolicy(self, "tls_policy", name_prefix=config.name, profile=config.frontend.ssl_profile)
        global_backend = GlobalBackend(
            self,
            "global_backend",
            name_prefix=config.name,
            backends=backends,
            server=config.server,
            frontend=config.frontend,
            security_policy=edge_policy.id,
        )
        endpoint = HttpsEndpoint(
            self,
            "endpoint",
            name_prefix=config.name,
            domains=config.domains,
            backend_service=global_backend.id,
            ssl_policy=tls_policy.id,
        )
        self.export("ip_address", endpoint.ip_address, "The anycast IP: point the domains' A records here")
