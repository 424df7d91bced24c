"""How the stacks fit together: contract names, deploy order, outputs read through remote state."""

from __future__ import annotations

import re

from tests.conftest import Synth


def test_stack_names_are_the_contract(default_synth: Synth, three_region_synth: Synth) -> None:
    assert set(default_synth.manifest["stacks"]) == {
        "network",
        "region-us-central1",
        "region-europe-west4",
        "global-frontend",
    }
    assert set(three_region_synth.manifest["stacks"]) == {
        "network",
        "region-us-east4",
        "region-europe-west4",
        "region-asia-southeast1",
        "global-frontend",
    }


def test_deploy_order_is_network_then_regions_then_frontend(default_synth: Synth) -> None:
    stacks = default_synth.manifest["stacks"]
    assert stacks["network"]["dependencies"] == []
    assert stacks["region-us-central1"]["dependencies"] == ["network"]
    assert stacks["region-europe-west4"]["dependencies"] == ["network"]
    assert sorted(stacks["global-frontend"]["dependencies"]) == ["region-europe-west4", "region-us-central1"]


def test_every_remote_state_read_names_an_output_its_producer_exports(three_region_synth: Synth) -> None:
    reference = re.compile(r"data\.terraform_remote_state\.([\w-]+)\.outputs\.(\w+)")
    for name, text in three_region_synth.texts.items():
        for producer, output in reference.findall(text):
            assert output in three_region_synth.stack(producer)["output"], (name, producer, output)
            assert producer in three_region_synth.manifest["stacks"][name]["dependencies"]


def test_no_automatic_cross_stack_references(three_region_synth: Synth) -> None:
    for text in three_region_synth.texts.values():
        assert "cross-stack" not in text


def test_scheme_is_explicit_on_every_backend_service_and_forwarding_rule(three_region_synth: Synth) -> None:
    types = (
        "google_compute_backend_service",
        "google_compute_region_backend_service",
        "google_compute_forwarding_rule",
        "google_compute_global_forwarding_rule",
    )
    seen = 0
    for stack in three_region_synth.texts:
        for resource_type in types:
            for resource in three_region_synth.resources(stack, resource_type).values():
                assert resource["load_balancing_scheme"] in ("EXTERNAL_MANAGED", "INTERNAL_MANAGED")
                seen += 1
    assert seen == 3 * 2 + 3  # per region: backend + forwarding rule; global: backend + 2 rules


def test_global_and_regional_backends_share_the_balancing_mode(three_region_synth: Synth) -> None:
    """One instance group in two backend services: their balancing modes must be compatible."""
    global_modes = {
        b["balancing_mode"]
        for b in three_region_synth.resource("global-frontend", "google_compute_backend_service", "global_backend")["backend"]
    }
    regional_modes = {
        b["balancing_mode"]
        for stack in ("region-us-east4", "region-europe-west4", "region-asia-southeast1")
        for b in three_region_synth.resource(stack, "google_compute_region_backend_service", "regional_backend")["backend"]
    }
    assert global_modes == regional_modes == {"RATE"}
