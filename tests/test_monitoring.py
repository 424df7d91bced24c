"""Operators know when it breaks: per-region alert policies, the endpoint's uptime check, one dashboard."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from constructs_lib.monitoring import channel_names
from tests.conftest import Synth

POLICY = "google_monitoring_alert_policy"


def policies(synth: Synth, stack: str) -> dict[str, dict[str, Any]]:
    return synth.resources(stack, POLICY)


def test_every_region_has_its_own_alert_policies(three_region_synth: Synth) -> None:
    for region in ("us-east4", "europe-west4", "asia-southeast1"):
        stack = f"region-{region}"
        found = policies(three_region_synth, stack)
        assert set(found) == {"alert_no_serving_vm", "alert_at_max_replicas", "alert_error_ratio", "alert_latency_p95"}
        text = three_region_synth.texts[stack]
        others = {"us-east4", "europe-west4", "asia-southeast1"} - {region}
        assert not any(f"llm-{other}-pool" in text for other in others)
        assert f'backend_name=\\"llm-{region}-pool\\"' in text
    assert policies(three_region_synth, "network") == {}


def test_region_alerts_watch_the_right_signals(default_synth: Synth) -> None:
    found = policies(default_synth, "region-us-central1")
    absent = found["alert_no_serving_vm"]["conditions"][0]["condition_absent"]
    assert 'metric.type="custom.googleapis.com/vllm/num_requests_running"' in absent["filter"]
    assert 'metadata.user_labels.serving_pool="llm-us-central1-pool"' in absent["filter"]
    at_max = found["alert_at_max_replicas"]["conditions"][0]["condition_threshold"]
    assert 'resource.label.instance_group_name="llm-us-central1-pool"' in at_max["filter"]
    assert (at_max["comparison"], at_max["threshold_value"]) == ("COMPARISON_GT", 3.5)  # max_replicas 4
    errors = found["alert_error_ratio"]["conditions"][0]["condition_threshold"]
    assert errors["filter"] == errors["denominator_filter"] + ' AND metric.label.response_code_class="500"'
    assert errors["threshold_value"] == 0.05
    latency = found["alert_latency_p95"]["conditions"][0]["condition_threshold"]
    assert "backend_latencies" in latency["filter"] and latency["threshold_value"] == 120000
    assert latency["aggregations"][0]["cross_series_reducer"] == "REDUCE_PERCENTILE_95"
    template = default_synth.resource("region-us-central1", "google_compute_instance_template", "inference_template")
    assert template["labels"]["serving_pool"] == "llm-us-central1-pool"


def test_policies_exist_without_channels_and_notify_configured_ones(default_synth: Synth, three_region_synth: Synth) -> None:
    for policy in policies(default_synth, "region-us-central1").values():
        assert policy.get("notification_channels", []) == []
    for policy in policies(three_region_synth, "region-us-east4").values():
        assert policy["notification_channels"] == ["projects/acme-llm-prod/notificationChannels/1234567890123456789"]
    assert channel_names("p-1", ("7", "projects/other/notificationChannels/8")) == [
        "projects/p-1/notificationChannels/7",
        "projects/other/notificationChannels/8",
    ]


def test_fixed_size_region_has_no_at_max_alert(synthesize: Callable[[dict[str, Any]], Synth], default_document: dict[str, Any]) -> None:
    document = copy.deepcopy(default_document)
    document["regions"][0].update(min_replicas=2, max_replicas=2)
    assert "alert_at_max_replicas" not in policies(synthesize(document), "region-us-central1")


def test_uptime_check_on_the_public_url_with_its_alert(default_synth: Synth) -> None:
    check = default_synth.resource("global-frontend", "google_monitoring_uptime_check_config", "endpoint_uptime_check")
    assert check["monitored_resource"] == {"type": "uptime_url", "labels": {"host": "llm.example.com", "project_id": "acme-llm-prod"}}
    assert check["http_check"] == {"path": "/health", "port": 443, "use_ssl": True, "validate_ssl": True}
    alert = policies(default_synth, "global-frontend")["alert_endpoint_down"]
    condition = alert["conditions"][0]["condition_threshold"]
    assert "${google_monitoring_uptime_check_config.endpoint_uptime_check.uptime_check_id}" in condition["filter"]
    assert condition["aggregations"][0]["cross_series_reducer"] == "REDUCE_COUNT_FALSE"


def test_dashboard_groups_by_region_and_names_none(default_synth: Synth, three_region_synth: Synth) -> None:
    board = json.loads(default_synth.resource("global-frontend", "google_monitoring_dashboard", "fleet_dashboard")["dashboard_json"])
    titles = [tile["widget"]["title"] for tile in board["mosaicLayout"]["tiles"]]
    assert titles == [
        "Requests/s per region",
        "5xx responses/s per region",
        "p95 backend latency per region (ms)",
        "Running requests per region",
        "GPU utilization per region (%)",
    ]
    for tile in board["mosaicLayout"]["tiles"]:
        aggregation = tile["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"]["aggregation"]
        assert aggregation["groupByFields"] in (["resource.label.backend_scope"], ["metadata.user_labels.serving_pool"])
    other = three_region_synth.resource("global-frontend", "google_monitoring_dashboard", "fleet_dashboard")
    assert other["dashboard_json"] == default_synth.resource("global-frontend", "google_monitoring_dashboard", "fleet_dashboard")["dashboard_json"]
