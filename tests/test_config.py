"""The deployment file model: what it accepts, and the one line it prints for what it refuses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

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
    with pytest.raises(ValidationError, match="frozen"):
        config.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        config.regions[0].min_replicas = 9  # type: ignore[misc]
    assert config.name == "llm" and config.regions[0].min_replicas == 1


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
    pytest.param(lambda d: region(d).update(machine_type="e2-standard-8"), "regions[0].machine_type", "is not an x86 GPU machine type", id="not-a-gpu-machine"),
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
    pytest.param(lambda d: region(d).update(machine_type="a4x-highgpu-4g"), "regions[0].machine_type", "is not an x86 GPU machine type", id="arm-machine"),
    pytest.param(lambda d: region(d).update(min_replicas=0), "regions[0].min_replicas", "nothing publishes the metric", id="zero-min-with-metric"),
    pytest.param(lambda d: region(d, 1).update(serving_cidr="10.0.0.0/24"), "regions[1].serving_cidr", "overlaps regions[0].serving_cidr", id="overlapping-cidr"),
    pytest.param(lambda d: region(d).update(entry_point="external"), "regions[0].entry_domain", "required exactly when entry_point is external", id="external-without-domain"),
    pytest.param(lambda d: region(d).update(entry_point="public"), "regions[0].entry_point", "'public' is not allowed", id="unknown-entry-point"),
    pytest.param(lambda d: region(d).update(decommission=True), "regions[0].decommission", "drain the region first", id="decommission-undrained"),
    pytest.param(lambda d: d.update(frontend={"request_timeout_sec": 30}), "frontend.request_timeout_sec", "greater than or equal to 600", id="short-timeout"),
    pytest.param(lambda d: d.update(frontend={"request_timeout_sec": 1800, "connection_draining_sec": 900}), "frontend.connection_draining_sec", "at least request_timeout_sec", id="draining-shorter-than-requests"),
    pytest.param(lambda d: d.update(frontend={"rate_limit": {"key": "IP_AND_HTTP_HEADER"}}), "frontend.rate_limit.header_name", "required exactly when key is IP_AND_HTTP_HEADER", id="header-key-without-name"),
    pytest.param(lambda d: d.update(frontend={"rate_limit": {"key": "HTTP_HEADER", "header_name": "authorization"}}), "frontend.rate_limit.key", "use IP_AND_HTTP_HEADER", id="header-only-key"),
    pytest.param(lambda d: d.update(frontend={"waf": {"rule_sets": ["sqli-v33-stable", "sqli-v99"]}}), "frontend.waf.rule_sets", "'sqli-v99' is not a preconfigured rule set", id="unknown-waf-rule-set"),
    pytest.param(lambda d: d.update(frontend={"waf": {"rule_sets": ["xss-v33-stable"], "sensitivity": 5}}), "frontend.waf.sensitivity", "5 is not allowed", id="waf-sensitivity"),
    pytest.param(lambda d: d.update(auth={"type": "iap"}), "auth.type", "'iap' is not an authentication type; one of: api_key, none", id="unknown-auth"),
    pytest.param(lambda d: d.update(auth={"type": "api_key"}), "auth.secret", "required key is missing", id="api-key-without-secret"),
    pytest.param(lambda d: d.update(auth={"type": "api_key", "secret": "projects/p/secrets/x"}), "auth.secret", "is not allowed", id="secret-path-not-id"),
    pytest.param(lambda d: d.update(auth=None), "auth", "is not allowed", id="auth-null"),
    pytest.param(lambda d: d.update(server={"args": ["--max-num-seqs=8", "--api-key=letmein"]}), "server.args[1]", "Secret Manager", id="api-key-arg"),
    pytest.param(lambda d: d.update(server={"args": ["--hf-token=hf_abcdefghijklmnopqrstuvwxyz0123"]}), "server.args[0]", "a Hugging Face token", id="hf-token-arg"),
    pytest.param(lambda d: d.update(server={"env": ["OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234"]}), "server.env[0]", "an API key (sk-...); keep secrets out", id="api-key-env"),
    pytest.param(lambda d: d.update(server={"env": ["TLS_KEY=-----BEGIN"]}), "server.env[0]", "a private key", id="private-key-env"),
    pytest.param(lambda d: d.update(server={"env": ["VLLM_API_KEY=x"]}), "server.env", "set by the startup script", id="reserved-env"),
    pytest.param(lambda d: d.update(server={"env": ["lower=x"]}), "server.env[0]", "is not allowed", id="env-name"),
    pytest.param(lambda d: d.update(server={"image": "vllm/vllm-openai"}), "server.image", "no tag or digest", id="unpinned-image"),
    pytest.param(lambda d: d.update(server={"image": "vllm/vllm-openai:latest"}), "server.image", "'latest' moves", id="latest-image"),
    pytest.param(lambda d: d.update(server={"image": "vllm/vllm-openai@sha256:abc"}), "server.image", "is not a container image reference", id="short-digest"),
    pytest.param(lambda d: d.update(server={"image": "vllm/vllm-openai:v1;rm -rf /"}), "server.image", "is not a container image reference", id="shell-in-image"),
    pytest.param(lambda d: d.update(server={"image": "us-docker.pkg.dev/acme/vllm:v1"}), "server.image", "<location>-docker.pkg.dev/<project>/<repository>/<image>", id="artifact-registry-without-repository"),
    pytest.param(lambda d: d.update(server={"model_revision": "main;reboot"}), "server.model_revision", "is not allowed", id="bad-revision"),
    pytest.param(lambda d: d.update(server={"model_revision": "abc123", "weights_bucket": "weights"}), "server.model_revision", "applies to Hugging Face downloads", id="revision-with-bucket"),
    pytest.param(lambda d: d.update(server={"weights_bucket": "gs://weights"}), "server.weights_bucket", "is not allowed", id="bucket-url"),
    pytest.param(lambda d: d.update(server={"hf_token_secret": "hf_abc def"}), "server.hf_token_secret", "is not allowed", id="bad-hf-secret-id"),
    pytest.param(lambda d: d.update(server={"gpu_driver_version": "latest"}), "server.gpu_driver_version", "is not allowed", id="latest-driver"),
    pytest.param(lambda d: d.update(alerts={"notification_channels": ["projects/x/notificationChannels/1"]}), "alerts.notification_channels[0]", "is not allowed", id="bad-channel"),
    pytest.param(lambda d: d.update(alerts={"error_ratio": 0}), "alerts.error_ratio", "greater than 0", id="zero-error-ratio"),
    pytest.param(lambda d: region(d).update(entry_point="external", entry_domain="us.llm.example.com"), "regions[0].external_entry_point_without_cloud_armor", "set it to true to accept", id="external-without-acknowledgement"),
    pytest.param(lambda d: region(d).update(external_entry_point_without_cloud_armor=True), "regions[0].external_entry_point_without_cloud_armor", "only for entry_point: external", id="acknowledgement-on-internal"),
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


def _frontend(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.update(frontend=dict(values))


def _region0(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: region(d).update(values)


def _server(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.update(server=dict(values))


def _autoscaling(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: region(d).update(autoscaling=dict(values))


# (the last value accepted, the first refused, the field the error names): each bound of the model.
BOUNDS = [
    pytest.param(_frontend(request_timeout_sec=600), _frontend(request_timeout_sec=599), "frontend.request_timeout_sec", id="timeout-min"),
    pytest.param(_frontend(request_timeout_sec=86400, connection_draining_sec=3600), _frontend(request_timeout_sec=86401), "frontend.request_timeout_sec", id="timeout-max"),
    pytest.param(_frontend(connection_draining_sec=600, request_timeout_sec=600), _frontend(connection_draining_sec=599, request_timeout_sec=600), "frontend.connection_draining_sec", id="draining-min"),
    pytest.param(_frontend(connection_draining_sec=3600), _frontend(connection_draining_sec=3601), "frontend.connection_draining_sec", id="draining-max"),
    pytest.param(_frontend(request_timeout_sec=1200, connection_draining_sec=1200), _frontend(request_timeout_sec=1200, connection_draining_sec=1199), "frontend.connection_draining_sec", id="draining-covers-timeout"),
    pytest.param(_frontend(log_sample_rate=1.0), _frontend(log_sample_rate=1.01), "frontend.log_sample_rate", id="sample-rate-max"),
    pytest.param(_frontend(log_sample_rate=0.0), _frontend(log_sample_rate=-0.01), "frontend.log_sample_rate", id="sample-rate-min"),
    pytest.param(_frontend(max_rate_per_instance=10000), _frontend(max_rate_per_instance=10000.5), "frontend.max_rate_per_instance", id="max-rate-max"),
    pytest.param(_frontend(max_rate_per_instance=0.01), _frontend(max_rate_per_instance=0), "frontend.max_rate_per_instance", id="max-rate-positive"),
    pytest.param(_frontend(rate_limit={"requests": 1}), _frontend(rate_limit={"requests": 0}), "frontend.rate_limit.requests", id="rate-limit-min"),
    pytest.param(_frontend(rate_limit={"requests": 1_000_000}), _frontend(rate_limit={"requests": 1_000_001}), "frontend.rate_limit.requests", id="rate-limit-max"),
    pytest.param(_frontend(rate_limit={"interval_sec": 3600}), _frontend(rate_limit={"interval_sec": 3601}), "frontend.rate_limit.interval_sec", id="rate-interval"),
    pytest.param(_server(port=1024), _server(port=1023), "server.port", id="port-min"),
    pytest.param(_server(port=65535), _server(port=65536), "server.port", id="port-max"),
    pytest.param(_server(model_load_seconds=60), _server(model_load_seconds=59), "server.model_load_seconds", id="load-min"),
    pytest.param(_server(model_load_seconds=3600), _server(model_load_seconds=3601), "server.model_load_seconds", id="load-max"),
    pytest.param(_region0(max_replicas=1000), _region0(max_replicas=1001), "regions[0].max_replicas", id="replicas-max"),
    pytest.param(_region0(min_replicas=1, max_replicas=1), _region0(min_replicas=1, max_replicas=0), "regions[0].max_replicas", id="max-replicas-min"),
    pytest.param(_region0(min_replicas=4, max_replicas=4), _region0(min_replicas=5, max_replicas=4), "regions[0].min_replicas", id="min-equals-max"),
    pytest.param(_region0(capacity_scaler=0.1), _region0(capacity_scaler=0.099), "regions[0].capacity_scaler", id="capacity-min"),
    pytest.param(_region0(capacity_scaler=1.0), _region0(capacity_scaler=1.001), "regions[0].capacity_scaler", id="capacity-max"),
    pytest.param(_region0(proxy_only_cidr="10.201.0.0/26"), _region0(proxy_only_cidr="10.201.0.0/27"), "regions[0].proxy_only_cidr", id="proxy-only-size"),
    pytest.param(_region0(serving_cidr="10.200.0.0/29"), _region0(serving_cidr="10.200.0.0/30"), "regions[0].serving_cidr", id="serving-size"),
    pytest.param(_autoscaling(cooldown_sec=60), _autoscaling(cooldown_sec=59), "regions[0].autoscaling.cooldown_sec", id="cooldown-min"),
    pytest.param(_autoscaling(cooldown_sec=3600), _autoscaling(cooldown_sec=3601), "regions[0].autoscaling.cooldown_sec", id="cooldown-max"),
    pytest.param(_autoscaling(target=100_000), _autoscaling(target=100_001), "regions[0].autoscaling.target", id="metric-target-max"),
    pytest.param(_autoscaling(signal="load_balancing", target=1), _autoscaling(signal="load_balancing", target=1.01), "regions[0].autoscaling.target", id="lb-target-max"),
    pytest.param(_autoscaling(signal="load_balancing", target=0.01), _autoscaling(signal="load_balancing", target=0), "regions[0].autoscaling.target", id="lb-target-positive"),
]


@pytest.mark.parametrize(("accepted", "refused", "field"), BOUNDS)
def test_bounds(accepted: Callable[[dict[str, Any]], None], refused: Callable[[dict[str, Any]], None], field: str) -> None:
    parse_config(mutated(accepted), "deploy.yaml")
    with pytest.raises(ConfigError) as caught:
        parse_config(mutated(refused), "deploy.yaml")
    assert str(caught.value).startswith(f"error: deploy.yaml: {field}: "), caught.value
