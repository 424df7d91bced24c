"""Terraform Cloud workspaces for the deployment's stacks, run from CI (CLI-driven).

Each stack is its own workspace (``<workspace_prefix>-<stack>``) in one
project. CI uploads a stack's synthesized directory with ``terraform plan`` /
``apply`` (see tools/tfc_runs.py), so the workspaces have no VCS connection (a
VCS-connected workspace refuses CLI applies) and no working directory (the
upload is the stack's directory itself). CI applies in dependency order, so
there are no run triggers either: they would queue a second, unconfirmed run of
every reader after each apply.

A producer shares its state only with the stacks that read it. Every workspace
pins the project's Terraform version and carries the environment variables that
turn on dynamic Google credentials (``TFC_GCP_*``), so no key is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from constructs_lib.config import TfcState
from constructs_lib.state_backends import tfc_workspace
from constructs_lib.toolkit.tfe import DataTfeProject, Project, Variable, Workspace, WorkspaceSettings


def _address(stack: str) -> str:
    return stack.replace("-", "_")


@dataclass(frozen=True, kw_only=True)
class GcpRunCredentials:
    """What a workspace needs to impersonate the deployer through workload identity federation."""

    workload_provider_name: str
    service_account_email: str


class TfcWorkspaces(Construct):
    """The project, one workspace per stack with its credentials variables, and remote-state sharing."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        state: TfcState,
        readers: dict[str, tuple[str, ...]],
        terraform_version: str,
        credentials: GcpRunCredentials,
    ) -> None:
        """``readers`` maps every stack name to the stacks that read its outputs."""
        super().__init__(scope, id_)
        project_id = None
        if state.project is not None and state.create_project:
            project = Project(self, "project", name=state.project, organization=state.organization)
            project.override_logical_id("project")
            project_id = project.id
        elif state.project is not None:
            existing = DataTfeProject(self, "project", name=state.project, organization=state.organization)
            existing.override_logical_id("project")
            project_id = existing.id

        self.workspaces: dict[str, Workspace] = {}
        for stack in readers:
            workspace = Workspace(
                self,
                f"workspace_{stack}",
                name=tfc_workspace(state, stack),
                organization=state.organization,
                project_id=project_id,
                description=f"cdktf stack {stack} (CLI-driven runs from CI)",
                terraform_version=terraform_version,
                queue_all_runs=False,
            )
            workspace.override_logical_id(_address(stack))
            self.workspaces[stack] = workspace
            env = {
                "TFC_GCP_PROVIDER_AUTH": "true",
                "TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL": credentials.service_account_email,
                "TFC_GCP_WORKLOAD_PROVIDER_NAME": credentials.workload_provider_name,
            }
            for key, value in env.items():
                Variable(
                    self,
                    f"{stack}_{key}",
                    workspace_id=workspace.id,
                    category="env",
                    key=key,
                    value=value,
                    description="Dynamic provider credentials for Google Cloud (no stored key)",
                ).override_logical_id(f"{_address(stack)}_{key.lower()}")

        for producer, consumers in readers.items():
            if not consumers:
                continue
            settings = WorkspaceSettings(
                self,
                f"sharing_{producer}",
                workspace_id=self.workspaces[producer].id,
                global_remote_state=False,
                remote_state_consumer_ids=[self.workspaces[c].id for c in consumers],
            )
            settings.override_logical_id(f"{_address(producer)}_state_sharing")
