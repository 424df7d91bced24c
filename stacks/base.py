"""What every stack of the deployment shares: the Google provider, the state backend, the Terraform version."""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_google.provider import GoogleProvider
from constructs import Construct

from constructs_lib.config import DeploymentConfig
from constructs_lib.state_backends import configure_backend
from constructs_lib.terraform_version import required_version
from constructs_lib.validation import enforce_gcp_rules


class DeploymentStack(TerraformStack):
    """A stack named by the contract (``network``, ``region-<region>``, ``global-frontend``)
    with its provider and the backend block chosen in the deployment file."""

    def __init__(self, scope: Construct, stack_name: str, *, config: DeploymentConfig, region: str | None = None) -> None:
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
        enforce_gcp_rules(self)

    def export(self, name: str, value: str, description: str) -> None:
        """A named output that other stacks read through remote state."""
        TerraformOutput(self, name, value=value, description=description)
