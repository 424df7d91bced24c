"""What every stack of the deployment shares: the Google provider, the state backend, the Terraform version."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.config import DeploymentConfig
from constructs_lib.state_backends import configure_backend
from constructs_lib.terraform_version import required_version
from constructs_lib.toolkit import TerraformOutput, TerraformStack
from constructs_lib.toolkit.google import GoogleProvider


class DeploymentStack(TerraformStack):
    """A stack named by the contract (``network``, ``region-<region>``, ``global-frontend``)
    with its provider and the backend block chosen in the deployment file."""

    def __init__(
        self, scope: Construct, stack_name: str, *, config: DeploymentConfig, region: str | None = None
    ) -> None:
        super().__init__(scope, stack_name)
        GoogleProvider(
            self,
            "google",
            project=config.project_id,
            region=region,
            default_labels={"app": config.name, "managed_by": "cdktf"},
        )
        configure_backend(self, config.state, stack_name=stack_name)
        self.add_override("terraform.required_version", required_version())

    def export(self, name: str, value: str, description: str) -> None:
        """A named output that other stacks read through remote state."""
        TerraformOutput(self, name, value=value, description=description)
