"""Every key of the deployment file and its effect on the synthesized JSON.

tests/data/every-option.yaml sets each key to a value other than its default
(on its allowed bound where it has one) and is synthesized once per session.
One test per key asserts where the value lands, so a key that is ignored,
hard-coded or wired to the wrong attribute fails here, not only in a snapshot.
``test_every_key_is_covered`` fails when the model gains a key this file does
not test.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from constructs_lib import config as config_module
from constructs_lib.config import DeploymentConfig, parse_config
from tests.conftest import REPO, Synth, load_yaml

EVERY_OPTION = REPO / "tests" / "data" / "every-option.yaml"
EAST = "region-us-east4"  # external entry point, load_balancing signal, custom ranges, two zones
ASIA = "region-asia-southeast1"  # N1 + accelerator, metric signal, internal entry point
EUROPE = "region-europe-west4"  # decommissioned
GLOBAL = "global-frontend"

GBS = ("google_compute_backend_service", "global_backend")
RBS = ("google_compute_region_backend_service", "regional_backend")
AUTOSCALER = ("google_compute_region_autoscaler", "serving_pool_autoscaler")
MIG = ("google_compute_region_instance_group_manager", "serving_pool")
TEMPLATE = ("google_compute_instance_template", "inference_template")
EDGE = ("google_compute_security_policy", "edge_policy")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return load_yaml(EVERY_OPTION)


@pytest.fixture(scope="module")
def synth(synthesize: Callable[..., Synth], document: dict[str, Any]) -> Synth:
    return synthesize(document)


def res(synth: Synth, stack: str, kind: tuple[str, str]) -> dict[str, Any]:
    return synth.resource(stack, *kind)


def throttle(synth: Synth) -> dict[str, Any]:
    rules = res(synth, GLOBAL, EDGE)["rule"]
    return next(rule for rule in rules if rule["action"] == "throttle")["rate_limit_options"]


def startup(synth: Synth, stack: str) -> str:
    return res(synth, stack, TEMPLATE)["metadata"]["startup-script"]


# (key, check): each check reads the synthesized deployment and asserts one key's effect.
Check = Callable[[Synth], None]


def _project_id(s: Synth) -> None:
    for name in s.texts:
        assert s.stack(name)["provider"]["google"][0]["project"] == "acme-every-option"


def _name(s: Synth) -> None:
    assert res(s, GLOBAL, GBS)["name"] == "every-backend"
    assert res(s, ASIA, RBS)["name"] == "every-asia-southeast1-backend"


def _domains(s: Synth) -> None:
    certificate = s.resource(GLOBAL, "google_compute_managed_ssl_certificate", "frontend_certificate")
    assert certificate["managed"]["domains"] == ["llm.example.com", "api.example.com"]


def _state(key: str, value: str) -> Check:
    def check(s: Synth) -> None:
        for name in s.texts:
            gcs = s.stack(name)["terraform"]["backend"]["gcs"]
            assert gcs[key] == (f"{value}/{name}" if key == "prefix" else value)

    return check


def _state_backend(s: Synth) -> None:
    for name in s.texts:
        assert list(s.stack(name)["terraform"]["backend"]) == ["gcs"]
        for source in s.stack(name).get("data", {}).get("terraform_remote_state", {}).values():
            assert source["backend"] == "gcs"


def _server_image_and_model(s: Synth) -> None:
    description = res(s, ASIA, TEMPLATE)["description"]
    assert description == "LLM inference server (registry.example.com/vllm-openai:v0.11.1, meta-llama/Llama-3.1-8B-Instruct)"
    assert "registry.example.com/vllm-openai:v0.11.1 --model meta-llama/Llama-3.1-8B-Instruct" in startup(s, ASIA)


def _server_port(s: Synth) -> None:
    assert res(s, ASIA, MIG)["named_port"] == [{"name": "http", "port": 8080}]
    assert "--port 8080" in startup(s, ASIA)
    for stack, kind in ((GLOBAL, ("google_compute_health_check", "global_health_check")),
                        (ASIA, ("google_compute_region_health_check", "regional_health_check")),
                        (ASIA, ("google_compute_region_health_check", "autohealing"))):
        assert res(s, stack, kind)["http_health_check"]["port"] == 8080
    allow = s.resource("network", "google_compute_firewall", "allow_health_checks")["allow"]
    assert allow == [{"ports": ["8080"], "protocol": "tcp"}]
    assert res(s, ASIA, ("google_compute_firewall", "allow_proxy_only"))["allow"] == allow


def _server_health_path(s: Synth) -> None:
    assert res(s, GLOBAL, ("google_compute_health_check", "global_health_check"))["http_health_check"][
        "request_path"
    ] == "/v1/health"
    assert res(s, ASIA, ("google_compute_region_health_check", "autohealing"))["http_health_check"][
        "request_path"
    ] == "/v1/health"


def _server_args(s: Synth) -> None:
    assert "--port 8080 --max-model-len=8192 --max-num-seqs=48" in startup(s, ASIA)


def _server_model_load_seconds(s: Synth) -> None:
    assert res(s, ASIA, MIG)["auto_healing_policies"]["initial_delay_sec"] == 900


def _backend_services(check: Callable[[dict[str, Any]], None]) -> Check:
    """The global backend service and both regional ones take the frontend settings alike."""

    def run(s: Synth) -> None:
        check(res(s, GLOBAL, GBS))
        check(res(s, EAST, RBS))
        check(res(s, ASIA, RBS))

    return run


def _timeout(service: dict[str, Any]) -> None:
    assert service["timeout_sec"] == 1200


def _draining(service: dict[str, Any]) -> None:
    assert service["connection_draining_timeout_sec"] == 2400


def _log_sample_rate(service: dict[str, Any]) -> None:
    assert service["log_config"] == {"enable": True, "sample_rate": 0.25}


def _session_affinity(service: dict[str, Any]) -> None:
    assert service["session_affinity"] == "HEADER_FIELD"
    assert service["locality_lb_policy"] == "RING_HASH"
    assert service["consistent_hash"] == {"http_header_name": "x-conversation"}


def _max_rate(service: dict[str, Any]) -> None:
    assert {backend["max_rate_per_instance"] for backend in service["backend"]} == {3.5}


def _ssl_profile(s: Synth) -> None:
    assert s.resource(GLOBAL, "google_compute_ssl_policy", "tls_policy")["profile"] == "RESTRICTED"
    assert s.resource(EAST, "google_compute_region_ssl_policy", "regional_tls_policy")["profile"] == "RESTRICTED"


def _rate_limit(key: str, expected: Any) -> Check:
    def check(s: Synth) -> None:
        options = throttle(s)
        actual = {
            "requests": options["rate_limit_threshold"]["count"],
            "interval_sec": options["rate_limit_threshold"]["interval_sec"],
            "key": options["enforce_on_key"],
            "header_name": options.get("enforce_on_key_name"),
        }[key]
        assert actual == expected

    return check


def _region(s: Synth) -> None:
    assert {name for name in s.texts if name.startswith("region-")} == {EAST, ASIA, EUROPE}
    assert res(s, ASIA, RBS)["region"] == "asia-southeast1"


def _machine_type(s: Synth) -> None:
    assert res(s, EAST, TEMPLATE)["machine_type"] == "g2-standard-24"
    assert res(s, ASIA, TEMPLATE)["machine_type"] == "n1-standard-16"


def _accelerator(s: Synth) -> None:
    assert res(s, ASIA, TEMPLATE)["guest_accelerator"] == [{"count": 2, "type": "nvidia-tesla-t4"}]
    assert "guest_accelerator" not in res(s, EAST, TEMPLATE)


def _replicas(s: Synth) -> None:
    assert (res(s, EAST, AUTOSCALER)["autoscaling_policy"]["min_replicas"], res(s, EAST, AUTOSCALER)["autoscaling_policy"]["max_replicas"]) == (0, 7)
    assert (res(s, ASIA, AUTOSCALER)["autoscaling_policy"]["min_replicas"], res(s, ASIA, AUTOSCALER)["autoscaling_policy"]["max_replicas"]) == (2, 5)


def _capacity_scaler(s: Synth) -> None:
    backends = {backend["description"]: backend["capacity_scaler"] for backend in res(s, GLOBAL, GBS)["backend"]}
    assert backends == {"us-east4": 0.1, "asia-southeast1": 1}


def _zones(s: Synth) -> None:
    assert res(s, EAST, MIG)["distribution_policy_zones"] == ["us-east4-a", "us-east4-c"]
    assert res(s, ASIA, MIG)["distribution_policy_zones"] == ["asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"]


def _entry_point(s: Synth) -> None:
    rule = ("google_compute_forwarding_rule", "regional_forwarding_rule")
    assert (res(s, EAST, rule)["load_balancing_scheme"], res(s, EAST, rule)["port_range"]) == ("EXTERNAL_MANAGED", "443")
    assert (res(s, ASIA, rule)["load_balancing_scheme"], res(s, ASIA, rule)["port_range"]) == ("INTERNAL_MANAGED", "80")
    assert res(s, EAST, RBS)["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    assert res(s, ASIA, RBS)["load_balancing_scheme"] == "INTERNAL_MANAGED"


def _entry_domain(s: Synth) -> None:
    certificate = s.resource(EAST, "google_certificate_manager_certificate", "regional_certificate")
    assert certificate["managed"]["domains"] == ["east.llm.example.com"]
    assert "google_certificate_manager_certificate" not in s.stack(ASIA)["resource"]


def _decommission(s: Synth) -> None:
    assert "europe-west4" not in {backend["description"] for backend in res(s, GLOBAL, GBS)["backend"]}
    assert EUROPE in s.texts  # kept so that `cdktf destroy` can remove it
    assert EUROPE not in s.manifest["stacks"][GLOBAL]["dependencies"]


def _serving_cidr(s: Synth) -> None:
    assert s.resource(EAST, "google_compute_subnetwork", "serving_subnet")["ip_cidr_range"] == "10.200.0.0/20"


def _proxy_only_cidr(s: Synth) -> None:
    assert s.resource(EAST, "google_compute_subnetwork", "proxy_only_subnet")["ip_cidr_range"] == "10.201.0.0/26"
    assert res(s, EAST, ("google_compute_firewall", "allow_proxy_only"))["source_ranges"] == ["10.201.0.0/26"]


def _signal(s: Synth) -> None:
    east = res(s, EAST, AUTOSCALER)["autoscaling_policy"]
    asia = res(s, ASIA, AUTOSCALER)["autoscaling_policy"]
    assert "load_balancing_utilization" in east and "metric" not in east
    assert "metric" in asia and "load_balancing_utilization" not in asia


def _metric(s: Synth) -> None:
    metric = res(s, ASIA, AUTOSCALER)["autoscaling_policy"]["metric"]
    assert [(m["name"], m["type"]) for m in metric] == [("custom.googleapis.com/vllm/num_requests_waiting", "GAUGE")]


def _target(s: Synth) -> None:
    assert res(s, EAST, AUTOSCALER)["autoscaling_policy"]["load_balancing_utilization"] == {"target": 0.55}
    assert res(s, ASIA, AUTOSCALER)["autoscaling_policy"]["metric"][0]["target"] == 6


def _cooldown(s: Synth) -> None:
    assert res(s, EAST, AUTOSCALER)["autoscaling_policy"]["cooldown_period"] == 300
    assert res(s, ASIA, AUTOSCALER)["autoscaling_policy"]["cooldown_period"] == 3600


EFFECTS: dict[str, Check] = {
    "project_id": _project_id,
    "name": _name,
    "domains": _domains,
    "state.backend": _state_backend,
    "state.bucket": _state("bucket", "acme-tf-state"),
    "state.prefix": _state("prefix", "llm/every"),
    "state.impersonate_service_account": _state(
        "impersonate_service_account", "terraform@acme-every-option.iam.gserviceaccount.com"
    ),
    "server.image": _server_image_and_model,
    "server.model": _server_image_and_model,
    "server.port": _server_port,
    "server.health_path": _server_health_path,
    "server.args": _server_args,
    "server.model_load_seconds": _server_model_load_seconds,
    "frontend.request_timeout_sec": _backend_services(_timeout),
    "frontend.connection_draining_sec": _backend_services(_draining),
    "frontend.log_sample_rate": _backend_services(_log_sample_rate),
    "frontend.session_affinity_header": _backend_services(_session_affinity),
    "frontend.ssl_profile": _ssl_profile,
    "frontend.max_rate_per_instance": _backend_services(_max_rate),
    "frontend.rate_limit.requests": _rate_limit("requests", 50),
    "frontend.rate_limit.interval_sec": _rate_limit("interval_sec", 30),
    "frontend.rate_limit.key": _rate_limit("key", "HTTP_HEADER"),
    "frontend.rate_limit.header_name": _rate_limit("header_name", "x-api-key"),
    "regions.region": _region,
    "regions.machine_type": _machine_type,
    "regions.accelerator.type": _accelerator,
    "regions.accelerator.count": _accelerator,
    "regions.min_replicas": _replicas,
    "regions.max_replicas": _replicas,
    "regions.capacity_scaler": _capacity_scaler,
    "regions.zones": _zones,
    "regions.entry_point": _entry_point,
    "regions.entry_domain": _entry_domain,
    "regions.decommission": _decommission,
    "regions.serving_cidr": _serving_cidr,
    "regions.proxy_only_cidr": _proxy_only_cidr,
    "regions.autoscaling.signal": _signal,
    "regions.autoscaling.metric": _metric,
    "regions.autoscaling.target": _target,
    "regions.autoscaling.cooldown_sec": _cooldown,
}

COVERED_ELSEWHERE = {
    "state.directory": "tests/test_state_backends.py (local backend)",
    **{f"state.{key}": "tests/test_state_backends.py, tests/test_tfc_bootstrap.py (tfc backend)" for key in (
        "organization", "workspace_prefix", "hostname", "project", "vcs.identifier", "vcs.oauth_token_id", "vcs.branch",
    )},
}


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every key of a pydantic model, dotted, list items without an index; each state backend's keys."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = [
            arg for arg in _flatten(field.annotation) if isinstance(arg, type) and issubclass(arg, BaseModel)
        ]
        if nested:
            for submodel in nested:
                keys |= model_keys(submodel, f"{path}.")
        else:
            keys.add(path)
    return keys


def _flatten(annotation: Any) -> list[Any]:
    """The plain types inside ``Annotated``, ``X | None``, ``Union`` and ``tuple[X, ...]``."""
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [found for arg in args for found in _flatten(arg)]


def test_every_key_is_covered() -> None:
    keys = model_keys(DeploymentConfig)
    assert "regions.autoscaling.cooldown_sec" in keys and "frontend.rate_limit.key" in keys
    assert keys - set(EFFECTS) - set(COVERED_ELSEWHERE) == set()
    assert set(EFFECTS) - keys == set()


def test_every_option_file_sets_every_key_off_its_default(document: dict[str, Any]) -> None:
    config = parse_config(json.loads(json.dumps(document)), str(EVERY_OPTION))
    defaults = {
        "server": config_module.InferenceServer(),
        "frontend": config_module.Frontend(),
        "frontend.rate_limit": config_module.RateLimit(),
    }
    for section, default in defaults.items():
        current = config
        for part in section.split("."):
            current = getattr(current, part)
        for name in type(default).model_fields:
            if not isinstance(getattr(default, name), BaseModel):
                assert getattr(current, name) != getattr(default, name), f"{section}.{name} is left at its default"


@pytest.mark.parametrize("key", sorted(EFFECTS))
def test_key_reaches_the_json(synth: Synth, key: str) -> None:
    EFFECTS[key](synth)


def test_every_option_breaks_no_rule(synth: Synth) -> None:
    assert synth.violations == ()

