"""The GPU catalog and zone table: consistent data, the checks the deployment file runs, their effect on the JSON."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from constructs_lib import gcp_regions, gpu_catalog
from constructs_lib.config import REQUESTS_RUNNING_METRIC, ConfigError, load_config, parse_config
from constructs_lib.serving_pool import RESERVATION_NAME_KEY
from tests.conftest import DEFAULT_CONFIG, GPU_CAPACITY_CONFIG, Synth, load_yaml

BASE = load_yaml(DEFAULT_CONFIG)
KNOWN_DISKS = {"pd-balanced", "pd-ssd", "pd-standard", "hyperdisk-balanced"}


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    change(document)
    return document


def first_region(**settings: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        region = document["regions"][0]
        region.update(settings)
        for key in [key for key, value in settings.items() if value is None]:
            region.pop(key)

    return change


def refusal(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(document, "deploy.yaml")
    return str(caught.value)


# --- the tables ---------------------------------------------------------------------------


def test_tables_record_their_source_and_date() -> None:
    types = yaml.safe_load(gpu_catalog.MACHINE_TYPES_FILE.read_text())
    zones = yaml.safe_load(gpu_catalog.ZONES_FILE.read_text())
    assert "https://cloud.google.com/compute/docs/gpus" in types["sources"]
    assert zones["source"] == "https://cloud.google.com/compute/docs/gpus/gpu-regions-zones"
    for taken in (types["taken"], zones["taken"]):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(taken))


def test_every_zone_in_the_zone_table_is_a_zone_of_a_known_region() -> None:
    known = {zone for zones in gcp_regions.ZONES.values() for zone in zones}
    for gpu, zones in gpu_catalog.catalog().zones.items():
        assert zones, gpu
        assert len(set(zones)) == len(zones), f"{gpu} lists a zone twice"
        assert set(zones) <= known, f"{gpu}: {sorted(set(zones) - known)} not in gcp_regions"


def test_every_gpu_of_the_catalog_has_zones_and_every_zone_row_a_machine() -> None:
    table = gpu_catalog.catalog()
    sold = {spec.gpu for spec in table.machines.values()} | set(table.n1_gpus)
    assert sold == set(table.zones)


def test_machine_entries_are_well_formed() -> None:
    table = gpu_catalog.catalog()
    for name, spec in table.machines.items():
        assert name.split("-")[0] in {"a2", "a3", "a4", "g2", "g4"}, name
        assert spec.gpu_count >= 1 and spec.vcpus >= 1 and spec.memory_gb > 0, name
        assert spec.boot_disk_types and set(spec.boot_disk_types) <= KNOWN_DISKS, name
        assert spec.provisioning and set(spec.provisioning) <= set(gpu_catalog.PROVISIONING_MODELS), name
    for gpu in table.n1_gpus.values():
        assert set(gpu.limits) <= {1, 2, 4, 8}
        assert any(gpu.fits(count, shape) for count in gpu.limits for shape in table.n1_shapes.values())
    assert all(name.startswith("n1-") for name in table.n1_shapes)


def test_machine_gpus_is_the_bundled_gpu_or_none() -> None:
    assert gpu_catalog.machine_gpus("g2-standard-8") == ("nvidia-l4", 1)
    assert gpu_catalog.machine_gpus("g2-standard-48") == ("nvidia-l4", 4)
    assert gpu_catalog.machine_gpus("a3-highgpu-8g") == ("nvidia-h100-80gb", 8)
    assert gpu_catalog.machine_gpus("a2-ultragpu-1g") == ("nvidia-a100-80gb", 1)
    assert gpu_catalog.machine_gpus("n1-standard-8") is None
    assert gpu_catalog.machine_gpus("g2-standard-7") is None


def test_boot_disks_come_from_the_catalog() -> None:
    assert gpu_catalog.boot_disk_type("a4-highgpu-8g") == "hyperdisk-balanced"
    assert gpu_catalog.boot_disk_type("g4-standard-48") == "hyperdisk-balanced"
    assert gpu_catalog.boot_disk_type("g2-standard-8") == "pd-balanced"
    assert gpu_catalog.boot_disk_type("n1-standard-8") == "pd-balanced"


def test_shorthand_names_each_stem_once() -> None:
    assert gpu_catalog.shorthand(["g2-standard-4", "g2-standard-8", "a2-highgpu-1g"]) == "g2-standard-4, -8, a2-highgpu-1g"


# --- what the deployment file refuses ---------------------------------------------------------

REFUSED = [
    pytest.param(
        first_region(machine_type="g2-standard-7"),
        "regions[0].machine_type: g2-standard-7 is not a G2 machine type; "
        "G2: g2-standard-4, -8, -12, -16, -24, -32, -48, -96",
        id="unknown-g2-size",
    ),
    pytest.param(
        first_region(machine_type="a2-x"),
        "regions[0].machine_type: a2-x is not a A2 machine type; "
        "A2: a2-highgpu-1g, -2g, -4g, -8g, a2-megagpu-16g, a2-ultragpu-1g, -2g, -4g, -8g",
        id="unknown-a2",
    ),
    pytest.param(
        first_region(machine_type="n1-standard-8", accelerator={"type": "nvidia-l4", "count": 1}),
        "regions[0].accelerator.type: nvidia-l4 does not attach to N1; one of: nvidia-tesla-t4, "
        "nvidia-tesla-p4, nvidia-tesla-v100, nvidia-tesla-p100 (nvidia-l4 comes with G2 machine types)",
        id="n1-with-l4",
    ),
    pytest.param(
        first_region(machine_type="n1-standard-8", accelerator={"type": "nvidia-tesla-t4", "count": 8}),
        "regions[0].accelerator.count: nvidia-tesla-t4 attaches to N1 in counts of 1, 2, 4, not 8",
        id="eight-t4",
    ),
    pytest.param(
        first_region(machine_type="n1-standard-96", accelerator={"type": "nvidia-tesla-t4", "count": 1}),
        "regions[0].machine_type: n1-standard-96 (96 vCPUs, 360 GB) is too large for 1 x nvidia-tesla-t4; one of: "
        "n1-standard-1, -2, -4, -8, -16, -32, n1-highmem-2, -4, -8, -16, -32, n1-highcpu-2, -4, -8, -16, -32",
        id="n1-shape-too-large",
    ),
    pytest.param(
        first_region(accelerator={"type": "nvidia-l4", "count": 1}),
        "regions[0].accelerator: g2-standard-8 comes with 1 x nvidia-l4; remove accelerator "
        "(only N1 machine types take one)",
        id="accelerator-on-g2",
    ),
    pytest.param(
        first_region(region="us-east4", zones=["us-east4-a", "us-east4-b"]),
        "regions[0].zones: us-east4-b does not offer nvidia-l4; zones of us-east4 that do: us-east4-a, us-east4-c",
        id="zone-without-gpu",
    ),
    pytest.param(
        first_region(region="southamerica-west1", zones=None),
        "regions[0].region: southamerica-west1 has no zone with nvidia-l4; regions that offer it:",
        id="region-without-gpu",
    ),
    pytest.param(
        first_region(machine_type="a3-highgpu-1g", region="us-east4", zones=None),
        "regions[0].provisioning: Google sells a3-highgpu-1g only as spot, flex_start; use provisioning: spot "
        "(flex_start cannot be expressed for a managed instance group here; see README), "
        "or a type sold on_demand: a3-highgpu-8g",
        id="a3-high-small-on-demand",
    ),
    pytest.param(
        first_region(machine_type="a4-highgpu-8g", region="us-east4", zones=None),
        "regions[0].provisioning: Google sells a4-highgpu-8g only as reservation, spot, flex_start; "
        "use provisioning: reservation or spot",
        id="a4-on-demand",
    ),
    pytest.param(
        first_region(machine_type="a3-highgpu-2g", region="us-east4", zones=None, provisioning="reservation", reservation="r"),
        "regions[0].provisioning: Google sells a3-highgpu-2g only as spot, flex_start; use provisioning: spot",
        id="a3-high-small-reservation",
    ),
    pytest.param(
        first_region(provisioning="flex_start"),
        "regions[0].provisioning: 'flex_start' is not allowed (expected 'on_demand', 'spot' or 'reservation')",
        id="flex-start",
    ),
    pytest.param(
        first_region(provisioning="reservation"),
        "regions[0].reservation: required exactly when provisioning is reservation (the reservation's name)",
        id="reservation-without-name",
    ),
    pytest.param(
        first_region(reservation="llm-l4"),
        "regions[0].reservation: required exactly when provisioning is reservation (the reservation's name)",
        id="name-without-reservation",
    ),
    pytest.param(
        first_region(provisioning="reservation", reservation="Bad Name"),
        "regions[0].reservation: 'Bad Name' is not allowed",
        id="reservation-bad-name",
    ),
    pytest.param(
        first_region(server_args=["--x=1; rm -rf /"]),
        "regions[0].server_args[0]: '--x=1; rm -rf /' is not allowed",
        id="server-args-shell",
    ),
    pytest.param(
        first_region(max_rate_per_instance=0),
        "regions[0].max_rate_per_instance: must be greater than 0",
        id="zero-rate",
    ),
    pytest.param(
        first_region(serving_cidr="172.17.4.0/24"),
        "regions[0].serving_cidr: '172.17.4.0/24' overlaps 172.17.0.0/16, the container bridge on "
        "Container-Optimized OS, so VMs could not answer it; choose a range outside it",
        id="serving-range-on-docker-bridge",
    ),
    pytest.param(
        first_region(proxy_only_cidr="172.16.0.0/15"),
        "regions[0].proxy_only_cidr: '172.16.0.0/15' overlaps 172.17.0.0/16",
        id="proxy-range-covering-docker-bridge",
    ),
    pytest.param(
        first_region(autoscaling={"metric": "custom.googleapis.com/queue_depth"}),
        f"regions[0].autoscaling.metric: nothing publishes custom.googleapis.com/queue_depth: the VM's reporter "
        f"publishes only {REQUESTS_RUNNING_METRIC}; use it, or set external_publisher: true if another service writes it",
        id="unpublished-metric",
    ),
    pytest.param(
        lambda d: d.update(frontend={"peak_requests_per_second": 40}),
        "frontend.peak_requests_per_second: losing us-central1 leaves 32 req/s for a peak of 40 (8 req/s short); "
        "raise max_replicas, max_rate_per_instance or capacity_scaler in the other regions, or add a region",
        id="failover-overload",
    ),
]


@pytest.mark.parametrize(("change", "expected"), REFUSED)
def test_refused_with_one_line_naming_what_works(change: Callable[[dict[str, Any]], None], expected: str) -> None:
    line = refusal(mutated(change))
    assert line.startswith(f"error: deploy.yaml: {expected}"), line
    assert "\n" not in line


# --- what it accepts ------------------------------------------------------------------------


def test_omitted_zones_default_to_the_region_zones_with_the_gpu() -> None:
    config = parse_config(mutated(first_region(region="us-east4", zones=None)), "deploy.yaml")
    assert config.regions[0].zone_names == ("us-east4-a", "us-east4-c")
    t4 = parse_config(
        mutated(first_region(machine_type="n1-standard-8", accelerator={"type": "nvidia-tesla-t4", "count": 1}, zones=None)),
        "deploy.yaml",
    )
    assert t4.regions[0].zone_names == ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f")


def test_an_external_publisher_may_feed_a_custom_metric() -> None:
    config = parse_config(
        mutated(first_region(autoscaling={"metric": "custom.googleapis.com/queue_depth", "external_publisher": True})),
        "deploy.yaml",
    )
    assert config.regions[0].autoscaling.metric == "custom.googleapis.com/queue_depth"


def test_spot_on_small_a3_high_and_a_shared_reservation_are_accepted() -> None:
    spot = parse_config(mutated(first_region(machine_type="a3-highgpu-1g", provisioning="spot", zones=None)), "x")
    assert spot.regions[0].provisioning == "spot"
    shared = parse_config(
        mutated(first_region(provisioning="reservation", reservation="projects/acme-capacity/reservations/l4-pool")), "x"
    )
    assert shared.regions[0].reservation == "projects/acme-capacity/reservations/l4-pool"


def test_the_gpu_capacity_example_loads() -> None:
    config = load_config(GPU_CAPACITY_CONFIG)
    assert [r.provisioning for r in config.regions] == ["on_demand", "spot", "reservation"]


# --- their effect on the JSON -----------------------------------------------------------------


@pytest.fixture(scope="module")
def capacity_synth(gpu_capacity_synth: Synth) -> Synth:
    return gpu_capacity_synth


def template(synth: Synth, region: str) -> dict[str, Any]:
    return synth.resource(f"region-{region}", "google_compute_instance_template", "inference_template")


def test_spot_region_gets_the_scheduling_gcp_requires(capacity_synth: Synth) -> None:
    assert template(capacity_synth, "europe-west4")["scheduling"] == {
        "automatic_restart": False,
        "instance_termination_action": "DELETE",
        "on_host_maintenance": "TERMINATE",
        "preemptible": True,
        "provisioning_model": "SPOT",
    }
    on_demand = template(capacity_synth, "us-east4")["scheduling"]
    assert on_demand == {"automatic_restart": True, "on_host_maintenance": "TERMINATE"}


def test_reservation_region_consumes_only_its_named_reservation(capacity_synth: Synth) -> None:
    assert template(capacity_synth, "us-central1")["reservation_affinity"] == {
        "type": "SPECIFIC_RESERVATION",
        "specific_reservation": {"key": RESERVATION_NAME_KEY, "values": ["llm-h100-us-central1"]},
    }
    assert "reservation_affinity" not in template(capacity_synth, "us-east4")
    assert "reservation_affinity" not in template(capacity_synth, "europe-west4")


def test_a3_gets_hyperdisk_and_gvnic_g2_keeps_the_defaults(capacity_synth: Synth) -> None:
    a3 = template(capacity_synth, "us-central1")
    assert a3["disk"][0]["disk_type"] == "hyperdisk-balanced"
    assert a3["network_interface"][0]["nic_type"] == "GVNIC"
    g2 = template(capacity_synth, "us-east4")
    assert g2["disk"][0]["disk_type"] == "pd-balanced"
    assert "nic_type" not in g2["network_interface"][0]


def test_omitted_zones_reach_the_group_as_the_gpu_zones(capacity_synth: Synth) -> None:
    group = capacity_synth.resource("region-us-east4", "google_compute_region_instance_group_manager", "serving_pool")
    assert group["distribution_policy_zones"] == ["us-east4-a", "us-east4-c"]
    assert group["update_policy"]["max_surge_fixed"] == 2


def server_command(synth: Synth, region: str) -> str:
    script = template(synth, region)["metadata"]["startup-script"]
    return next(line for line in script.splitlines() if " --model " in line)


def test_server_args_are_per_region_with_tensor_parallelism_over_all_gpus(capacity_synth: Synth) -> None:
    east = server_command(capacity_synth, "us-east4")
    assert east.endswith("--max-model-len=16384 --max-num-seqs=64 --tensor-parallel-size=4")
    central = server_command(capacity_synth, "us-central1")
    assert central.endswith("--max-model-len=16384 --max-num-seqs=256 --tensor-parallel-size=8")
    europe = server_command(capacity_synth, "europe-west4")
    assert europe.endswith("--max-model-len=16384") and "tensor-parallel" not in europe


def test_explicit_tensor_parallelism_is_kept() -> None:
    from constructs_lib.serving_pool import server_args

    config = parse_config(
        mutated(first_region(machine_type="g2-standard-48", server_args=["--tensor-parallel-size=2", "--pipeline-parallel-size=2"])),
        "x",
    )
    assert server_args(config.server, config.regions[0]) == ("--tensor-parallel-size=2", "--pipeline-parallel-size=2")


def test_per_region_rate_reaches_both_backend_services(capacity_synth: Synth) -> None:
    backend = capacity_synth.resource("global-frontend", "google_compute_backend_service", "global_backend")
    rates = {b["description"]: b["max_rate_per_instance"] for b in backend["backend"]}
    assert rates == {"us-east4": 24, "europe-west4": 8, "us-central1": 64}
    for region, rate in (("us-east4", 24), ("europe-west4", 8), ("us-central1", 64)):
        regional = capacity_synth.resource(f"region-{region}", "google_compute_region_backend_service", "regional_backend")
        assert [b["max_rate_per_instance"] for b in regional["backend"]] == [rate]


# --- refreshing the zone table ---------------------------------------------------------------


def test_refresh_tool_rebuilds_a_loadable_zone_table(tmp_path: Any) -> None:
    from tools import refresh_gpu_zones

    records = [
        {"name": gpu, "zone": f"https://www.googleapis.com/compute/v1/projects/p/zones/{zone}"}
        for gpu, zones in gpu_catalog.catalog().zones.items()
        for zone in zones
    ]
    records += [
        {"name": "nvidia-l4-vws", "zone": "projects/p/zones/us-west1-a"},
        {"name": "nvidia-l4", "zone": "projects/p/zones/us-central2-b"},
    ]
    source = tmp_path / "accelerators.json"
    source.write_text(json.dumps(records))
    output = tmp_path / "gpu_zones.yaml"
    assert refresh_gpu_zones.main([str(source), "--taken", "2026-11-27", "--output", str(output)]) == 0
    rebuilt = yaml.safe_load(output.read_text())
    assert rebuilt["taken"] == "2026-11-27"
    assert rebuilt["zones"] == {gpu: sorted(zones) for gpu, zones in gpu_catalog.catalog().zones.items()}


def test_refresh_tool_refuses_a_list_missing_a_gpu(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from tools import refresh_gpu_zones

    source = tmp_path / "accelerators.json"
    source.write_text(json.dumps([{"name": "nvidia-l4", "zone": "us-central1-a"}]))
    output = tmp_path / "gpu_zones.yaml"
    assert refresh_gpu_zones.main([str(source), "--taken", "2026-11-27", "--output", str(output)]) == 2
    assert capsys.readouterr().err.startswith("error: no zone reported for ")
    assert not output.exists()
