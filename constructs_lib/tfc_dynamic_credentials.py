"""Terraform Cloud dynamic provider credentials for Google Cloud: no key is ever created.

Each run of a workspace gets a signed workload identity token from Terraform
Cloud; Google's STS exchanges it, through a workload identity pool whose OIDC
provider trusts ``https://<hostname>``, for a short-lived token of the deployer
service account. The provider's attribute condition admits only this
organization's workspaces of this deployment (and its project, when named), so
no other Terraform Cloud customer, and no other workspace of this organization,
can impersonate the deployer.

Sources:
https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/gcp-configuration
https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/workload-identity-tokens
https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from constructs import Construct

from constructs_lib.config import ArtifactRepository
from constructs_lib.scan_suppressions import skip_check
from constructs_lib.toolkit import ITerraformDependable
from constructs_lib.toolkit.google import (
    ArtifactRegistryRepositoryIamMember,
    IamWorkloadIdentityPool,
    IamWorkloadIdentityPoolProvider,
    IamWorkloadIdentityPoolProviderOidc,
    ProjectIamMember,
    ServiceAccount,
    ServiceAccountIamMember,
    StorageBucketIamMember,
)

DEPLOYER_ROLES: dict[str, str] = {
    "network_admin": "roles/compute.networkAdmin",  # VPC, subnets, router, NAT, addresses
    "security_admin": "roles/compute.securityAdmin",  # firewall rules, SSL policies, Cloud Armor
    "load_balancer_admin": "roles/compute.loadBalancerAdmin",  # backend services, URL maps, proxies
    "instance_admin": "roles/compute.instanceAdmin.v1",  # instance templates, MIGs, autoscalers
    "service_account_admin": "roles/iam.serviceAccountAdmin",  # the inference VMs' service account
    "service_account_user": "roles/iam.serviceAccountUser",  # run VMs as that service account
    "project_iam_admin": "roles/resourcemanager.projectIamAdmin",  # the VMs' project role bindings
    "certificate_manager_editor": "roles/certificatemanager.editor",  # regional certificates
    "secret_manager_admin": "roles/secretmanager.admin",  # server secrets and who may read them
    "monitoring_editor": "roles/monitoring.editor",  # alert policies, uptime checks, dashboards
}
"""What the deployment stacks create, and nothing broader (no Owner, no Editor)."""

BUCKET_IAM_ROLE = "roles/storage.admin"
"""On the weights bucket only: the network stack grants the VMs read access to it
(``storage.buckets.setIamPolicy``, which no narrower predefined role holds)."""
REPOSITORY_IAM_ROLE = "roles/artifactregistry.admin"
"""On the image's repository only: the network stack grants the VMs pull access to it
(``artifactregistry.repositories.setIamPolicy``, likewise)."""

_SERVICE_ACCOUNT_CHECKS = {
    "service_account_admin": ("CKV_GCP_49",),
    "service_account_user": ("CKV_GCP_41", "CKV_GCP_49"),
}
_SERVICE_ACCOUNT_REASON = (
    "the deployer creates the inference VMs' service account (network stack) and attaches it to their "
    "instance templates; that account does not exist yet when this binding is made, so it cannot be scoped to it"
)

TOKEN_ATTRIBUTES = (
    "terraform_organization_name",
    "terraform_project_name",
    "terraform_workspace_name",
    "terraform_workspace_id",
    "terraform_run_phase",
    "terraform_run_id",
)
"""Claims of Terraform Cloud's workload identity token kept as attributes (audit logs show them)."""


def pool_id(name_prefix: str) -> str:
    """``tfc-<name>``: 4-32 characters, and never the ``gcp-`` prefix Google reserves for pool IDs."""
    return f"tfc-{name_prefix}"


def attribute_condition(*, organization: str, workspaces: Sequence[str], project: str | None) -> str:
    """CEL admitting tokens of ``organization``'s listed workspaces (in ``project`` when given) only."""
    clauses = [
        f"assertion.terraform_organization_name == {json.dumps(organization)}",
        f"assertion.terraform_workspace_name in {json.dumps(sorted(workspaces))}",
    ]
    if project is not None:
        clauses.append(f"assertion.terraform_project_name == {json.dumps(project)}")
    return " && ".join(clauses)


class TfcDynamicCredentials(Construct):
    """Workload identity pool + OIDC provider for Terraform Cloud, and the deployer it may impersonate."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        project_id: str,
        name_prefix: str,
        hostname: str,
        organization: str,
        workspaces: Sequence[str],
        project: str | None,
        weights_bucket: str | None = None,
        image_repository: ArtifactRepository | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id_)
        pool = IamWorkloadIdentityPool(
            self,
            "pool",
            project=project_id,
            workload_identity_pool_id=pool_id(name_prefix),
            display_name=f"{name_prefix} Terraform Cloud"[:32],
            description=f"Terraform Cloud runs of {organization} deploying {name_prefix}",
            depends_on=list(depends_on),
        )
        pool.override_logical_id("tfc_pool")
        provider = IamWorkloadIdentityPoolProvider(
            self,
            "provider",
            project=project_id,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="terraform-cloud",
            display_name="Terraform Cloud",
            attribute_mapping={
                "google.subject": "assertion.sub",
                **{f"attribute.{claim}": f"assertion.{claim}" for claim in TOKEN_ATTRIBUTES},
            },
            attribute_condition=attribute_condition(organization=organization, workspaces=workspaces, project=project),
            oidc=IamWorkloadIdentityPoolProviderOidc(issuer_uri=f"https://{hostname}"),
        )
        provider.override_logical_id("tfc_provider")
        deployer = ServiceAccount(
            self,
            "deployer",
            project=project_id,
            account_id=f"{name_prefix}-tfc-deployer",
            display_name="Terraform Cloud deployer",
            description=f"Impersonated by Terraform Cloud runs of {organization}'s {name_prefix} workspaces",
            depends_on=list(depends_on),
        )
        deployer.override_logical_id("tfc_deployer")
        for key, role in DEPLOYER_ROLES.items():
            binding = ProjectIamMember(self, key, project=project_id, role=role, member=deployer.member)
            binding.override_logical_id(f"tfc_deployer_{key}")
            for check in _SERVICE_ACCOUNT_CHECKS.get(key, ()):
                skip_check(binding, check, _SERVICE_ACCOUNT_REASON)
        if weights_bucket is not None:
            StorageBucketIamMember(
                self, "bucket_iam", bucket=weights_bucket, role=BUCKET_IAM_ROLE, member=deployer.member
            ).override_logical_id("tfc_deployer_weights_bucket_iam")
        if image_repository is not None:
            ArtifactRegistryRepositoryIamMember(
                self,
                "repository_iam",
                project=image_repository.project,
                location=image_repository.location,
                repository=image_repository.repository,
                role=REPOSITORY_IAM_ROLE,
                member=deployer.member,
            ).override_logical_id("tfc_deployer_image_repository_iam")
        ServiceAccountIamMember(
            self,
            "workload_identity_user",
            service_account_id=deployer.name,
            role="roles/iam.workloadIdentityUser",
            member=f"principalSet://iam.googleapis.com/{pool.name}/*",
        ).override_logical_id("tfc_deployer_workload_identity_user")

        self.provider_name: str = provider.name
        """``projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>``."""
        self.service_account_email: str = deployer.email
