"""A region's GPU serving pool: instance template, managed instance group, autoscaler."""

from __future__ import annotations

import subprocess

from constructs_lib.config import InferenceServer
from constructs_lib.gpu_catalog import boot_disk_type
from constructs_lib.serving_pool import SERVER_GAUGE, startup_script
from tests.conftest import Synth

REGION = "region-us-central1"


def test_instance_template_is_a_locked_down_gpu_vm(default_synth: Synth) -> None:
    template = default_synth.resource(REGION, "google_compute_instance_template", "inference_template")
    assert template["machine_type"] == "g2-standard-8"
    assert template["scheduling"]["on_host_maintenance"] == "TERMINATE"
    assert template["shielded_instance_config"] == {
        "enable_integrity_monitoring": True,
        "enable_secure_boot": True,
        "enable_vtpm": True,
    }
    assert template["metadata"]["block-project-ssh-keys"] == "true"
    assert all("access_config" not in nic for nic in template["network_interface"])
    assert template["service_account"]["email"] == "${data.terraform_remote_state.network.outputs.service_account_email}"
    assert template["tags"] == ["${data.terraform_remote_state.network.outputs.network_tag}"]
    assert template["lifecycle"]["create_before_destroy"] is True


def test_boot_disk_type_fits_the_machine_family(default_synth: Synth) -> None:
    template = default_synth.resource(REGION, "google_compute_instance_template", "inference_template")
    assert template["disk"][0]["disk_type"] == "pd-balanced"
    assert [boot_disk_type(m) for m in ("a3-highgpu-8g", "a4-highgpu-8g", "g4-standard-48")] == ["hyperdisk-balanced"] * 3
    assert [boot_disk_type(m) for m in ("g2-standard-8", "a2-highgpu-1g", "n1-standard-8")] == ["pd-balanced"] * 3


def test_n1_machine_types_get_their_accelerator(three_region_synth: Synth) -> None:
    template = three_region_synth.resource(
        "region-asia-southeast1", "google_compute_instance_template", "inference_template"
    )
    assert template["guest_accelerator"] == [{"count": 1, "type": "nvidia-tesla-t4"}]
    assert "guest_accelerator" not in three_region_synth.resource(
        "region-europe-west4", "google_compute_instance_template", "inference_template"
    )


def test_group_spreads_over_zones_with_a_named_port_and_autohealing(default_synth: Synth) -> None:
    group = default_synth.resource(REGION, "google_compute_region_instance_group_manager", "serving_pool")
    assert group["distribution_policy_zones"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert group["distribution_policy_target_shape"] == "BALANCED"
    assert group["update_policy"]["instance_redistribution_type"] == "NONE"
    assert group["named_port"] == [{"name": "http", "port": 8000}]
    assert group["auto_healing_policies"] == {
        "health_check": "${google_compute_region_health_check.autohealing.id}",
        "initial_delay_sec": 1200,
    }
    assert group["version"] == [
        {"instance_template": "${google_compute_instance_template.inference_template.self_link_unique}", "name": "primary"}
    ]
    assert "target_size" not in group


def test_rollouts_never_drop_below_capacity(default_synth: Synth) -> None:
    policy = default_synth.resource(REGION, "google_compute_region_instance_group_manager", "serving_pool")[
        "update_policy"
    ]
    assert policy["max_unavailable_fixed"] == 0
    assert policy["max_surge_fixed"] == 3


def test_autoscaler_follows_running_requests_within_the_configured_bounds(default_synth: Synth) -> None:
    autoscaler = default_synth.resource(REGION, "google_compute_region_autoscaler", "serving_pool_autoscaler")
    policy = autoscaler["autoscaling_policy"]
    assert (policy["min_replicas"], policy["max_replicas"]) == (1, 4)
    assert policy["metric"] == [
        {"name": "custom.googleapis.com/vllm/num_requests_running", "target": 16, "type": "GAUGE"}
    ]
    assert policy["cooldown_period"] == 1200
    assert autoscaler["target"] == "${google_compute_region_instance_group_manager.serving_pool.id}"


def test_configured_target_reaches_the_autoscaler(three_region_synth: Synth) -> None:
    policy = three_region_synth.resource(
        "region-us-east4", "google_compute_region_autoscaler", "serving_pool_autoscaler"
    )["autoscaling_policy"]
    assert policy["metric"][0]["target"] == 24
    assert (policy["min_replicas"], policy["max_replicas"]) == (2, 8)


def test_metrics_reporter_sums_the_running_requests_gauge() -> None:
    """The reporter's awk program, on the /metrics text vLLM serves."""
    script = startup_script(InferenceServer(), args=(), driver_version="R535", secret_env={})
    awk_program = script.split("| awk '", 1)[1].split("'", 1)[0]
    metrics = "\n".join(
        (
            f"# HELP {SERVER_GAUGE} Number of requests currently running on GPU.",
            f"# TYPE {SERVER_GAUGE} gauge",
            f'{SERVER_GAUGE}{{engine="0",model_name="m"}} 3.0',
            f'{SERVER_GAUGE}{{engine="1",model_name="m"}} 2.0',
            'vllm:num_requests_waiting{engine="0",model_name="m"} 7.0',
        )
    )
    result = subprocess.run(["awk", awk_program], input=metrics, text=True, capture_output=True, check=True)
    assert result.stdout.strip() == "5"
