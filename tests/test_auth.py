"""Who may call the endpoint: API keys from Secret Manager by default, read by each VM at boot.

The deployment file names secrets, never their values; the VMs' service account
may read exactly those secrets; ``auth: none`` must be written out.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from constructs_lib.config import ApiKeyAuth, NoAuth, parse_config
from constructs_lib.secret_patterns import secret_kind
from tests.conftest import Synth

REGION = "region-us-central1"


@pytest.fixture(scope="module")
def open_synth(synthesize: Callable[[dict[str, Any]], Synth], default_document: dict[str, Any]) -> Synth:
    return synthesize({**default_document, "auth": "none"})


@pytest.fixture(scope="module")
def gated_synth(synthesize: Callable[[dict[str, Any]], Synth], default_document: dict[str, Any]) -> Synth:
    document = copy.deepcopy(default_document)
    document["server"] = {"hf_token_secret": "hf-token", "weights_bucket": "acme-llm-weights"}
    return synthesize(document)


def without_metadata(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {k: v for k, v in config.items() if k != "//"} for name, config in resources.items()}


def test_a_file_without_auth_gets_api_keys_named_after_the_deployment(default_document: dict[str, Any]) -> None:
    document = {key: value for key, value in default_document.items() if key != "auth"}
    assert parse_config(document, "f.yaml").auth == ApiKeyAuth(type="api_key", secret="llm-api-key")
    assert parse_config({**document, "name": "chat"}, "f.yaml").auth == ApiKeyAuth(type="api_key", secret="chat-api-key")


@pytest.mark.parametrize("written", ["none", {"type": "none"}])
def test_auth_none_is_written_out(default_document: dict[str, Any], written: object) -> None:
    assert parse_config({**default_document, "auth": written}, "f.yaml").auth == NoAuth(type="none")


def test_default_deployment_reads_its_key_with_a_secret_level_grant(default_synth: Synth) -> None:
    grants = without_metadata(default_synth.resources("network", "google_secret_manager_secret_iam_member"))
    for grant in grants.values():
        assert "google_project_service.api_secretmanager" in grant.pop("depends_on")
    assert grants == {
        "inference_reads_secret_llm-api-key": {
            "member": "${google_service_account.inference.member}",
            "project": "acme-llm-prod",
            "role": "roles/secretmanager.secretAccessor",
            "secret_id": "llm-api-key",
        }
    }
    project_roles = {m["role"] for m in default_synth.resources("network", "google_project_iam_member").values()}
    assert not any("secretmanager" in role for role in project_roles)
    script = default_synth.resource(REGION, "google_compute_instance_template", "inference_template")["metadata"]["startup-script"]
    assert "read_secret llm-api-key" in script


def test_the_app_never_creates_a_secret_or_its_value(default_synth: Synth, gated_synth: Synth) -> None:
    for synth in (default_synth, gated_synth):
        for text in synth.texts.values():
            assert "google_secret_manager_secret\"" not in text
            assert "google_secret_manager_secret_version" not in text


def test_no_synthesized_file_contains_a_secret(default_synth: Synth, three_region_synth: Synth, gated_synth: Synth) -> None:
    for synth in (default_synth, three_region_synth, gated_synth):
        for stack, text in synth.texts.items():
            assert secret_kind(text) is None, stack


def test_auth_none_reads_no_key_and_grants_nothing(open_synth: Synth) -> None:
    assert open_synth.resources("network", "google_secret_manager_secret_iam_member") == {}
    script = open_synth.resource(REGION, "google_compute_instance_template", "inference_template")["metadata"]["startup-script"]
    assert "VLLM_API_KEY" not in script and "read_secret" not in script
    assert "--env-file /run/inference-server.env" in script


def test_gated_model_token_and_weights_bucket_are_granted_on_those_resources_only(gated_synth: Synth) -> None:
    grants = gated_synth.resources("network", "google_secret_manager_secret_iam_member")
    assert {g["secret_id"] for g in grants.values()} == {"llm-api-key", "hf-token"}
    bucket_grants = without_metadata(gated_synth.resources("network", "google_storage_bucket_iam_member"))
    assert "google_project_service.api_storage" in bucket_grants["inference_reads_weights"].pop("depends_on")
    assert bucket_grants == {
        "inference_reads_weights": {
            "bucket": "acme-llm-weights",
            "member": "${google_service_account.inference.member}",
            "role": "roles/storage.objectViewer",
        }
    }
    script = gated_synth.resource(REGION, "google_compute_instance_template", "inference_template")["metadata"]["startup-script"]
    assert "printf 'HF_TOKEN=%s\\n'" in script and "read_secret hf-token" in script
