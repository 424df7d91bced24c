"""Names chosen on purpose: valid GCP names at the longest prefix, stable per region."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from constructs_lib import gcp_regions, naming
from tests.conftest import Synth

GCP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
LONGEST_REGION = max(gcp_regions.ZONES, key=len)


def test_stack_names_are_the_contract() -> None:
    # The names in the synthesized manifest are checked in tests/test_app_wiring.py.
    assert naming.region_stack("us-central1") == "region-us-central1"
    assert naming.region_stack("europe-west4") != naming.region_stack("europe-west1")


def test_invalid_names_are_refused() -> None:
    with pytest.raises(ValueError, match="not a valid GCP resource name"):
        naming.resource_name("llm", "x" * 60)
    with pytest.raises(ValueError, match="not a valid GCP resource name"):
        naming.resource_name("llm", "Upper")


def test_instance_template_prefix_fits_the_provider_limit() -> None:
    prefix = naming.template_name_prefix("a" * 16, LONGEST_REGION)
    assert len(prefix) <= 37 and prefix.endswith("-") and GCP_NAME.match(prefix.rstrip("-"))


def test_certificate_name_changes_with_its_domains() -> None:
    one = naming.certificate_name("llm", ("llm.example.com",))
    assert one == naming.certificate_name("llm", ("llm.example.com",))
    assert one != naming.certificate_name("llm", ("llm.example.com", "api.example.com"))


def test_default_ranges_depend_on_the_region_only() -> None:
    assert naming.default_serving_cidr("us-central1") == "10.0.0.0/20"
    assert naming.default_proxy_only_cidr("us-central1") == "10.0.16.0/23"
    ranges = {naming.default_serving_cidr(r) for r in gcp_regions.ZONES} | {
        naming.default_proxy_only_cidr(r) for r in gcp_regions.ZONES
    }
    assert len(ranges) == 2 * len(gcp_regions.ZONES)
    assert naming.overlapping({f"r{i}": cidr for i, cidr in enumerate(sorted(ranges))}) is None


def test_longest_prefix_and_region_give_valid_names_everywhere(
    synthesize: Callable[[dict[str, Any]], Synth], default_document: dict[str, Any]
) -> None:
    document = copy.deepcopy(default_document)
    document["name"] = "a-sixteen-chars1"
    document["regions"] = [
        {
            "region": LONGEST_REGION,
            "machine_type": "g2-standard-8",
            "min_replicas": 1,
            "max_replicas": 2,
            "capacity_scaler": 1.0,
            "entry_point": "external",
            "entry_domain": "ca.llm.example.com",
            "external_entry_point_without_cloud_armor": True,
        }
    ]
    synth = synthesize(document)
    names = [
        config["name"]
        for stack in synth.texts
        for resources in synth.stack(stack).get("resource", {}).values()
        for config in resources.values()
        if isinstance(config.get("name"), str)
    ]
    assert len(names) > 20
    assert [name for name in names if not GCP_NAME.match(name)] == []
