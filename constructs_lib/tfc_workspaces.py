"""Terraform Cloud workspaces for the deployment's stacks, wired the way the stacks read each other.

Each stack is its own workspace (``<workspace_prefix>-<stack>``). A producer
shares its state only with the stacks that read it, and its applies queue runs
of those readers (run triggers), which is the ordering `cdktf deploy` gives on
the command line and Terraform Cloud does not infer for VCS-driven runs.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.config import TfcState
from constructs_lib.state_backends import tfc_workspace
from constructs_lib.toolkit.tfe import DataTfeProject, RunTrigger, Workspace, WorkspaceSettings, WorkspaceVcsRepo


def _address(stack: str) -> str:
    return stack.replace("-", "_")


class TfcWorkspaces(Construct):
    """One workspace per stack, remote-state sharing from producers to readers, run triggers."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        state: TfcState,
        readers: dict[str, tuple[str, ...]],
        outdir: str = "cdktf.out",
    ) -> None:
        """``readers`` maps every stack name to the stacks that read its outputs."""
        super().__init__(scope, id_)
        project_id = None
        if state.project is not None:
            project = DataTfeProject(self, "project", name=state.project, organization=state.organization)
            project.override_logical_id("project")
            project_id = project.id

        self.workspaces: dict[str, Workspace] = {}
        for stack in readers:
            workspace = Workspace(
                self,
                f"workspace_{stack}",
                name=tfc_workspace(state, stack),
                organization=state.organization,
                project_id=project_id,
                description=f"cdktf stack {stack}",
                working_directory=f"{outdir}/stacks/{stack}",
                queue_all_runs=False,
                vcs_repo=(
                    WorkspaceVcsRepo(
                        identifier=state.vcs.identifier,
                        branch=state.vcs.branch,
                        oauth_token_id=state.vcs.oauth_token_id,
                    )
                    if state.vcs is not None
                    else None
                ),
            )
            workspace.override_logical_id(_address(stack))
            self.workspaces[stack] = workspace

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
            for consumer in consumers:
                trigger = RunTrigger(
                    self,
                    f"trigger_{producer}_{consumer}",
                    workspace_id=self.workspaces[consumer].id,
                    sourceable_id=self.workspaces[producer].id,
                )
                trigger.override_logical_id(f"{_address(producer)}_triggers_{_address(consumer)}")
