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
from constructs_lib.config import ConfigError, DeploymentConfig, parse_config
from tests.conftest import REPO, Synth, load_yaml

EVERY_OPTION = REPO / "tests" / "data" / "every-option.yaml"
EAST = "region-us-east4"  # external entry point, load_balancing signal, custom ranges, Spot
ASIA = "region-asia-southeast1"  # N1 + accelerator, listed zones, metric signal, internal entry point, reservation
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


def _model_revision(s: Synth) -> None:
    for stack in (EAST, ASIA):
        assert "--model meta-llama/Llama-3.1-8B-Instruct --revision 0e9e39f249a16976918f6564b8830bc894c89659 " in startup(s, stack)


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
    """Both regions' VMs have two GPUs, so vLLM gets tensor parallelism over them after the arguments."""
    assert "--port 8080 --max-model-len=8192 --max-num-seqs=48 --tensor-parallel-size=2\n" in startup(s, ASIA)


def _region_server_args(s: Synth) -> None:
    assert (
        "--max-num-seqs=48 --gpu-memory-utilization=0.92 --tensor-parallel-size=2\n" in startup(s, EAST)
    )
    assert "--gpu-memory-utilization" not in startup(s, ASIA)


def _server_env(s: Synth) -> None:
    for stack in (EAST, ASIA):
        assert "  --env VLLM_LOGGING_LEVEL=DEBUG \\\n" in startup(s, stack)


def secret_grants(s: Synth) -> dict[str, str]:
    """Secret id -> role of each secret-level grant to the inference service account."""
    members = s.resources("network", "google_secret_manager_secret_iam_member")
    return {member["secret_id"]: member["role"] for member in members.values()}


def _auth_type(s: Synth) -> None:
    """api_key: every VM reads the key into VLLM_API_KEY, so vLLM refuses requests without it."""
    for stack in (EAST, ASIA):
        assert "printf 'VLLM_API_KEY=%s\\n' \"$value\"" in startup(s, stack)


def _auth_secret(s: Synth) -> None:
    assert secret_grants(s)["every-inference-key"] == "roles/secretmanager.secretAccessor"
    for stack in (EAST, ASIA):
        assert "read_secret every-inference-key" in startup(s, stack)


def _hf_token_secret(s: Synth) -> None:
    assert secret_grants(s) == {
        "every-inference-key": "roles/secretmanager.secretAccessor",
        "every-hf-token": "roles/secretmanager.secretAccessor",
    }
    script = startup(s, ASIA)
    assert "read_secret every-hf-token" in script and "printf 'HF_TOKEN=%s\\n' \"$value\"" in script


def _gpu_driver_version(s: Synth) -> None:
    for stack in (EAST, ASIA):  # L4 and T4 would otherwise get R535
        assert "cos-extensions install gpu -- --version=R550\n" in startup(s, stack)


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


def _max_rate(s: Synth) -> None:
    """The frontend's rate, except in a region with its own (asia-southeast1: 2.5)."""
    rates = {backend["description"]: backend["max_rate_per_instance"] for backend in res(s, GLOBAL, GBS)["backend"]}
    assert rates == {"us-east4": 3.5, "asia-southeast1": 2.5}
    assert [backend["max_rate_per_instance"] for backend in res(s, EAST, RBS)["backend"]] == [3.5]


def _region_max_rate(s: Synth) -> None:
    rates = {backend["description"]: backend["max_rate_per_instance"] for backend in res(s, GLOBAL, GBS)["backend"]}
    assert rates["asia-southeast1"] == 2.5
    assert [backend["max_rate_per_instance"] for backend in res(s, ASIA, RBS)["backend"]] == [2.5]


def _ssl_profile(s: Synth) -> None:
    assert s.resource(GLOBAL, "google_compute_ssl_policy", "tls_policy")["profile"] == "RESTRICTED"
    assert s.resource(EAST, "google_compute_region_ssl_policy", "regional_tls_policy")["profile"] == "RESTRICTED"


def _rate_limit(key: str, expected: Any) -> Check:
    def check(s: Synth) -> None:
        options = throttle(s)
        configs = options.get("enforce_on_key_configs", [])
        actual = {
            "requests": options["rate_limit_threshold"]["count"],
            "interval_sec": options["rate_limit_threshold"]["interval_sec"],
            "key": [config["enforce_on_key_type"] for config in configs],
            "header_name": [config.get("enforce_on_key_name") for config in configs],
        }[key]
        assert actual == expected
        assert "enforce_on_key" not in options

    return check


