"""How the inference server is probed: one HTTP probe, two cadences.

Load balancers (global and regional) probe fast, so a dead server or a dead
region stops receiving traffic within about ten seconds. Autohealing probes
slower, so a short blip does not destroy a GPU VM that took twenty minutes to
load its model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib.config import InferenceServer


@dataclass(frozen=True, kw_only=True)
class ProbeCadence:
    """How often to probe and after how many failures an instance counts as unhealthy."""

    interval_sec: int
    unhealthy_threshold: int
    timeout_sec: int = 5
    healthy_threshold: int = 2


LOAD_BALANCING = ProbeCadence(interval_sec=5, unhealthy_threshold=2)
AUTOHEALING = ProbeCadence(interval_sec=10, unhealthy_threshold=6)


def http_probe(server: InferenceServer, cadence: ProbeCadence) -> dict[str, Any]:
    """The settings shared by ``google_compute_health_check`` and its regional twin."""
    return {
        "check_interval_sec": cadence.interval_sec,
        "timeout_sec": cadence.timeout_sec,
        "healthy_threshold": cadence.healthy_threshold,
        "unhealthy_threshold": cadence.unhealthy_threshold,
        "http_health_check": {"port": server.port, "request_path": server.health_path},
        "log_config": {"enable": True},
    }
