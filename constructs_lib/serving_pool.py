"""A region's pool of GPU inference servers: template, managed instance group, autoscaler.

The pool is what both load balancers send traffic to: the region's own entry
point and the global backend service (which takes the group itself, never a
regional backend service). It exports the group URL and its named port.
"""

from __future__ import annotations

import shlex

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_google.compute_instance_template import (
    ComputeInstanceTemplate,
    ComputeInstanceTemplateDisk,
    ComputeInstanceTemplateGuestAccelerator,
    ComputeInstanceTemplateNetworkInterface,
)
from cdktf_cdktf_provider_google.compute_region_autoscaler import (
    ComputeRegionAutoscaler,
    ComputeRegionAutoscalerAutoscalingPolicyMetric,
)
from cdktf_cdktf_provider_google.compute_region_health_check import ComputeRegionHealthCheck
from cdktf_cdktf_provider_google.compute_region_instance_group_manager import (
    ComputeRegionInstanceGroupManager,
    ComputeRegionInstanceGroupManagerNamedPort,
    ComputeRegionInstanceGroupManagerVersion,
)
from constructs import Construct

from constructs_lib import gpu_catalog, naming
from constructs_lib.config import REQUESTS_RUNNING_METRIC, InferenceServer, Region
from constructs_lib.health_checks import AUTOHEALING, http_probe

BOOT_IMAGE = "projects/cos-cloud/global/images/family/cos-stable"
"""Container-Optimized OS: signed NVIDIA drivers via ``cos-extensions``, Docker, Shielded VM."""
BOOT_DISK_GB = 200
SERVER_KEEPALIVE_SEC = 620
"""Above the load balancers' fixed 600 s backend keepalive, so the server never closes first."""


_METRICS_REPORTER = r"""#!/bin/bash
# Publishes the server's running requests as a per-VM gauge for the autoscaler.
set -uo pipefail
md=http://metadata.google.internal/computeMetadata/v1
hdr="Metadata-Flavor: Google"
project=$(curl -sf -H "$hdr" "$md/project/project-id")
instance_id=$(curl -sf -H "$hdr" "$md/instance/id")
zone=$(curl -sf -H "$hdr" "$md/instance/zone" | awk -F/ '{print $NF}')
resource="{\"type\":\"gce_instance\",\"labels\":{\"project_id\":\"$project\",\"instance_id\":\"$instance_id\",\"zone\":\"$zone\"}}"
while sleep 30; do
  value=$(curl -sf "http://localhost:@PORT@/metrics" | awk '/^@GAUGE@[{ ]/ {sum += $NF} END {print sum + 0}') || continue
  token=$(curl -sf -H "$hdr" "$md/instance/service-accounts/default/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/') || continue
  point="{\"interval\":{\"endTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"},\"value\":{\"doubleValue\":$value}}"
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -d "{\"timeSeries\":[{\"metric\":{\"type\":\"@METRIC@\"},\"resource\":$resource,\"points\":[$point]}]}" \
    "https://monitoring.googleapis.com/v3/projects/$project/timeSeries"
done
"""

def boot_disk_type(machine_type: str) -> str:
    """The catalog's preferred boot disk for the series: Hyperdisk for A3/A4/G4, Persistent Disk otherwise."""
    return gpu_catalog.boot_disk_type(machine_type)


def server_args(server: InferenceServer, region: Region) -> tuple[str, ...]:
    """``server.args`` then the region's ``server_args``; for vLLM on several GPUs, tensor
    parallelism over all of them unless the arguments already choose it."""
    args = (*server.args, *region.server_args)
    gpu_count = region.gpu[1]
    if "vllm" in server.image and gpu_count > 1 and not gpu_catalog.sets_tensor_parallelism(args):
        args = (*args, f"--tensor-parallel-size={gpu_count}")
    return args


def scheduling(region: Region) -> dict[str, object]:
    """The template's scheduling block for the region's provisioning model.

    GPU VMs cannot live-migrate, so host maintenance stops them. Spot VMs must not
    restart automatically (the API refuses it); a preempted one is deleted and the
    group recreates it when capacity returns.
    """
    if region.provisioning == "spot":
        return {
            "on_host_maintenance": "TERMINATE",
            "automatic_restart": False,
            "preemptible": True,
            "provisioning_model": "SPOT",
            "instance_termination_action": "DELETE",
        }
    return {"on_host_maintenance": "TERMINATE", "automatic_restart": True}


