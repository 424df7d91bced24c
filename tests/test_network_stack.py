"""The `network` stack: a protected custom-mode VPC, the health-check firewall rule, the VM identity."""

from __future__ import annotations

from tests.conftest import Synth


def test_vpc_is_custom_mode_and_protected(default_synth: Synth) -> None:
    vpc = default_synth.resource("network", "google_compute_network", "vpc")
    assert vpc["name"] == "llm-vpc"
    assert vpc["auto_create_subnetworks"] is False
    assert vpc["lifecycle"]["prevent_destroy"] is True


def test_firewall_admits_only_google_health_check_ranges_to_the_serving_port(default_synth: Synth) -> None:
    firewalls = default_synth.resources("network", "google_compute_firewall")
    assert list(firewalls) == ["allow_health_checks"]
    rule = firewalls["allow_health_checks"]
    assert rule["direction"] == "INGRESS"
    assert sorted(rule["source_ranges"]) == ["130.211.0.0/22", "35.191.0.0/16"]
    assert rule["allow"] == [{"ports": ["8000"], "protocol": "tcp"}]
    assert rule["target_tags"] == ["llm-inference"]
    assert rule["network"] == "${google_compute_network.vpc.self_link}"


def test_inference_identity_has_only_the_roles_it_needs(default_synth: Synth) -> None:
    account = default_synth.resource("network", "google_service_account", "inference")
    assert account["account_id"] == "llm-inference"
    roles = {member["role"] for member in default_synth.resources("network", "google_project_iam_member").values()}
    assert roles == {"roles/logging.logWriter", "roles/monitoring.metricWriter"}
    for member in default_synth.resources("network", "google_project_iam_member").values():
        assert member["member"] == "${google_service_account.inference.member}"
    # The default image is on Docker Hub: no registry role at all.
    assert default_synth.resources("network", "google_artifact_registry_repository_iam_member") == {}


def test_artifact_registry_reader_only_on_the_image_repository(synthesize, default_document) -> None:  # type: ignore[no-untyped-def]
    image = "europe-west4-docker.pkg.dev/acme-images/serving/vllm-openai:v0.11.0"
    synth = synthesize({**default_document, "server": {"image": image}})
    grant = synth.resource("network", "google_artifact_registry_repository_iam_member", "inference_pulls_image")
    assert (grant["project"], grant["location"], grant["repository"]) == ("acme-images", "europe-west4", "serving")
    assert grant["role"] == "roles/artifactregistry.reader"
    assert grant["member"] == "${google_service_account.inference.member}"
    roles = {member["role"] for member in synth.resources("network", "google_project_iam_member").values()}
    assert "roles/artifactregistry.reader" not in roles


def test_exports_what_regions_read(default_synth: Synth) -> None:
    outputs = default_synth.stack("network")["output"]
    assert set(outputs) == {"network_self_link", "network_tag", "service_account_email"}
