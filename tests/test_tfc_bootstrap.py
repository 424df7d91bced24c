"""The opt-in Terraform Cloud bootstrap: project, workspaces with a pinned Terraform and keyless
Google credentials, state sharing, the project's APIs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib.project_services import REQUIRED_SERVICES
from constructs_lib.terraform_version import TERRAFORM_VERSION
from constructs_lib.tfc_dynamic_credentials import DEPLOYER_ROLES
from tests.conftest import REPO, Synth, load_yaml

TFC_CONFIG = REPO / "config" / "examples" / "tfc.yaml"


def synth_bootstrap(tmp_path_factory: pytest.TempPathFactory, document: dict[str, Any]) -> dict[str, Any]:
    from constructs_lib.config import parse_config
    from stacks.tfc_bootstrap_stack import build_bootstrap_app

    outdir = tmp_path_factory.mktemp("bootstrap")
    build_bootstrap_app(parse_config(document, "tfc.yaml"), outdir=str(outdir)).synth()
    return json.loads((outdir / "stacks" / "tfc-bootstrap" / "cdk.tf.json").read_text())


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synth_bootstrap(tmp_path_factory, load_yaml(TFC_CONFIG))


STACKS = ["network", "region-us-central1", "region-europe-west4", "global-frontend"]


def by_name(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ws["name"]: ws for ws in bootstrap["resource"]["tfe_workspace"].values()}


def test_one_cli_driven_workspace_per_stack_pinned_to_the_project_terraform(bootstrap: dict[str, Any]) -> None:
    workspaces = by_name(bootstrap)
    assert sorted(workspaces) == sorted(f"llm-prod-{stack}" for stack in STACKS)
    for stack in STACKS:
        workspace = workspaces[f"llm-prod-{stack}"]
        assert workspace["organization"] == "acme"
        assert workspace["project_id"] == "${tfe_project.project.id}"
        assert workspace["terraform_version"] == TERRAFORM_VERSION
        # CI uploads the stack directory itself: no VCS connection (it would refuse CLI applies).
        assert "vcs_repo" not in workspace and "working_directory" not in workspace
    assert bootstrap["terraform"]["required_version"] == f"= {TERRAFORM_VERSION}"


def test_the_project_is_created_by_default(bootstrap: dict[str, Any]) -> None:
    assert [p["name"] for p in bootstrap["resource"]["tfe_project"].values()] == ["LLM Serving"]
    assert "tfe_project" not in bootstrap.get("data", {})


def test_an_existing_project_is_used_by_name(tmp_path_factory: pytest.TempPathFactory) -> None:
    document = load_yaml(TFC_CONFIG)
    document["state"]["create_project"] = False
    existing = synth_bootstrap(tmp_path_factory, document)
    assert "tfe_project" not in existing["resource"]
    assert existing["data"]["tfe_project"]["project"]["name"] == "LLM Serving"
    assert {w["project_id"] for w in existing["resource"]["tfe_workspace"].values()} == {
        "${data.tfe_project.project.id}"
    }


def test_every_workspace_impersonates_the_deployer_without_a_key(bootstrap: dict[str, Any]) -> None:
    variables = bootstrap["resource"]["tfe_variable"].values()
    for stack in STACKS:
        ref = "${tfe_workspace." + stack.replace("-", "_") + ".id}"
        mine = {v["key"]: v for v in variables if v["workspace_id"] == ref}
        assert {k: v["value"] for k, v in mine.items()} == {
            "TFC_GCP_PROVIDER_AUTH": "true",
            "TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL": "${google_service_account.tfc_deployer.email}",
            "TFC_GCP_WORKLOAD_PROVIDER_NAME": "${google_iam_workload_identity_pool_provider.tfc_provider.name}",
        }
        assert all(v["category"] == "env" for v in mine.values())
    text = json.dumps(bootstrap)
    assert "google_service_account_key" not in text and "GOOGLE_CREDENTIALS" not in text


def test_only_this_organizations_workspaces_of_this_deployment_are_trusted(bootstrap: dict[str, Any]) -> None:
    provider = bootstrap["resource"]["google_iam_workload_identity_pool_provider"]["tfc_provider"]
    assert provider["oidc"] == {"issuer_uri": "https://app.terraform.io"}
    condition = provider["attribute_condition"]
    assert 'assertion.terraform_organization_name == "acme"' in condition
    assert 'assertion.terraform_project_name == "LLM Serving"' in condition
    listed = json.loads(condition.split("assertion.terraform_workspace_name in ")[1].split(" &&")[0])
    assert sorted(listed) == sorted(f"llm-prod-{stack}" for stack in STACKS)
    assert provider["attribute_mapping"]["google.subject"] == "assertion.sub"
    binding = bootstrap["resource"]["google_service_account_iam_member"]["tfc_deployer_workload_identity_user"]
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.tfc_pool.name}/*"
    assert binding["service_account_id"] == "${google_service_account.tfc_deployer.name}"


def test_a_self_hosted_terraform_enterprise_is_the_issuer(tmp_path_factory: pytest.TempPathFactory) -> None:
    document = load_yaml(TFC_CONFIG)
    document["state"]["hostname"] = "tfe.acme.example"
    document["name"] = "gcp"  # Google reserves pool IDs starting with gcp-
    del document["state"]["project"]
    other = synth_bootstrap(tmp_path_factory, document)
    assert other["resource"]["google_iam_workload_identity_pool"]["tfc_pool"]["workload_identity_pool_id"] == "tfc-gcp"
    provider = other["resource"]["google_iam_workload_identity_pool_provider"]["tfc_provider"]
    assert provider["oidc"]["issuer_uri"] == "https://tfe.acme.example"
    assert "terraform_project_name" not in provider["attribute_condition"]


def test_the_deployer_holds_the_listed_roles_and_no_basic_role(bootstrap: dict[str, Any]) -> None:
    members = bootstrap["resource"]["google_project_iam_member"].values()
    roles = sorted(m["role"] for m in members if m["member"] == "${google_service_account.tfc_deployer.member}")
    assert roles == sorted(DEPLOYER_ROLES.values())
    assert not {"roles/owner", "roles/editor"} & set(roles)
    readme = (REPO / "README.md").read_text()
    assert all(f"`{role}`" in readme for role in roles), "the README lists every deployer role"


def test_the_apis_are_enabled_before_the_identity_resources(bootstrap: dict[str, Any]) -> None:
    services = bootstrap["resource"]["google_project_service"]
    assert sorted(s["service"] for s in services.values()) == sorted(REQUIRED_SERVICES.values())
    assert {"compute.googleapis.com", "certificatemanager.googleapis.com", "monitoring.googleapis.com",
            "iam.googleapis.com", "sts.googleapis.com", "iamcredentials.googleapis.com"} <= set(REQUIRED_SERVICES.values())
    assert all(s["disable_on_destroy"] is False for s in services.values())
    addresses = sorted(f"google_project_service.{name}" for name in services)
    for rtype in ("google_iam_workload_identity_pool", "google_service_account"):
        for resource in bootstrap["resource"][rtype].values():
            assert sorted(resource["depends_on"]) == addresses


def services_in(synth: Synth) -> dict[str, list[str]]:
    return {
        name: sorted(s["service"] for s in synth.resources(name, "google_project_service").values())
        for name in synth.texts
        if synth.resources(name, "google_project_service")
    }


def test_apis_have_exactly_one_owner_per_deployment(
    synthesize: Any, default_synth: Synth, bootstrap: dict[str, Any]
) -> None:
    # Local or GCS state: the network stack, applied first, enables them before anything else.
    assert services_in(default_synth) == {"network": sorted(REQUIRED_SERVICES.values())}
    for resources in default_synth.stack("network")["resource"].values():
        for name, resource in resources.items():
            if not name.startswith("api_"):
                assert len(resource["depends_on"]) == len(REQUIRED_SERVICES)
    # Terraform Cloud: the bootstrap owns them, so no deployment stack declares one.
    assert services_in(synthesize(load_yaml(TFC_CONFIG))) == {}
    assert "google_project_service" in bootstrap["resource"]


def test_every_stack_requires_the_pinned_terraform(default_synth: Synth) -> None:
    for name in default_synth.texts:
        assert default_synth.stack(name)["terraform"]["required_version"] == f"= {TERRAFORM_VERSION}"


def test_state_is_shared_only_with_the_stacks_that_read_it(bootstrap: dict[str, Any]) -> None:
    sharing = bootstrap["resource"]["tfe_workspace_settings"]
    assert sharing["network_state_sharing"]["remote_state_consumer_ids"] == [
        "${tfe_workspace.region_us_central1.id}",
        "${tfe_workspace.region_europe_west4.id}",
    ]
    assert sharing["region_us_central1_state_sharing"]["remote_state_consumer_ids"] == [
        "${tfe_workspace.global_frontend.id}"
    ]
    assert all(settings["global_remote_state"] is False for settings in sharing.values())
    assert "global_frontend_state_sharing" not in sharing


def test_bootstrap_snapshot(bootstrap: dict[str, Any], snapshot: SnapshotAssertion) -> None:
    assert bootstrap == snapshot.use_extension(JSONSnapshotExtension)


def test_bootstrap_refuses_other_backends(tmp_path: Path) -> None:
    env = {**os.environ, "DEPLOYMENT_CONFIG": "config/default.yaml", "CDKTF_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run(
        [sys.executable, "tfc_bootstrap.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: config/default.yaml: state.backend: is 'local'; the bootstrap is for tfc (set DEPLOYMENT_CONFIG to the tfc file)"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        # CI drives CLI runs; a VCS-connected workspace would refuse its applies.
        ("vcs", {"identifier": "acme/llm", "oauth_token_id": "ot-abc"}, "state.vcs: unknown key"),
        ("create_project", "yes", "state.create_project: 'yes' is not allowed (expected a valid boolean)"),
    ],
)
def test_tfc_settings_are_refused_in_one_line(key: str, value: Any, message: str) -> None:
    from constructs_lib.config import ConfigError, parse_config

    document = load_yaml(TFC_CONFIG)
    document["state"][key] = value
    with pytest.raises(ConfigError) as error:
        parse_config(document, "tfc.yaml")
    assert str(error.value).startswith(f"error: tfc.yaml: {message}")


def test_bootstrap_into_an_unwritable_output_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {
        **os.environ,
        "DEPLOYMENT_CONFIG": "config/examples/tfc.yaml",
        "CDKTF_OUTDIR": str(blocker / "cdktf.out.bootstrap"),
    }
    result = subprocess.run(
        [sys.executable, "tfc_bootstrap.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {blocker}"), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_deployer_may_grant_on_the_weights_bucket_and_image_repository_only_when_used(
    tmp_path_factory: pytest.TempPathFactory, bootstrap: dict[str, Any]
) -> None:
    """The network stack grants the VMs read access to these two; the deployer needs their IAM, nothing wider."""
    assert "google_storage_bucket_iam_member" not in bootstrap["resource"]
    assert "google_artifact_registry_repository_iam_member" not in bootstrap["resource"]
    document = load_yaml(TFC_CONFIG)
    document["server"] = {
        "image": "us-docker.pkg.dev/acme-images/serving/vllm-openai:v0.11.0",
        "weights_bucket": "acme-llm-weights",
    }
    resources = synth_bootstrap(tmp_path_factory, document)["resource"]
    deployer = "${google_service_account.tfc_deployer.member}"
    (bucket,) = resources["google_storage_bucket_iam_member"].values()
    assert (bucket["bucket"], bucket["role"], bucket["member"]) == ("acme-llm-weights", "roles/storage.admin", deployer)
    (repository,) = resources["google_artifact_registry_repository_iam_member"].values()
    assert (repository["project"], repository["location"], repository["repository"]) == ("acme-images", "us", "serving")
    assert (repository["role"], repository["member"]) == ("roles/artifactregistry.admin", deployer)
    assert {b["role"] for b in resources["google_project_iam_member"].values()} == set(DEPLOYER_ROLES.values())
