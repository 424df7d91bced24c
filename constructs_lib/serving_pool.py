"""A region's pool of GPU inference servers: template, managed instance group, autoscaler.

The pool is what both load balancers send traffic to: the region's own entry
point and the global backend service (which takes the group itself, never a
regional backend service). It exports the group URL and its named port.
"""

from __future__ import annotations

import shlex

from constructs import Construct

from constructs_lib import gpu_catalog, gpu_drivers, naming
from constructs_lib.config import REQUESTS_RUNNING_METRIC, InferenceServer, Region
from constructs_lib.health_checks import AUTOHEALING, http_probe
from constructs_lib.toolkit import TerraformResourceLifecycle
from constructs_lib.toolkit.google import (
    ComputeInstanceTemplate,
    ComputeInstanceTemplateDisk,
    ComputeInstanceTemplateGuestAccelerator,
    ComputeInstanceTemplateNetworkInterface,
    ComputeRegionAutoscaler,
    ComputeRegionAutoscalerAutoscalingPolicyMetric,
    ComputeRegionHealthCheck,
    ComputeRegionInstanceGroupManager,
    ComputeRegionInstanceGroupManagerNamedPort,
    ComputeRegionInstanceGroupManagerVersion,
)

BOOT_IMAGE = "projects/cos-cloud/global/images/family/cos-121-lts"
"""Container-Optimized OS, an LTS milestone: signed NVIDIA drivers via ``cos-extensions``, Docker,
Shielded VM. A milestone family takes security patches but keeps its set of signed drivers, so the
pinned driver versions (``gpu_drivers``) stay installable."""
BOOT_DISK_GB = 200
SERVER_KEEPALIVE_SEC = 620
"""Above the load balancers' fixed 600 s backend keepalive, so the server never closes first."""


GPU_UTILIZATION_METRIC = "custom.googleapis.com/inference/gpu_utilization"
"""Mean utilization (percent) of the VM's GPUs from nvidia-smi; COS has no agent that reports it."""
CLOUD_SDK_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:520.0.0-slim"
"""Copies the weights from Cloud Storage at boot (COS has no gcloud); a pinned Google image."""
METADATA_SERVER = "169.254.169.254"
SERVER_ENV_FILE = "/run/inference-server.env"
"""Secrets for the server container, on tmpfs (gone at shutdown), readable by root only."""
WEIGHTS_DIR = "/mnt/stateful_partition/model-weights"
POOL_LABEL = "serving_pool"
"""Label on every inference VM naming its pool: alerts and the dashboard select VMs by it."""
BOOT_LOG_TAG = "inference-boot"
"""Prefix of the boot's lines on the serial console (``gcloud compute instances get-serial-port-output``)."""


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


# --------------------------------------------------------------------------- startup script
# Each step is its own function returning shell lines, so a change to one step is a
# change to one function.


def _boot_library() -> tuple[str, ...]:
    """Logging to the serial console, retries with backoff, metadata-server and token helpers."""
    return (
        "console=${BOOT_CONSOLE:-/dev/ttyS0}  # the serial console (tests point it at a file)",
        f'log() {{ echo "{BOOT_LOG_TAG}: $*" >&2; echo "{BOOT_LOG_TAG}: $*" 2>/dev/null >>"$console" || true; }}',
        "trap 'log \"FAILED at line $LINENO (exit $?): $BASH_COMMAND; this VM will not serve\"' ERR",
        "retry() {  # retry <what> <command...>: 8 attempts, backoff 5 s doubling up to 300 s",
        "  local what=$1 attempt=1 delay=5",
        "  shift",
        '  until "$@"; do',
        '    if ((attempt >= 8)); then log "$what: failed $attempt times, giving up"; return 1; fi',
        '    log "$what: attempt $attempt failed, retrying in ${delay}s"',
        '    sleep "$delay"',
        "    attempt=$((attempt + 1)) delay=$((delay * 2 > 300 ? 300 : delay * 2))",
        "  done",
        "}",
        "md=http://metadata.google.internal/computeMetadata/v1",
        "metadata() { curl -sf --max-time 10 -H 'Metadata-Flavor: Google' \"$md/$1\"; }",
        'access_token() { metadata instance/service-accounts/default/token | sed -E \'s/.*"access_token":"([^"]+)".*/\\1/\'; }',
    )


def _gpu_driver_steps(driver_version: str) -> tuple[str, ...]:
    """Install the pinned, Google-signed NVIDIA driver and check that the GPUs answer."""
    return (
        f"log 'installing NVIDIA driver {driver_version}'",
        f"retry 'GPU driver install' cos-extensions install gpu -- --version={driver_version}",
        "mount --bind /var/lib/nvidia /var/lib/nvidia",
        "mount -o remount,exec /var/lib/nvidia",
        "retry 'GPU check (nvidia-smi)' env LD_LIBRARY_PATH=/var/lib/nvidia/lib64 /var/lib/nvidia/bin/nvidia-smi -L",
    )


