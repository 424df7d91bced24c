"""Where each stack keeps its Terraform state, and how another stack reads it.

The producer's backend block and the consumer's ``terraform_remote_state`` data
source are made by the same function from the same settings, so a consumer
always reads exactly where the producer writes. Stacks exchange values through
named outputs and remote state rather than cdktf's automatic cross-stack
references, so each stack stays plannable on its own (e.g. as a Terraform Cloud
workspace driven by VCS).
"""

from __future__ import annotations

import posixpath

from constructs import Construct

from constructs_lib.config import GcsState, LocalState, StateConfig, TfcState
from constructs_lib.toolkit import (
    CloudBackend,
    DataTerraformRemoteState,
    DataTerraformRemoteStateGcs,
    DataTerraformRemoteStateLocal,
    GcsBackend,
    LocalBackend,
    NamedCloudWorkspace,
    NamedRemoteWorkspace,
    TerraformRemoteState,
    TerraformStack,
)

_FROM_STACK_DIR_TO_PROJECT = "../../.."
"""Terraform runs in ``<outdir>/stacks/<stack>``; three levels up is the folder holding the outdir."""


def local_state_path(state: LocalState, stack_name: str) -> str:
    """The state file of a stack, relative to the stack's working directory (never absolute)."""
    return posixpath.join(_FROM_STACK_DIR_TO_PROJECT, state.directory, f"{stack_name}.tfstate")


def gcs_prefix(state: GcsState, stack_name: str) -> str:
    """The GCS prefix of a stack's state: ``<prefix>/<stack>``."""
    return f"{state.prefix}/{stack_name}"


def tfc_workspace(state: TfcState, stack_name: str) -> str:
    """The Terraform Cloud workspace of a stack: ``<workspace_prefix>-<stack>``."""
    return f"{state.workspace_prefix}-{stack_name}"


def configure_backend(stack: TerraformStack, state: StateConfig, *, stack_name: str) -> None:
    """Give ``stack`` the backend block selected by the deployment file."""
    if isinstance(state, LocalState):
        LocalBackend(stack, path=local_state_path(state, stack_name))
    elif isinstance(state, GcsState):
        GcsBackend(
            stack,
            bucket=state.bucket,
            prefix=gcs_prefix(state, stack_name),
            impersonate_service_account=state.impersonate_service_account,
        )
    else:
        CloudBackend(
            stack,
            organization=state.organization,
            hostname=state.hostname,
            workspaces=NamedCloudWorkspace(tfc_workspace(state, stack_name), project=state.project),
        )


def remote_state(scope: Construct, state: StateConfig, *, producer: str) -> TerraformRemoteState:
    """A ``terraform_remote_state`` data source, addressed by the producer stack's name,
    that reads the outputs the producer stack wrote with ``state``."""
    if isinstance(state, LocalState):
        return DataTerraformRemoteStateLocal(scope, producer, path=local_state_path(state, producer))
    if isinstance(state, GcsState):
        return DataTerraformRemoteStateGcs(
            scope,
            producer,
            bucket=state.bucket,
            prefix=gcs_prefix(state, producer),
            impersonate_service_account=state.impersonate_service_account,
        )
    return DataTerraformRemoteState(
        scope,
        producer,
        organization=state.organization,
        hostname=state.hostname,
        workspaces=NamedRemoteWorkspace(tfc_workspace(state, producer)),
    )
