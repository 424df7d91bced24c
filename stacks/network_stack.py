"""The ``network`` stack: the project's APIs, the VPC, the health-check firewall rule, the servers' identity.

Nothing here depends on which regions exist, so adding or removing a region
never changes this stack.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import DeploymentConfig, TfcState
from constructs_lib.network import ServingNetwork
from constructs_lib.project_services import ProjectServices, services_for
from constructs_lib.security import InferenceIdentity, ServingPortFirewall
from constructs_lib.toolkit import TerraformResource
from stacks.base import DeploymentStack


class NetworkStack(DeploymentStack):
    """VPC-global resources every region builds on."""

    def __init__(self, scope: Construct, *, config: DeploymentConfig) -> None:
        super().__init__(scope, naming.NETWORK_STACK, config=config)
        network = ServingNetwork(self, "network", name_prefix=config.name)
        ServingPortFirewall(
            self,
            "allow_health_checks",
            name=naming.resource_name(config.name, "allow-health-checks"),
            network=network.self_link,
            source_ranges=naming.HEALTH_CHECK_SOURCE_RANGES,
            target_tag=naming.network_tag(config.name),
            port=config.server.port,
            description="Google health checkers and front ends to the inference servers",
        )
        identity = InferenceIdentity(
            self,
            "identity",
            name_prefix=config.name,
            project_id=config.project_id,
            secret_ids=config.secret_ids,
            weights_bucket=config.server.weights_bucket,
            image_repository=config.server.artifact_repository,
        )

        self.export("network_self_link", network.self_link, "The VPC every regional stack attaches to")
        self.export("network_tag", naming.network_tag(config.name), "Tag the firewall rules admit traffic to")
        self.export("service_account_email", identity.email, "Identity of the inference VMs")

        if not isinstance(config.state, TfcState):
            # With Terraform Cloud the bootstrap enables the APIs (it needs IAM and STS first).
            self._enable_apis_first(config)

    def _enable_apis_first(self, config: DeploymentConfig) -> None:
        """Own the project's APIs, and make every other resource of this stack wait for them."""
        services = ProjectServices(self, "apis", project_id=config.project_id, services=services_for(config))
        for child in self.node.find_all():
            if isinstance(child, TerraformResource) and not child.node.path.startswith(services.node.path + "/"):
                child.add_override("depends_on", services.addresses)