def _network_steps(port: int) -> tuple[str, ...]:
    """Open the serving port; keep the server container away from the metadata server.

    The container runs on Docker's bridge, so its traffic to the metadata server
    is forwarded through DOCKER-USER, where it is dropped: the server cannot take
    the VM's service-account token. DNS (port 53 on the same address, the VM's
    resolver) stays open so the server can still resolve names.
    """
    return (
        f"iptables -w -A INPUT -p tcp --dport {port} -j ACCEPT",
        "iptables -w -N DOCKER-USER 2>/dev/null || true",
        f"if ! iptables -w -C DOCKER-USER -i docker0 -d {METADATA_SERVER}/32 -j DROP 2>/dev/null; then",
        f"  iptables -w -I DOCKER-USER -i docker0 -d {METADATA_SERVER}/32 -j DROP",
        f"  iptables -w -I DOCKER-USER -i docker0 -d {METADATA_SERVER}/32 -p udp --dport 53 -j RETURN",
        f"  iptables -w -I DOCKER-USER -i docker0 -d {METADATA_SERVER}/32 -p tcp --dport 53 -j RETURN",
        "fi",
    )


def _secret_steps(secret_env: dict[str, str]) -> tuple[str, ...]:
    """Read each secret's latest version with the VM's service account into the server's env file."""
    if not secret_env:
        return (f"install -m 600 /dev/null {SERVER_ENV_FILE}",)
    lines = [
        "read_secret() {  # the latest version of secret $1, decoded",
        "  local project token body",
        '  project=$(metadata project/project-id) && token=$(access_token) && [ -n "$token" ] || return 1',
        '  body=$(curl -sf --max-time 20 -H "Authorization: Bearer $token" \\',
        '    "https://secretmanager.googleapis.com/v1/projects/$project/secrets/$1/versions/latest:access") || return 1',
        '  printf \'%s\' "$body" | tr -d \' \\n\' | sed -E \'s/.*"data":"([^"]*)".*/\\1/\' | base64 -d',
        "}",
        f"install -m 600 /dev/null {SERVER_ENV_FILE}",
    ]
    for variable, secret_id in secret_env.items():
        lines += [
            f"value=$(retry 'reading secret {secret_id}' read_secret {shlex.quote(secret_id)})",
            f"if [ -z \"$value\" ]; then log 'secret {secret_id} is empty: add a version with the value'; exit 1; fi",
            f"printf '{variable}=%s\\n' \"$value\" >>{SERVER_ENV_FILE}",
        ]
    lines.append("unset value")
    return tuple(lines)


def _weights_steps(bucket: str, model: str) -> tuple[str, ...]:
    """Copy ``gs://<bucket>/<model>/`` to the local disk (faster cold starts than the Hugging Face Hub)."""
    source = shlex.quote(f"gs://{bucket}/{model}")
    target = shlex.quote(f"/weights/{model}")
    return (
        f"mkdir -p {WEIGHTS_DIR}",
        f"retry 'copying weights from gs://{bucket}/{model}' docker run --rm --network host \\",
        f"  --volume {WEIGHTS_DIR}:/weights {CLOUD_SDK_IMAGE} \\",
        f"  gcloud storage rsync --recursive {source} {target}",
    )


DOCKER_HOME = "/var/lib/inference-home"
"""HOME for docker's credential helper: COS's root filesystem (root's home included) is read-only."""


def _image_steps(server: InferenceServer) -> tuple[str, ...]:
    """Registry credentials (Artifact Registry only) and the image pull, retried.

    ``docker-credential-gcr configure-docker`` writes ``$HOME/.docker/config.json``,
    which ``docker pull`` then reads; HOME points at a writable folder first.
    """
    lines: list[str] = []
    repository = server.artifact_repository
    if repository is not None:
        lines += [f"export HOME={DOCKER_HOME}", 'mkdir -p "$HOME"']
        lines.append(
            f"retry 'registry credentials' docker-credential-gcr configure-docker --registries={repository.location}-docker.pkg.dev"
        )
    lines.append(f"retry 'pulling {server.image}' docker pull {shlex.quote(server.image)}")
    return tuple(lines)


def server_command(server: InferenceServer, args: tuple[str, ...]) -> tuple[str, ...]:
    """The server's arguments: the model (from the local weights copy or the Hub, at a pinned revision),
    then ``args`` (this region's, see ``server_args``)."""
    model: tuple[str, ...]
    if server.weights_bucket is not None:
        model = ("--model", f"/models/{server.model}", "--served-model-name", server.model)
    else:
        model = ("--model", server.model)
    revision = ("--revision", server.model_revision) if server.model_revision is not None else ()
    return (*model, *revision, "--host", "0.0.0.0", "--port", str(server.port), *args)