RESERVATION_NAME_KEY = "compute.googleapis.com/reservation-name"
"""The label key that targets a specific reservation by name."""


def reservation_affinity(region: Region) -> dict[str, object] | None:
    """Consume only the named reservation (VMs fail to start rather than fall back to on-demand)."""
    if region.provisioning != "reservation":
        return None
    return {
        "type": "SPECIFIC_RESERVATION",
        "specific_reservation": {"key": RESERVATION_NAME_KEY, "values": [region.reservation]},
    }


SERVER_GAUGE = "vllm:num_requests_running"
"""The Prometheus gauge of vLLM's /metrics that the reporter publishes."""


def startup_script(server: InferenceServer, args: tuple[str, ...] | None = None) -> str:
    """The boot script of an inference VM: GPU driver, open serving port, run the server,
    and publish its load for the autoscaler.

    Container-Optimized OS drops inbound traffic by default, so the serving port
    is opened in the host firewall; the cloud firewall still limits who reaches it.
    COS has no monitoring agent, so a small reporter posts the server's running
    requests to Cloud Monitoring as ``REQUESTS_RUNNING_METRIC``. ``args`` (default
    ``server.args``) are the server's own arguments, see ``server_args``.
    """
    own_args = server.args if args is None else args
    command_args = shlex.join(("--model", server.model, "--host", "0.0.0.0", "--port", str(server.port), *own_args))
    reporter = (
        _METRICS_REPORTER.replace("@PORT@", str(server.port))
        .replace("@GAUGE@", SERVER_GAUGE)
        .replace("@METRIC@", REQUESTS_RUNNING_METRIC)
    )
    return "\n".join(
        (
            "#!/bin/bash",
            "set -euo pipefail",
            "cos-extensions install gpu -- --version=latest",
            "mount --bind /var/lib/nvidia /var/lib/nvidia",
            "mount -o remount,exec /var/lib/nvidia",
            f"iptables -w -A INPUT -p tcp --dport {server.port} -j ACCEPT",
            "mkdir -p /mnt/stateful_partition/model-cache",
            "devices=$(for device in /dev/nvidia*; do printf -- '--device %s:%s ' \"$device\" \"$device\"; done)",
            "docker rm -f inference-server 2>/dev/null || true",
            "# shellcheck disable=SC2086",
            "docker run --detach --restart=always --name inference-server --network host --ipc host \\",
            "  --volume /var/lib/nvidia/lib64:/usr/local/nvidia/lib64 \\",
            "  --volume /var/lib/nvidia/bin:/usr/local/nvidia/bin \\",
            "  --volume /mnt/stateful_partition/model-cache:/root/.cache/huggingface \\",
            "  --env LD_LIBRARY_PATH=/usr/local/nvidia/lib64 \\",
            f"  --env VLLM_HTTP_TIMEOUT_KEEP_ALIVE={SERVER_KEEPALIVE_SEC} \\",
            "  $devices \\",
            f"  {shlex.quote(server.image)} {command_args}",
            "cat > /var/lib/inference-metrics.sh <<'REPORTER'",
            reporter.rstrip("\n"),
            "REPORTER",
            "systemctl stop inference-metrics 2>/dev/null || true",
            "systemctl reset-failed inference-metrics 2>/dev/null || true",
            "systemd-run --unit=inference-metrics --property=Restart=always /bin/bash /var/lib/inference-metrics.sh",
            "",
        )
    )


