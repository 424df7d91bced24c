"""A region's own entry point: the RegionBackendService and the regional load balancer around it."""

from __future__ import annotations

from tests.conftest import Synth

REGION = "region-us-central1"


def test_region_backend_service_uses_its_regions_health_check_and_group(default_synth: Synth) -> None:
    backend = default_synth.resource(REGION, "google_compute_region_backend_service", "regional_backend")
    assert backend["load_balancing_scheme"] == "INTERNAL_MANAGED"
    assert backend["protocol"] == "HTTP"
    assert backend["port_name"] == "http"
    assert backend["region"] == "us-central1"
    assert backend["health_checks"] == ["${google_compute_region_health_check.regional_health_check.id}"]
    assert backend["backend"] == [
        {
            "balancing_mode": "RATE",
            "capacity_scaler": 1,
            "group": "${google_compute_region_instance_group_manager.serving_pool.instance_group}",
            "max_rate_per_instance": 8,
        }
    ]
    assert backend["timeout_sec"] >= 600
    assert backend["connection_draining_timeout_sec"] >= backend["timeout_sec"]


def test_regional_health_check_probes_the_server(default_synth: Synth) -> None:
    check = default_synth.resource(REGION, "google_compute_region_health_check", "regional_health_check")
    assert check["http_health_check"] == {"port": 8000, "request_path": "/health"}
    assert check["check_interval_sec"] * check["unhealthy_threshold"] <= 10


def test_internal_entry_point_has_a_proxy_only_subnet_and_its_firewall_rule(default_synth: Synth) -> None:
    proxy_only = default_synth.resource(REGION, "google_compute_subnetwork", "proxy_only_subnet")
    assert proxy_only["purpose"] == "REGIONAL_MANAGED_PROXY"
    assert proxy_only["role"] == "ACTIVE"
    assert proxy_only["ip_cidr_range"] == "10.0.16.0/23"
    firewall = default_synth.resource(REGION, "google_compute_firewall", "allow_proxy_only")
    assert firewall["source_ranges"] == ["10.0.16.0/23"]
    assert firewall["allow"] == [{"ports": ["8000"], "protocol": "tcp"}]

    rule = default_synth.resource(REGION, "google_compute_forwarding_rule", "regional_forwarding_rule")
    assert rule["load_balancing_scheme"] == "INTERNAL_MANAGED"
    assert rule["port_range"] == "80"
    assert rule["depends_on"] == ["google_compute_subnetwork.proxy_only_subnet"]
    assert rule["target"] == "${google_compute_region_target_http_proxy.regional_proxy.id}"
    assert rule["subnetwork"] == "${google_compute_subnetwork.serving_subnet.id}"


def test_external_entry_point_serves_https_with_a_dns_authorized_certificate(three_region_synth: Synth) -> None:
    stack = "region-us-east4"
    backend = three_region_synth.resource(stack, "google_compute_region_backend_service", "regional_backend")
    assert backend["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    certificate = three_region_synth.resource(stack, "google_certificate_manager_certificate", "regional_certificate")
    assert certificate["location"] == "us-east4"
    assert certificate["managed"]["domains"] == ["us.llm.example.com"]
    proxy = three_region_synth.resource(stack, "google_compute_region_target_https_proxy", "regional_proxy")
    assert proxy["certificate_manager_certificates"] == [
        "${google_certificate_manager_certificate.regional_certificate.id}"
    ]
    rule = three_region_synth.resource(stack, "google_compute_forwarding_rule", "regional_forwarding_rule")
    assert (rule["load_balancing_scheme"], rule["port_range"], rule["network_tier"]) == ("EXTERNAL_MANAGED", "443", "PREMIUM")
    assert "subnetwork" not in rule
    assert "dns_authorization_record" in three_region_synth.stack(stack)["output"]


def test_subnets_and_nat_keep_vms_private(default_synth: Synth) -> None:
    subnet = default_synth.resource(REGION, "google_compute_subnetwork", "serving_subnet")
    assert subnet["ip_cidr_range"] == "10.0.0.0/20"
    assert subnet["private_ip_google_access"] is True
    assert "log_config" in subnet
    nat = default_synth.resource(REGION, "google_compute_router_nat", "nat")
    assert nat["router"] == "${google_compute_router.nat_router.name}"
    assert nat["subnetwork"][0]["name"] == "${google_compute_subnetwork.serving_subnet.self_link}"


def test_only_api_and_health_paths_reach_the_servers(three_region_synth: Synth) -> None:
    """vLLM leaves paths outside /v1 (e.g. /pause) without its key, and the entry point has no Cloud Armor."""
    for stack in ("region-us-east4", "region-europe-west4"):
        url_map = three_region_synth.resource(stack, "google_compute_region_url_map", "regional_url_map")
        backend = "${google_compute_region_backend_service.regional_backend.id}"
        assert url_map["host_rule"] == [{"hosts": ["*"], "path_matcher": "api"}]
        (matcher,) = url_map["path_matcher"]
        assert matcher["path_rule"] == [{"paths": ["/v1/*", "/health"], "service": backend}]
        assert matcher["default_route_action"]["fault_injection_policy"]["abort"] == {"http_status": 404, "percentage": 100}


def test_regional_backend_is_tuned_like_the_global_one(default_synth: Synth) -> None:
    """One source for both: a server that fails is ejected by the regional entry point too."""
    regional = default_synth.resource(REGION, "google_compute_region_backend_service", "regional_backend")
    global_ = default_synth.resource("global-frontend", "google_compute_backend_service", "global_backend")
    shared = ("protocol", "port_name", "timeout_sec", "connection_draining_timeout_sec", "log_config",
              "outlier_detection", "locality_lb_policy", "enable_cdn")
    assert {key: regional.get(key) for key in shared} == {key: global_.get(key) for key in shared}
    assert regional["outlier_detection"] == {
        "base_ejection_time": {"seconds": 30},
        "consecutive_errors": 5,
        "consecutive_gateway_failure": 3,
        "interval": {"seconds": 10},
        "max_ejection_percent": 50,
    }