def _waf(s: Synth) -> None:
    rules = {rule["priority"]: rule for rule in res(s, GLOBAL, EDGE)["rule"]}
    assert [rules[priority]["match"]["expr"]["expression"] for priority in (910, 911)] == [
        "evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 4})",
        "evaluatePreconfiguredWaf('xss-v33-stable', {'sensitivity': 4})",
    ]
    assert {rules[priority]["action"] for priority in (910, 911)} == {"deny(403)"}
    assert 912 not in rules


def refused(change: Callable[[dict[str, Any]], None], field: str, message: str) -> Check:
    """A key whose only effect is a refusal: the file, changed so that the key no longer
    allows it, is refused on that field (and the file as is synthesizes, see test_every_option_breaks_no_rule)."""

    def check(s: Synth) -> None:
        document = load_yaml(EVERY_OPTION)
        change(document)
        with pytest.raises(ConfigError) as refusal:
            parse_config(document, str(EVERY_OPTION))
        assert f": {field}: " in str(refusal.value) and message in str(refusal.value)

    return check


def _peak_above_failover_capacity(document: dict[str, Any]) -> None:
    document["frontend"]["peak_requests_per_second"] = 2.5


def _no_external_publisher(document: dict[str, Any]) -> None:
    del document["regions"][1]["autoscaling"]["external_publisher"]


def _external_entry_point_with_default_protection(document: dict[str, Any]) -> None:
    del document["regions"][0]["external_entry_point_without_cloud_armor"]


def _provisioning(s: Synth) -> None:
    assert res(s, EAST, TEMPLATE)["scheduling"] == {
        "on_host_maintenance": "TERMINATE",
        "automatic_restart": False,
        "preemptible": True,
        "provisioning_model": "SPOT",
        "instance_termination_action": "DELETE",
    }
    assert "reservation_affinity" not in res(s, EAST, TEMPLATE)
    assert res(s, ASIA, TEMPLATE)["scheduling"] == {"on_host_maintenance": "TERMINATE", "automatic_restart": True}
    assert res(s, ASIA, TEMPLATE)["reservation_affinity"]["type"] == "SPECIFIC_RESERVATION"


def _reservation(s: Synth) -> None:
    assert res(s, ASIA, TEMPLATE)["reservation_affinity"]["specific_reservation"] == {
        "key": "compute.googleapis.com/reservation-name",
        "values": ["projects/acme-shared/reservations/t4-asia"],
    }


ALERT = "google_monitoring_alert_policy"


def _notification_channels(s: Synth) -> None:
    channels = [
        "projects/acme-every-option/notificationChannels/1234567890",
        "projects/acme-ops/notificationChannels/42",
    ]
    assert s.resource(GLOBAL, ALERT, "alert_endpoint_down")["notification_channels"] == channels
    for stack in (EAST, ASIA):
        policies = s.resources(stack, ALERT)
        assert policies and {tuple(policy["notification_channels"]) for policy in policies.values()} == {tuple(channels)}


def threshold(s: Synth, stack: str, policy: str) -> Any:
    return s.resource(stack, ALERT, policy)["conditions"][0]["condition_threshold"]["threshold_value"]


def _error_ratio(s: Synth) -> None:
    assert (threshold(s, EAST, "alert_error_ratio"), threshold(s, ASIA, "alert_error_ratio")) == (0.2, 0.2)


