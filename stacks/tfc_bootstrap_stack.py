"""The opt-in ``tfc-bootstrap`` stack: what must exist before the deployment can run in Terraform Cloud.

On the Terraform Cloud side the project and one workspace per stack, with the
pinned Terraform version, remote-state sharing and the dynamic-credentials
variables; on the Google side the project's APIs, the workload identity pool and
provider that trust Terraform Cloud, and the deployer service account the
workspaces impersonate. It is applied once (and again when stacks are added) by
an administrator with their own Google and Terraform Cloud credentials, and
keeps its state locally (``terraform-state/tfc-bootstrap.tfstate``), since the
workspaces it creates cannot hold the state that creates them.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import DeploymentConfig, LocalState, TfcState
from constructs_lib.project_services import ProjectServices, services_for
from constructs_lib.state_backends import configure_backend, tfc_workspace
from constructs_lib.terraform_version import TERRAFORM_VERSION, required_version
from constructs_lib.tfc_dynamic_credentials import TfcDynamicCredentials
from constructs_lib.tfc_workspaces import GcpRunCredentials, TfcWorkspaces
from constructs_lib.toolkit import App, TerraformStack
from constructs_lib.toolkit.google import GoogleProvider
from constructs_lib.toolkit.tfe import TfeProvider

BOOTSTRAP_STACK = "tfc-bootstrap"


def readers_of(config: DeploymentConfig) -> dict[str, tuple[str, ...]]:
    """Every stack of the deployment, mapped to the stacks that read its outputs."""
    regions = tuple(naming.region_stack(region.region) for region in config.regions)
    serving = tuple(naming.region_stack(region.region) for region in config.serving_regions)
    readers: dict[str, tuple[str, ...]] = {naming.NETWORK_STACK: regions}
    for region in regions:
        readers[region] = (naming.GLOBAL_FRONTEND_STACK,) if region in serving else ()
    readers[naming.GLOBAL_FRONTEND_STACK] = ()
    return readers


class TfcBootstrapStack(TerraformStack):
    """Workspaces with keyless Google credentials for a deployment whose state backend is ``tfc``."""

    def __init__(self, scope: Construct, *, config: DeploymentConfig) -> None:
        super().__init__(scope, BOOTSTRAP_STACK)
        state = config.state
        if not isinstance(state, TfcState):
            raise ValueError("the bootstrap is only for the tfc state backend")
        self.add_override("terraform.required_version", required_version())
        TfeProvider(self, "tfe", hostname=state.hostname, organization=state.organization)
        GoogleProvider(self, "google", project=config.project_id)
        configure_backend(self, LocalState(backend="local"), stack_name=BOOTSTRAP_STACK)

        readers = readers_of(config)
        services = ProjectServices(self, "apis", project_id=config.project_id, services=services_for(config))
        credentials = TfcDynamicCredentials(
            self,
            "credentials",
            project_id=config.project_id,
            name_prefix=config.name,
            hostname=state.hostname,
            organization=state.organization,
            workspaces=[tfc_workspace(state, stack) for stack in readers],
            project=state.project,
            weights_bucket=config.server.weights_bucket,
            image_repository=config.server.artifact_repository,
            depends_on=services.services,
        )
        TfcWorkspaces(
            self,
            "workspaces",
            state=state,
            readers=readers,
            terraform_version=TERRAFORM_VERSION,
            credentials=GcpRunCredentials(
                workload_provider_name=credentials.provider_name,
                service_account_email=credentials.service_account_email,
            ),
        )


def build_bootstrap_app(config: DeploymentConfig, *, outdir: str) -> App:
    app = App(outdir=outdir, stack_traces=False)
    TfcBootstrapStack(app, config=config)
    return app
