"""The opt-in ``tfc-bootstrap`` stack: creates the Terraform Cloud workspaces the deployment runs in.

Separate from the deployment's own stacks (it must exist before they can use
their ``cloud`` blocks) and kept in local state by whoever administers the
organization.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import DeploymentConfig, LocalState, TfcState
from constructs_lib.state_backends import configure_backend
from constructs_lib.tfc_workspaces import TfcWorkspaces
from constructs_lib.toolkit import App, TerraformStack
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
    """Workspaces, state sharing and run triggers for a deployment whose state backend is ``tfc``."""

    def __init__(self, scope: Construct, *, config: DeploymentConfig) -> None:
        super().__init__(scope, BOOTSTRAP_STACK)
        state = config.state
        if not isinstance(state, TfcState):
            raise ValueError("the bootstrap is only for the tfc state backend")
        TfeProvider(self, "tfe", hostname=state.hostname, organization=state.organization)
        configure_backend(self, LocalState(backend="local"), stack_name=BOOTSTRAP_STACK)
        TfcWorkspaces(self, "workspaces", state=state, readers=readers_of(config))


def build_bootstrap_app(config: DeploymentConfig, *, outdir: str) -> App:
    app = App(outdir=outdir, stack_traces=False)
    TfcBootstrapStack(app, config=config)
    return app
