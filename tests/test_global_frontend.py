"""The global anycast endpoint: one backend per region, read from remote state, tuned for LLM traffic."""

from __future__ import annotations

from tests.conftest import Synth

STACK = "global-frontend"


def test_one_backend_per_region_read_from_that_regions_remote_state(default_synth: Synth) -> None:
    service = default_synth.resource(STACK, "google_compute_backend_service", "global_backend")
    assert [(b["description"], b["group"]) for b in service["backend"]] == [
        ("us-central1", "${data.terraform_remote_state.region-us-central1.outputs.instance_group}"),
        ("europe-west4", "${data.terraform_remote_state.region-europe-west4.outputs.instance_group}"),
    ]
    assert set(default_synth.stack(STACK)["data"]["terraform_remote_state"]) == {
        "region-us-central1",
        "region-europe-west4",
    }


def test_capacity_comes_from_the_config(three_region_synth: Synth) -> None:
    service = three_region_synth.resource(STACK, "google_compute_backend_service", "global_backend")
    assert {b["description"]: b["capacity_scaler"] for b in service["backend"]} == {
        "us-east4": 1,
        "europe-west4": 1,
        "asia-southeast1": 0,
    }


def test_backend_service_is_tuned_for_long_streamed_requests(default_synth: Synth) -> None:
    service = default_synth.resource(STACK, "google_compute_backend_service", "global_backend")
    assert service["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    assert (service["protocol"], service["port_name"]) == ("HTTP", "http")
    assert service["timeout_sec"] == 900
    assert service["connection_draining_timeout_sec"] >= service["timeout_sec"]
    assert service["health_checks"] == ["${google_compute_health_check.global_health_check.id}"]
    assert service["locality_lb_policy"] == "LEAST_REQUEST"
    assert service["outlier_detection"]["consecutive_errors"] == 5
    assert service["log_config"] == {"enable": True, "sample_rate": 1}
    assert service["security_policy"] == "${google_compute_security_policy.edge_policy.id}"
    assert service["enable_cdn"] is False
    assert all(b["balancing_mode"] == "RATE" and b["max_rate_per_instance"] == 8 for b in service["backend"])


def test_header_session_affinity_uses_consistent_hashing(three_region_synth: Synth) -> None:
    service = three_region_synth.resource(STACK, "google_compute_backend_service", "global_backend")
    assert service["session_affinity"] == "HEADER_FIELD"
    assert service["locality_lb_policy"] == "RING_HASH"
    assert service["consistent_hash"] == {"http_header_name": "x-session-id"}
    assert service["log_config"]["sample_rate"] == 0.5


def test_global_health_check_fails_a_dead_region_within_seconds(default_synth: Synth) -> None:
    check = default_synth.resource(STACK, "google_compute_health_check", "global_health_check")
    assert check["http_health_check"] == {"port": 8000, "request_path": "/health"}
    assert check["check_interval_sec"] * check["unhealthy_threshold"] <= 10


def test_https_endpoint_with_managed_certificate_and_modern_tls(default_synth: Synth) -> None:
    address = default_synth.resource(STACK, "google_compute_global_address", "frontend_address")
    assert address["lifecycle"]["prevent_destroy"] is True
    certificate = default_synth.resource(STACK, "google_compute_managed_ssl_certificate", "frontend_certificate")
    assert certificate["managed"]["domains"] == ["llm.example.com"]
    assert certificate["name"].startswith("llm-cert-")
    policy = default_synth.resource(STACK, "google_compute_ssl_policy", "tls_policy")
    assert (policy["profile"], policy["min_tls_version"]) == ("MODERN", "TLS_1_2")
    proxy = default_synth.resource(STACK, "google_compute_target_https_proxy", "frontend_https_proxy")
    assert proxy["ssl_certificates"] == ["${google_compute_managed_ssl_certificate.frontend_certificate.id}"]
    assert proxy["ssl_policy"] == "${google_compute_ssl_policy.tls_policy.id}"
    assert proxy["url_map"] == "${google_compute_url_map.frontend_url_map.id}"
    url_map = default_synth.resource(STACK, "google_compute_url_map", "frontend_url_map")
    assert url_map["default_service"] == "${google_compute_backend_service.global_backend.id}"


def test_port_80_only_redirects_to_https(default_synth: Synth) -> None:
    rules = default_synth.resources(STACK, "google_compute_global_forwarding_rule")
    assert {name: (r["port_range"], r["load_balancing_scheme"]) for name, r in rules.items()} == {
        "frontend_https": ("443", "EXTERNAL_MANAGED"),
        "http_redirect": ("80", "EXTERNAL_MANAGED"),
    }
    assert rules["http_redirect"]["target"] == "${google_compute_target_http_proxy.http_redirect_proxy.id}"
    redirect = default_synth.resource(STACK, "google_compute_url_map", "http_redirect_url_map")
    assert redirect["default_url_redirect"]["https_redirect"] is True
    assert "default_service" not in redirect


def test_cloud_armor_throttles_each_client(three_region_synth: Synth) -> None:
    policy = three_region_synth.resource(STACK, "google_compute_security_policy", "edge_policy")
    rules = {rule["priority"]: rule for rule in policy["rule"]}
    throttle = rules[1000]
    assert throttle["action"] == "throttle"
    assert throttle["rate_limit_options"]["exceed_action"] == "deny(429)"
    assert throttle["rate_limit_options"]["rate_limit_threshold"] == {"count": 300, "interval_sec": 60}
    assert throttle["rate_limit_options"]["enforce_on_key_configs"] == [
        {"enforce_on_key_type": "IP"},
        {"enforce_on_key_name": "authorization", "enforce_on_key_type": "HTTP_HEADER"},
    ]
    assert "enforce_on_key" not in throttle["rate_limit_options"]
    assert rules[2147483647]["action"] == "allow"
    assert rules[900]["match"]["expr"]["expression"] == "evaluatePreconfiguredExpr('cve-canary')"


def test_default_throttle_keys_on_the_client_ip(default_synth: Synth) -> None:
    policy = default_synth.resource(STACK, "google_compute_security_policy", "edge_policy")
    throttle = next(rule for rule in policy["rule"] if rule["action"] == "throttle")
    assert throttle["rate_limit_options"]["enforce_on_key"] == "IP"
    assert "enforce_on_key_configs" not in throttle["rate_limit_options"]
    assert not any("evaluatePreconfiguredWaf" in str(rule["match"]) for rule in policy["rule"])


def test_only_the_api_and_health_paths_are_public(default_synth: Synth) -> None:
    policy = default_synth.resource(STACK, "google_compute_security_policy", "edge_policy")
    first = min(policy["rule"], key=lambda rule: rule["priority"])
    assert first["action"] == "deny(404)"
    assert first["match"]["expr"]["expression"] == "!(request.path.startsWith('/v1/') || request.path == '/health')"


def test_waf_rule_sets_deny_at_the_chosen_sensitivity(three_region_synth: Synth) -> None:
    policy = three_region_synth.resource(STACK, "google_compute_security_policy", "edge_policy")
    waf = sorted(
        (rule["priority"], rule["action"], rule["match"]["expr"]["expression"])
        for rule in policy["rule"]
        if "evaluatePreconfiguredWaf" in str(rule["match"])
    )
    assert waf == [
        (910, "deny(403)", "evaluatePreconfiguredWaf('lfi-v33-stable', {'sensitivity': 1})"),
        (911, "deny(403)", "evaluatePreconfiguredWaf('rce-v33-stable', {'sensitivity': 1})"),
        (912, "deny(403)", "evaluatePreconfiguredWaf('scannerdetection-v33-stable', {'sensitivity': 1})"),
    ]
    throttle_priority = next(rule["priority"] for rule in policy["rule"] if rule["action"] == "throttle")
    assert all(priority < throttle_priority for priority, _, _ in waf)
