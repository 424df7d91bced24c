"""What every backend service of the serving pool shares, global or regional.

The global external ALB and each region's own entry point send the same long,
streamed, GPU-bound requests to the same instance group, so they are tuned
alike from one definition (as ``health_checks.http_probe`` is for the probes):
a request timeout that covers a whole generation, draining as long, LEAST_REQUEST
so a slow server is not sent more than its share (or consistent hashing on a
session header to keep a conversation on one server's KV cache), outlier
detection to eject servers that fail, no CDN, and logging at the configured
sample rate. Outlier detection is supported on both: global EXTERNAL_MANAGED,
and regional INTERNAL_MANAGED / EXTERNAL_MANAGED with an HTTP protocol
(docs/gcp-load-balancing-rules.md, rule 22).
"""

from __future__ import annotations

from typing import Any

from constructs_lib import naming
from constructs_lib.config import Frontend

BALANCING_MODE = "RATE"
"""One instance group behind two backend services must use one balancing mode in both."""

OUTLIER_DETECTION: dict[str, Any] = {
    "consecutive_errors": 5,
    "consecutive_gateway_failure": 3,
    "interval": {"seconds": 10},
    "base_ejection_time": {"seconds": 30},
    "max_ejection_percent": 50,
}


def llm_backend_service(frontend: Frontend) -> dict[str, Any]:
    """Settings shared by ``google_compute_backend_service`` and its regional twin."""
    affinity: dict[str, Any]
    if frontend.session_affinity_header is None:
        affinity = {"locality_lb_policy": "LEAST_REQUEST"}
    else:
        affinity = {
            "locality_lb_policy": "RING_HASH",
            "session_affinity": "HEADER_FIELD",
            "consistent_hash": {"http_header_name": frontend.session_affinity_header},
        }
    return {
        "protocol": "HTTP",
        "port_name": naming.NAMED_PORT,
        "timeout_sec": frontend.request_timeout_sec,
        "connection_draining_timeout_sec": frontend.connection_draining_sec,
        "log_config": {"enable": True, "sample_rate": frontend.log_sample_rate},
        "outlier_detection": OUTLIER_DETECTION,
        "enable_cdn": False,
        **affinity,
    }


def rate_backend(*, group: str, max_rate_per_instance: float, capacity_scaler: float) -> dict[str, Any]:
    """One ``backend`` block: the instance group at ``max_rate_per_instance`` requests per second per VM
    (the region's own rate, or ``frontend.max_rate_per_instance``)."""
    return {
        "group": group,
        "balancing_mode": BALANCING_MODE,
        "max_rate_per_instance": max_rate_per_instance,
        "capacity_scaler": capacity_scaler,
    }
