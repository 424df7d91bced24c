"""State backends: every stack's backend block, and every remote-state read matching its producer."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import Synth

Synthesize = Callable[[dict[str, Any]], Synth]

GCS = {"backend": "gcs", "bucket": "acme-tf-state", "prefix": "llm/prod"}
GCS_IMPERSONATED = {**GCS, "impersonate_service_account": "terraform@acme-llm-prod.iam.gserviceaccount.com"}
TFC = {"backend": "tfc", "organization": "acme", "workspace_prefix": "llm-prod", "project": "LLM Serving"}


def with_state(document: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    copied["state"] = state
    return copied


def remote_state_reads(synth: Synth) -> list[tuple[str, str, dict[str, Any]]]:
    """(consumer stack, producer stack, data source config) for every remote-state read."""
    reads = []
    for consumer in synth.texts:
        for producer, source in synth.stack(consumer).get("data", {}).get("terraform_remote_state", {}).items():
            reads.append((consumer, producer, source))
    return reads


def test_local_state_lives_beside_the_output_directory(default_synth: Synth) -> None:
    for name in default_synth.texts:
        backend = default_synth.stack(name)["terraform"]["backend"]
        assert backend == {"local": {"path": f"../../../terraform-state/{name}.tfstate"}}
    reads = remote_state_reads(default_synth)
    assert len(reads) == 2 + 2  # each region reads network; the frontend reads each region
    for _, producer, source in reads:
        assert source == {"backend": "local", "config": {"path": f"../../../terraform-state/{producer}.tfstate"}}


@pytest.mark.parametrize("state", [GCS, GCS_IMPERSONATED], ids=["gcs", "gcs-impersonated"])
def test_gcs_gives_each_stack_its_prefix_and_reads_the_producers(
    synthesize: Synthesize, default_document: dict[str, Any], state: dict[str, Any]
) -> None:
    synth = synthesize(with_state(default_document, state))
    impersonation = {k: v for k, v in state.items() if k == "impersonate_service_account"}
    for name in synth.texts:
        assert synth.stack(name)["terraform"]["backend"] == {
            "gcs": {"bucket": "acme-tf-state", "prefix": f"llm/prod/{name}", **impersonation}
        }
    for _, producer, source in remote_state_reads(synth):
        assert source["backend"] == "gcs"
        assert source["config"] == {"bucket": "acme-tf-state", "prefix": f"llm/prod/{producer}", **impersonation}


def test_tfc_gives_each_stack_a_named_workspace_and_reads_the_producers(
    synthesize: Synthesize, default_document: dict[str, Any]
) -> None:
    synth = synthesize(with_state(default_document, TFC))
    for name in synth.texts:
        cloud = synth.stack(name)["terraform"]["cloud"]
        assert cloud == {
            "hostname": "app.terraform.io",
            "organization": "acme",
            "workspaces": {"name": f"llm-prod-{name}", "project": "LLM Serving"},
        }
        assert "backend" not in synth.stack(name)["terraform"]
    for _, producer, source in remote_state_reads(synth):
        assert source["backend"] == "remote"
        assert source["config"] == {
            "hostname": "app.terraform.io",
            "organization": "acme",
            "workspaces": {"name": f"llm-prod-{producer}"},
        }


@pytest.mark.parametrize("state", [GCS, TFC], ids=["gcs", "tfc"])
def test_global_frontend_snapshot(
    synthesize: Synthesize, default_document: dict[str, Any], snapshot: SnapshotAssertion, state: dict[str, Any]
) -> None:
    synth = synthesize(with_state(default_document, state))
    assert synth.stack("global-frontend") == snapshot.use_extension(JSONSnapshotExtension)
