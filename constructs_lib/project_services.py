"""The Google APIs the deployment uses, enabled by code in exactly one stack.

Which stack owns them depends on how the deployment is run: with Terraform Cloud
(``state.backend: tfc``) the ``tfc-bootstrap`` stack is applied first, by an
administrator, and itself needs IAM, STS and IAM Credentials for workload
identity federation, so it enables every API; otherwise the ``network`` stack,
the first one `cdktf deploy` applies, does. Nothing else declares a
``google_project_service``: two owners of one API would fight over it.

Sources: https://cloud.google.com/service-usage/docs/enable-disable and
https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_service
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.config import DeploymentConfig
from constructs_lib.toolkit.google import ProjectService

REQUIRED_SERVICES: dict[str, str] = {
    "cloudresourcemanager": "cloudresourcemanager.googleapis.com",  # project IAM bindings
    "compute": "compute.googleapis.com",  # VPC, VMs, load balancers
    "certificatemanager": "certificatemanager.googleapis.com",  # regional TLS certificates
    "iam": "iam.googleapis.com",  # service accounts, workload identity pools
    "iamcredentials": "iamcredentials.googleapis.com",  # short-lived tokens for impersonation
    "sts": "sts.googleapis.com",  # token exchange of workload identity federation
    "secretmanager": "secretmanager.googleapis.com",  # server secrets (API keys, model tokens)
    "monitoring": "monitoring.googleapis.com",  # autoscaling metric, alerting
    "logging": "logging.googleapis.com",  # VM and load balancer logs
}
"""Logical id suffix -> API. Keyed so that adding an API never renames another."""

OPTIONAL_SERVICES: dict[str, str] = {
    "storage": "storage.googleapis.com",  # server.weights_bucket: weights copied at boot
    "artifactregistry": "artifactregistry.googleapis.com",  # server.image in Artifact Registry
}
"""APIs only some deployments use; enabled only where the deployment file asks for them."""


def services_for(config: DeploymentConfig) -> dict[str, str]:
    """``REQUIRED_SERVICES`` plus the optional APIs ``config`` uses."""
    wanted = {
        "storage": config.server.weights_bucket is not None,
        "artifactregistry": config.server.artifact_repository is not None,
    }
    return {**REQUIRED_SERVICES, **{key: api for key, api in OPTIONAL_SERVICES.items() if wanted[key]}}


class ProjectServices(Construct):
    """One ``google_project_service`` per API (see ``services_for``), left enabled when the stack is destroyed."""

    def __init__(self, scope: Construct, id_: str, *, project_id: str, services: dict[str, str]) -> None:
        super().__init__(scope, id_)
        self.services: list[ProjectService] = []
        self.addresses: list[str] = []
        """``google_project_service.<id>`` of each, for ``depends_on`` of resources built elsewhere."""
        for key, api in services.items():
            service = ProjectService(
                self,
                key,
                project=project_id,
                service=api,
                disable_on_destroy=False,
                disable_dependent_services=False,
            )
            service.override_logical_id(f"api_{key}")
            self.services.append(service)
            self.addresses.append(f"google_project_service.api_{key}")
