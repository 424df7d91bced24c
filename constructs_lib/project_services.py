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

from cdktf_cdktf_provider_google.project_service import ProjectService
from constructs import Construct

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


class ProjectServices(Construct):
    """One ``google_project_service`` per required API, left enabled when the stack is destroyed."""

    def __init__(self, scope: Construct, id_: str, *, project_id: str) -> None:
        super().__init__(scope, id_)
        self.services: list[ProjectService] = []
        self.addresses: list[str] = []
        """``google_project_service.<id>`` of each, for ``depends_on`` of resources built elsewhere."""
        for key, api in REQUIRED_SERVICES.items():
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