def _run_server_steps(server: InferenceServer, args: tuple[str, ...]) -> tuple[str, ...]:
    """Run the server on Docker's bridge with its port published, secrets from the env file."""
    weights = (f"  --volume {WEIGHTS_DIR}:/models:ro \\",) if server.weights_bucket is not None else ()
    env = tuple(f"  --env {shlex.quote(entry)} \\" for entry in server.env)
    return (
        "mkdir -p /mnt/stateful_partition/model-cache",
        'devices=$(for device in /dev/nvidia*; do printf -- \'--device %s:%s \' "$device" "$device"; done)',
        "docker rm -f inference-server 2>/dev/null || true",
        "# shellcheck disable=SC2086",
        "docker run --detach --restart=always --name inference-server --ipc host \\",
        f"  --publish {server.port}:{server.port} \\",
        "  --volume /var/lib/nvidia/lib64:/usr/local/nvidia/lib64 \\",
        "  --volume /var/lib/nvidia/bin:/usr/local/nvidia/bin \\",
        "  --volume /mnt/stateful_partition/model-cache:/root/.cache/huggingface \\",
        *weights,
        f"  --env-file {SERVER_ENV_FILE} \\",
        "  --env LD_LIBRARY_PATH=/usr/local/nvidia/lib64 \\",
        f"  --env VLLM_HTTP_TIMEOUT_KEEP_ALIVE={SERVER_KEEPALIVE_SEC} \\",
        *env,
        "  $devices \\",
        f"  {shlex.quote(server.image)} {shlex.join(server_command(server, args))}",
        "log 'server container started; waiting for it to load the model'",
    )


_HEALTH_WATCH = r"""#!/bin/bash
# Tells the serial console whether the server became healthy, and if not, why.
console=${BOOT_CONSOLE:-/dev/ttyS0}
for ((waited = 0; waited < @LOAD@; waited += 15)); do
  if curl -sf --max-time 5 "http://localhost:@PORT@@HEALTH@" >/dev/null; then
    echo "@TAG@: server healthy after ${waited}s" >>"$console"
    exit 0
  fi
  if [ "$(docker inspect -f '{{.State.Running}}' inference-server 2>/dev/null)" != true ]; then
    echo "@TAG@: server container is not running" >>"$console"
  fi
  sleep 15
done
echo "@TAG@: server not healthy after @LOAD@s (autohealing will replace this VM); its last log lines:" >>"$console"
docker logs --tail 40 inference-server 2>&1 | sed 's/^/@TAG@: server: /' >>"$console"
"""


_METRICS_REPORTER = r"""#!/bin/bash
# Publishes the server's running requests (the autoscaler's signal) and GPU utilization as per-VM gauges.
set -uo pipefail
md=http://metadata.google.internal/computeMetadata/v1
metadata() { curl -sf --max-time 5 -H "Metadata-Flavor: Google" "$md/$1"; }
until project=$(metadata project/project-id) && instance_id=$(metadata instance/id) && zone=$(metadata instance/zone); do
  echo "metrics reporter: metadata server unavailable, retrying in 10s" >&2
  sleep 10
done
zone=${zone##*/}
resource="{\"type\":\"gce_instance\",\"labels\":{\"project_id\":\"$project\",\"instance_id\":\"$instance_id\",\"zone\":\"$zone\"}}"
series() { echo "{\"metric\":{\"type\":\"$1\"},\"resource\":$resource,\"points\":[{\"interval\":{\"endTime\":\"$now\"},\"value\":{\"doubleValue\":$2}}]}"; }
while sleep 30; do
  running=$(curl -sf --max-time 5 "http://localhost:@PORT@/metrics" | awk '/^@GAUGE@[{ ]/ {sum += $NF} END {print sum + 0}') || continue
  gpu=$(LD_LIBRARY_PATH=/var/lib/nvidia/lib64 /var/lib/nvidia/bin/nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits 2>/dev/null | awk '{sum += $1; n++} END {print (n ? sum / n : 0)}')
  token=$(metadata instance/service-accounts/default/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/') || continue
  [ -n "$token" ] || continue
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  curl -sf --max-time 10 -o /dev/null -X POST -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -d "{\"timeSeries\":[$(series @METRIC@ "$running"),$(series @GPU_METRIC@ "${gpu:-0}")]}" \
    "https://monitoring.googleapis.com/v3/projects/$project/timeSeries" || echo "metrics reporter: write failed" >&2
done
"""