class ServingPool(Construct):
    """GPU VMs behind a named port, healed when the server stops answering, scaled on load.

    - GPU VMs cannot live-migrate: ``on_host_maintenance = TERMINATE``;
    - no public IP (egress through Cloud NAT), Shielded VM, project SSH keys blocked;
    - autohealing waits ``server.model_load_seconds`` for drivers and weights;
    - rollouts surge new VMs first and never take serving VMs away;
    - BALANCED zone distribution: when a zone has no GPU left, new VMs go to the
      others (GCP then requires proactive redistribution off);
    - what the GPU catalog says about the machine: boot disk, gVNIC, and the region's
      provisioning model (Spot scheduling or a specific reservation);
    - the region's own server arguments and, for vLLM, tensor parallelism over its GPUs.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        region: Region,
        server: InferenceServer,
        subnetwork: str,
        service_account_email: str,
        network_tag: str,
    ) -> None:
        super().__init__(scope, id_)
        name = region.region
        template = ComputeInstanceTemplate(
            self,
            "template",
            name_prefix=naming.template_name_prefix(name_prefix, name),
            description=f"LLM inference server ({server.image}, {server.model})",
            region=name,
            machine_type=region.machine_type,
            tags=[network_tag],
            disk=[
                ComputeInstanceTemplateDisk(
                    source_image=BOOT_IMAGE,
                    boot=True,
                    auto_delete=True,
                    disk_size_gb=BOOT_DISK_GB,
                    disk_type=boot_disk_type(region.machine_type),
                )
            ],
            guest_accelerator=(
                [ComputeInstanceTemplateGuestAccelerator(type=region.accelerator.type, count=region.accelerator.count)]
                if region.accelerator is not None
                else None
            ),
            network_interface=[
                ComputeInstanceTemplateNetworkInterface(
                    subnetwork=subnetwork, nic_type=gpu_catalog.nic_type(region.machine_type)
                )
            ],
            service_account={"email": service_account_email, "scopes": ["cloud-platform"]},
            scheduling=scheduling(region),
            reservation_affinity=reservation_affinity(region),
            shielded_instance_config={
                "enable_secure_boot": True,
                "enable_vtpm": True,
                "enable_integrity_monitoring": True,
            },
            metadata={
                "block-project-ssh-keys": "true",
                "enable-oslogin": "TRUE",
                "google-logging-enabled": "true",
                "startup-script": startup_script(server, server_args(server, region)),
            },
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        template.override_logical_id("inference_template")

        autohealing = ComputeRegionHealthCheck(
            self,
            "autohealing",
            name=naming.resource_name(name_prefix, name, "autoheal-hc"),
            region=name,
            description="Replaces a VM whose server stopped answering (slower than the LB check)",
            **http_probe(server, AUTOHEALING),
        )
        autohealing.override_logical_id("autohealing")

        zones = region.zone_names
        self.group_manager = ComputeRegionInstanceGroupManager(
            self,
            "group_manager",
            name=naming.resource_name(name_prefix, name, "pool"),
            region=name,
            base_instance_name=naming.resource_name(name_prefix, name, "gpu"),
            version=[ComputeRegionInstanceGroupManagerVersion(name="primary", instance_template=template.self_link_unique)],
            distribution_policy_zones=list(zones),
            distribution_policy_target_shape="BALANCED",
            named_port=[ComputeRegionInstanceGroupManagerNamedPort(name=naming.NAMED_PORT, port=server.port)],
            auto_healing_policies={
                "health_check": autohealing.id,
                "initial_delay_sec": server.model_load_seconds,
            },
            update_policy={
                "type": "PROACTIVE",
                "minimal_action": "REPLACE",
                "replacement_method": "SUBSTITUTE",
                "max_surge_fixed": len(zones),
                "max_unavailable_fixed": 0,
                "instance_redistribution_type": "NONE",
            },
            wait_for_instances=False,
        )
        self.group_manager.override_logical_id("serving_pool")

        scaling = region.autoscaling
        policy: dict[str, object] = {
            "min_replicas": region.min_replicas,
            "max_replicas": region.max_replicas,
            "cooldown_period": scaling.cooldown_sec or server.model_load_seconds,
            "mode": "ON",
            "scale_in_control": {"max_scaled_in_replicas": {"fixed": 1}, "time_window_sec": 600},
        }
        if scaling.signal == "load_balancing":
            policy["load_balancing_utilization"] = {"target": scaling.effective_target}
        else:
            policy["metric"] = [
                ComputeRegionAutoscalerAutoscalingPolicyMetric(
                    name=scaling.metric, target=scaling.effective_target, type="GAUGE"
                )
            ]
        autoscaler = ComputeRegionAutoscaler(
            self,
            "autoscaler",
            name=naming.resource_name(name_prefix, name, "autoscaler"),
            region=name,
            target=self.group_manager.id,
            autoscaling_policy=policy,
        )
        autoscaler.override_logical_id("serving_pool_autoscaler")

        self.instance_group: str = self.group_manager.instance_group
        self.named_port: str = naming.NAMED_PORT