def _p95_latency(s: Synth) -> None:
    assert (threshold(s, EAST, "alert_latency_p95"), threshold(s, ASIA, "alert_latency_p95")) == (100, 100)


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
    """The listed zones (asia-southeast1 has T4s in all three); unlisted, the zones with the region's GPU."""
    assert res(s, ASIA, MIG)["distribution_policy_zones"] == ["asia-southeast1-a", "asia-southeast1-c"]
    assert res(s, EAST, MIG)["distribution_policy_zones"] == ["us-east4-a", "us-east4-c"]  # L4: not in us-east4-b


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
    "server.env": _server_env,
    "server.hf_token_secret": _hf_token_secret,
    "server.model_revision": _model_revision,
    "server.gpu_driver_version": _gpu_driver_version,
    "auth.type": _auth_type,
    "auth.secret": _auth_secret,
    "frontend.request_timeout_sec": _backend_services(_timeout),
    "frontend.connection_draining_sec": _backend_services(_draining),
    "frontend.log_sample_rate": _backend_services(_log_sample_rate),
    "frontend.session_affinity_header": _backend_services(_session_affinity),
    "frontend.ssl_profile": _ssl_profile,
    "frontend.max_rate_per_instance": _max_rate,
    "frontend.rate_limit.requests": _rate_limit("requests", 50),
    "frontend.rate_limit.interval_sec": _rate_limit("interval_sec", 30),
    "frontend.rate_limit.key": _rate_limit("key", ["IP", "HTTP_HEADER"]),
    "frontend.rate_limit.header_name": _rate_limit("header_name", [None, "x-api-key"]),
    "frontend.peak_requests_per_second": refused(
        _peak_above_failover_capacity,
        "frontend.peak_requests_per_second",
        "losing asia-southeast1 leaves 2.4 req/s for a peak of 2.5 (0.1 req/s short)",
    ),
    "frontend.waf.rule_sets": _waf,
    "frontend.waf.sensitivity": _waf,
    "alerts.notification_channels": _notification_channels,
    "alerts.error_ratio": _error_ratio,
    "alerts.p95_latency_ms": _p95_latency,
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
    "regions.external_entry_point_without_cloud_armor": refused(
        _external_entry_point_with_default_protection,
        "regions[0].external_entry_point_without_cloud_armor",
        "set it to true to accept that the external entry point has no rate limit or WAF",
    ),
    "regions.provisioning": _provisioning,
    "regions.reservation": _reservation,
    "regions.server_args": _region_server_args,
    "regions.max_rate_per_instance": _region_max_rate,
    "regions.decommission": _decommission,
    "regions.serving_cidr": _serving_cidr,
    "regions.proxy_only_cidr": _proxy_only_cidr,
    "regions.autoscaling.signal": _signal,
    "regions.autoscaling.metric": _metric,
    "regions.autoscaling.target": _target,
    "regions.autoscaling.cooldown_sec": _cooldown,
    "regions.autoscaling.external_publisher": refused(
        _no_external_publisher,
        "regions[1].autoscaling.metric",
        "nothing publishes custom.googleapis.com/vllm/num_requests_waiting",
    ),
}

COVERED_ELSEWHERE = {
    "server.weights_bucket": (
        "tests/test_auth.py::test_gated_model_token_and_weights_bucket_are_granted_on_those_resources_only "
        "(the bucket grant in the JSON), tests/test_startup_script.py::test_server_runs_the_pinned_model_and_image "
        "(the copy and mount); it excludes server.model_revision, which this file sets"
    ),
    "state.directory": "tests/test_state_backends.py (local backend)",
    "state.create_project": "tests/test_tfc_bootstrap.py::test_an_existing_project_is_used_by_name",
    **{f"state.{key}": "tests/test_state_backends.py, tests/test_tfc_bootstrap.py (tfc backend)" for key in (
        "organization", "workspace_prefix", "hostname", "project",
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
    assert set(COVERED_ELSEWHERE) - keys == set(), "COVERED_ELSEWHERE names keys the model no longer has"


def test_every_option_file_sets_every_key_off_its_default(document: dict[str, Any]) -> None:
    config = parse_config(json.loads(json.dumps(document)), str(EVERY_OPTION))
    defaults = {
        "server": config_module.InferenceServer(),
        "frontend": config_module.Frontend(),
        "frontend.rate_limit": config_module.RateLimit(),
        "alerts": config_module.Alerts(),
    }
    excluded = set(COVERED_ELSEWHERE)
    for section, default in defaults.items():
        current = config
        for part in section.split("."):
            current = getattr(current, part)
        for name in type(default).model_fields:
            if not isinstance(getattr(default, name), BaseModel) and f"{section}.{name}" not in excluded:
                assert getattr(current, name) != getattr(default, name), f"{section}.{name} is left at its default"


@pytest.mark.parametrize("key", sorted(EFFECTS))
def test_key_reaches_the_json(synth: Synth, key: str) -> None:
    EFFECTS[key](synth)


def test_every_option_breaks_no_rule(synth: Synth) -> None:
    assert synth.violations == ()