def _observer_steps(server: InferenceServer) -> tuple[str, ...]:
    """The health watch (serial console) and the metrics reporter, each a restartable systemd unit."""
    watch = (
        _HEALTH_WATCH.replace("@LOAD@", str(server.model_load_seconds))
        .replace("@PORT@", str(server.port))
        .replace("@HEALTH@", server.health_path)
        .replace("@TAG@", BOOT_LOG_TAG)
    )
    reporter = (
        _METRICS_REPORTER.replace("@PORT@", str(server.port))
        .replace("@GAUGE@", SERVER_GAUGE)
        .replace("@METRIC@", REQUESTS_RUNNING_METRIC)
        .replace("@GPU_METRIC@", GPU_UTILIZATION_METRIC)
    )
    return (
        "cat > /var/lib/inference-health-watch.sh <<'WATCH'",
        watch.rstrip("\n"),
        "WATCH",
        "systemctl stop inference-health-watch 2>/dev/null || true",
        "systemctl reset-failed inference-health-watch 2>/dev/null || true",
        "systemd-run --unit=inference-health-watch /bin/bash /var/lib/inference-health-watch.sh",
        "cat > /var/lib/inference-metrics.sh <<'REPORTER'",
        reporter.rstrip("\n"),
        "REPORTER",
        "systemctl stop inference-metrics 2>/dev/null || true",
        "systemctl reset-failed inference-metrics 2>/dev/null || true",
        "systemd-run --unit=inference-metrics --property=Restart=always --property=RestartSec=10 /bin/bash /var/lib/inference-metrics.sh",
    )


def startup_script(
    server: InferenceServer, *, args: tuple[str, ...], driver_version: str, secret_env: dict[str, str]
) -> str:
    """The boot script of an inference VM: pinned GPU driver, secrets, weights, the server, and its observers.

    Container-Optimized OS drops inbound traffic by default, so the serving port
    is opened in the host firewall; the cloud firewall still limits who reaches it.
    Every network step is retried with backoff, and each step and failure is
    written to the serial console. ``secret_env`` maps the server's environment
    variables (``VLLM_API_KEY``, ``HF_TOKEN``) to the Secret Manager secrets they
    are read from; only the secret ids are in the script, never their values.
    COS has no monitoring agent, so a small reporter posts the server's running
    requests (``REQUESTS_RUNNING_METRIC``) and GPU utilization to Cloud Monitoring.
    """
    steps = [
        "#!/bin/bash",
        "set -euo pipefail",
        *_boot_library(),
        *_gpu_driver_steps(driver_version),
        *_network_steps(server.port),
        *_secret_steps(secret_env),
    ]
    if server.weights_bucket is not None:
        steps += _weights_steps(server.weights_bucket, server.model)
    steps += [*_image_steps(server), *_run_server_steps(server, args), *_observer_steps(server), ""]
    return "\n".join(steps)


def _secret_env(api_key_secret: str | None, hf_token_secret: str | None) -> dict[str, str]:
    """The server's secret environment variables and the secrets they come from."""
    secrets = {"VLLM_API_KEY": api_key_secret, "HF_TOKEN": hf_token_secret}
    return {variable: secret for variable, secret in secrets.items() if secret is not None}


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
        api_key_secret: str | None,
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
            labels={"app": name_prefix, POOL_LABEL: naming.resource_name(name_prefix, name, "pool")},
            disk=[
                ComputeInstanceTemplateDisk(
                    source_image=BOOT_IMAGE,
                    boot=True,
                    auto_delete=True,
                    disk_size_gb=BOOT_DISK_GB,
                    disk_type=gpu_catalog.boot_disk_type(region.machine_type),
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
                "startup-script": startup_script(
                    server,
                    args=server_args(server, region),
                    driver_version=gpu_drivers.pinned_driver(
                        region.machine_type,
                        region.accelerator.type if region.accelerator is not None else None,
                        server.gpu_driver_version,
                    ),
                    secret_env=_secret_env(api_key_secret, server.hf_token_secret),
                ),
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
        group_manager = ComputeRegionInstanceGroupManager(
            self,
            "group_manager",
            name=naming.resource_name(name_prefix, name, "pool"),
            region=name,
            base_instance_name=naming.resource_name(name_prefix, name, "gpu"),
            version=[
                ComputeRegionInstanceGroupManagerVersion(name="primary", instance_template=template.self_link_unique)
            ],
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
        group_manager.override_logical_id("serving_pool")

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
            target=group_manager.id,
            autoscaling_policy=policy,
        )
        autoscaler.override_logical_id("serving_pool_autoscaler")

        self.instance_group: str = group_manager.instance_group
        self.named_port: str = naming.NAMED_PORT
