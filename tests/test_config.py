"""The deployment file model: what it accepts, and the one line it prints for what it refuses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest

from constructs_lib.config import (
    REQUESTS_RUNNING_METRIC,
    ConfigError,
    config_path,
    load_config,
    output_directory,
    parse_config,
)
from tests.conftest import DEFAULT_CONFIG, THREE_REGIONS_CONFIG, load_yaml

BASE = load_yaml(DEFAULT_CONFIG)


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    change(document)
    return document


def region(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return document["regions"][index]


def test_default_and_example_deployments_load() -> None:
    default = load_config(DEFAULT_CONFIG)
    assert [r.region for r in default.regions] == ["us-central1", "europe-west4"]
    assert default.state.backend == "local"
    three = load_config(THREE_REGIONS_CONFIG)
    assert len(three.regions) == 3


@pytest.mark.parametrize("path", sorted(DEFAULT_CONFIG.parent.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_deployment_file_is_valid(path: Path) -> None:
    assert load_config(path).regions


def test_defaults_are_the_llm_settings() -> None:
    config = load_config(DEFAULT_CONFIG)
    assert config.frontend.request_timeout_sec >= 600
    assert config.frontend.connection_draining_sec >= config.frontend.request_timeout_sec
    assert config.server.port == 8000 and config.server.health_path == "/health"
    assert config.regions[0].autoscaling.metric == REQUESTS_RUNNING_METRIC
    assert config.regions[0].autoscaling.effective_target == 16.0


def test_model_is_frozen() -> None:
    config = load_config(DEFAULT_CONFIG)
    with pytest.raises(Exception):
        config.name = "other"  # type: ignore[misc]


INVALID = [
    pytest.param(lambda d: d.update(regions_typo=[]), "regions_typo", "unknown key", id="unknown-top-level-key"),
    pytest.param(lambda d: region(d).update(max_replica=3), "regions[0].max_replica", "unknown key", id="typo-in-region"),
    pytest.param(lambda d: d.pop("project_id"), "project_id", "required key is missing", id="missing-project"),
    pytest.param(lambda d: d.pop("regions"), "regions", "required key is missing", id="missing-regions"),
    pytest.param(lambda d: d.update(regions=[]), "regions", "at least 1", id="no-regions"),
    pytest.param(lambda d: region(d).update(min_replicas="2"), "regions[0].min_replicas", "expected a valid integer", id="string-for-int"),
    pytest.param(lambda d: region(d).update(min_replicas=-1), "regions[0].min_replicas", "greater than or equal to 0", id="negative-replicas"),
    pytest.param(lambda d: region(d).update(min_replicas=5, max_replicas=2), "regions[0].min_replicas", "must not exceed max_replicas", id="min-above-max"),
    pytest.param(lambda d: region(d).update(region="us-central9"), "regions[0].region", "unknown GCP region 'us-central9'", id="unknown-region"),
    pytest.param(lambda d: region(d).update(zones=["europe-west4-a"]), "regions[0].zones", "not a zone of us-central1", id="zone-outside-region"),
    pytest.param(lambda d: region(d, 1).update(region="us-central1", zones=None), "regions[1].region", "listed twice", id="duplicate-region"),
    pytest.param(lambda d: region(d).update(capacity_scaler=0.05), "regions[0].capacity_scaler", "0 (drained) or between 0.1 and 1.0", id="capacity-too-small"),
    pytest.param(lambda d: region(d).update(capacity_scaler=1.5), "regions[0].capacity_scaler", "0 (drained) or between 0.1 and 1.0", id="capacity-too-large"),
    pytest.param(lambda d: [r.update(capacity_scaler=0) for r in d["regions"]], "regions", "every region is drained", id="all-drained"),
    pytest.param(lambda d: d.update(name="LLM"), "name", "is not allowed", id="uppercase-name"),
    pytest.param(lambda d: d.update(name="a-very-long-name-prefix"), "name", "is not allowed", id="name-too-long"),
    pytest.param(lambda d: d.update(name="llm-"), "name", "is not allowed", id="name-trailing-dash"),
    pytest.param(lambda d: d.update(domains=["not a domain"]), "domains[0]", "is not allowed", id="invalid-domain"),
    pytest.param(lambda d: d.update(domains=["*.example.com"]), "domains[0]", "is not allowed", id="wildcard-domain"),
    pytest.param(lambda d: d.update(domains=["llm.example.com", "llm.example.com"]), "domains", "list each domain once", id="duplicate-domain"),
    pytest.param(lambda d: region(d).update(machine_type="e2-standard-8"), "regions[0].machine_type", "is not allowed", id="not-a-gpu-machine"),
    pytest.param(lambda d: region(d).update(machine_type="g2 standard 8"), "regions[0].machine_type", "is not allowed", id="malformed-machine"),
    pytest.param(lambda d: region(d).update(machine_type="n1-standard-8"), "regions[0].accelerator", "required for N1", id="n1-without-gpu"),
    pytest.param(lambda d: d.update(state={"backend": "s3"}), "state.backend", "'s3' is not a state backend", id="unknown-backend"),
    pytest.param(lambda d: d.update(state={}), "state.backend", "required key is missing", id="backend-missing"),
    pytest.param(lambda d: d.update(state={"backend": "gcs", "prefix": "llm"}), "state.bucket", "required key is missing", id="gcs-without-bucket"),
    pytest.param(lambda d: d.update(state={"backend": "gcs", "bucket": "Bad_Bucket!", "prefix": "llm"}), "state.bucket", "is not allowed", id="gcs-bad-bucket"),
    pytest.param(lambda d: d.update(state={"backend": "tfc", "workspace_prefix": "llm"}), "state.organization", "required key is missing", id="tfc-without-organization"),
    pytest.param(lambda d: d.update(state={"backend": "tfc", "organization": "acme", "workspace_prefix": "llm prod"}), "state.workspace_prefix", "is not allowed", id="tfc-bad-workspace"),
    pytest.param(lambda d: d.update(state={"backend": "tfc", "organization": "acme", "workspace_prefix": "w" * 61}), "state.workspace_prefix", "within 90 characters", id="tfc-workspace-too-long"),
    pytest.param(lambda d: d.update(state={"backend": "local", "directory": "/var/state"}), "state.directory", "is not allowed", id="absolute-state-dir"),
    pytest.param(lambda d: d.update(state={"backend": "local", "directory": "../elsewhere"}), "state.directory", "is not allowed", id="escaping-state-dir"),
    pytest.param(lambda d: region(d).update(serving_cidr="10.0.0.0/33"), "regions[0].serving_cidr", "not a CIDR block", id="bad-cidr"),
    pytest.param(lambda d: region(d).update(serving_cidr="8.8.8.0/24"), "regions[0].serving_cidr", "RFC 1918", id="public-cidr"),
    pytest.param(lambda d: region(d).update(serving_cidr="169.254.0.0/20"), "regions[0].serving_cidr", "RFC 1918", id="link-local-cidr"),
    pytest.param(lambda d: region(d).update(serving_cidr="192.168.0.0/30"), "regions[0].serving_cidr", "/29 or larger", id="tiny-cidr"),
    pytest.param(lambda d: region(d).update(machine_type="a4x-highgpu-4g"), "regions[0].machine_type", "is not allowed", id="arm-machine"),
    pytest.param(lambda d: region(d).update(min_replicas=0), "regions[0].min_replicas", "nothing publishes the metric", id="zero-min-with-metric"),
    pytest.param(lambda d: region(d, 1).update(serving_cidr="10.0.0.0/24"), "regions[1].serving_cidr", "overlaps regions[0].serving_cidr", id="overlapping-cidr"),
    pytest.param(lambda d: region(d).update(entry_point="external"), "regions[0].entry_domain", "required exactly when entry_point is external", id="external-without-domain"),
    pytest.param(lambda d: region(d).update(entry_point="public"), "regions[0].entry_point", "'public' is not allowed", id="unknown-entry-point"),
    pytest.param(lambda d: region(d).update(decommission=True), "regions[0].decommission", "drain the region first", id="decommission-undrained"),
    pytest.param(lambda d: d.update(frontend={"request_timeout_sec": 30}), "frontend.request_timeout_sec", "greater than or equal to 600", id="short-timeout"),
    pytest.param(lambda d: d.update(frontend={"request_timeout_sec": 1800, "connection_draining_sec": 900}), "frontend.connection_draining_sec", "at least request_timeout_sec", id="draining-shorter-than-requests"),
    pytest.param(lambda d: d.update(frontend={"rate_limit": {"key": "HTTP_HEADER"}}), "frontend.rate_limit.header_name", "required exactly when key is HTTP_HEADER", id="header-key-without-name"),
    pytest.param(lambda d: region(d).update(autoscaling={"signal": "load_balancing", "target": 5}), "regions[0].autoscaling.target", "fraction of capacity", id="lb-target-not-fraction"),
    pytest.param(lambda d: d.update(server={"health_path": "health"}), "server.health_path", "is not allowed", id="relative-health-path"),
]


@pytest.mark.parametrize(("change", "field", "message"), INVALID)
def test_invalid_document_names_field_and_rule(change: Callable[[dict[str, Any]], None], field: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(mutated(change), "deploy.yaml")
    line = str(caught.value)
    assert line.startswith(f"error: deploy.yaml: {field}: "), line
    assert message in line
    assert "\n" not in line


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        pytest.param("? [a, b]\n: x\n", "deploy.yaml: line 1", "is not a plain string", id="complex-key"),
        pytest.param("2024-01-01: x\n", "deploy.yaml: line 1", "is not a plain string", id="date-key"),
        pytest.param("regions: &r [*r]\n", "deploy.yaml: line 1", "cannot be read as plain data", id="self-alias"),
        pytest.param("", "deploy.yaml", "the file is empty", id="empty"),
        pytest.param("- a\n- b\n", "deploy.yaml", "the file is a list", id="list"),
        pytest.param("name: llm\n  bad: indent\n", "deploy.yaml: line 2", "invalid YAML", id="syntax-error"),
        pytest.param("name: llm\nname: other\n", "deploy.yaml: line 2", "duplicate key 'name'", id="duplicate-key"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, field: str, message: str) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = str(caught.value).replace(str(tmp_path) + "/", "")
    assert line.startswith(f"error: {field}: "), line
    assert message in line


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^error: .*nope.yaml: no such file \(set DEPLOYMENT_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_environment_variables() -> None:
    assert config_path({}) == "config/default.yaml"
    assert output_directory({}) == "cdktf.out"
    assert output_directory({"CDKTF_OUTDIR": "build/out"}) == "build/out"
    with pytest.raises(ConfigError, match=r"^error: environment: DEPLOYMENT_CONFIG: is empty"):
        config_path({"DEPLOYMENT_CONFIG": " "})
    with pytest.raises(ConfigError, match=r"^error: environment: CDKTF_OUTDIR: "):
        output_directory({"CDKTF_OUTDIR": ""})
    with pytest.raises(ConfigError, match=r"^error: environment: CDKTF_OUTDIR: "):
        output_directory({"CDKTF_OUTDIR": "out dir; rm -rf"})


def test_zero_min_replicas_is_allowed_with_load_balancing_signal() -> None:
    def scale_to_zero(document: dict[str, Any]) -> None:
        region(document).update(min_replicas=0, autoscaling={"signal": "load_balancing"})

    assert parse_config(mutated(scale_to_zero), "deploy.yaml").regions[0].min_replicas == 0


def test_connection_draining_follows_the_request_timeout_unless_set() -> None:
    longer = parse_config(mutated(lambda d: d.update(frontend={"request_timeout_sec": 1800})), "deploy.yaml")
    assert longer.frontend.connection_draining_sec == 1800
    capped = parse_config(mutated(lambda d: d.update(frontend={"request_timeout_sec": 7200})), "deploy.yaml")
    assert capped.frontend.connection_draining_sec == 3600
    explicit = {"request_timeout_sec": 900, "connection_draining_sec": 1200}
    assert parse_config(mutated(lambda d: d.update(frontend=explicit)), "deploy.yaml").frontend.connection_draining_sec == 1200


def test_decommissioned_region_leaves_the_serving_set() -> None:
    def drain_and_decommission(document: dict[str, Any]) -> None:
        region(document, 1).update(capacity_scaler=0, decommission=True)

    config = parse_config(mutated(drain_and_decommission), "deploy.yaml")
    assert [r.region for r in config.serving_regions] == ["us-central1"]
    assert [r.region for r in config.regions] == ["us-central1", "europe-west4"]
