"""Failover capacity: can the fleet carry its peak after losing any one region?

The global load balancer sends a lost region's traffic to the others, but only up to
their capacity: ``max_replicas x max_rate_per_instance x capacity_scaler`` each (the
RATE balancing mode's ceiling once the autoscaler has scaled out). No other tool checks
that this sum, without the largest region, still covers the peak; synth does when
``frontend.peak_requests_per_second`` is set, and the PR review shows the headroom.

Pure functions of the validated settings: no files, no cdktf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.config import DeploymentConfig, Frontend, Region


@dataclass(frozen=True, kw_only=True)
class RegionLoss:
    """What is left when ``lost_region`` fails: the other serving regions' capacity against the peak."""

    lost_region: str
    remaining_rps: float
    peak_rps: float | None

    @property
    def headroom_rps(self) -> float | None:
        """Remaining capacity minus the peak (negative: overloaded); None without a peak."""
        return None if self.peak_rps is None else self.remaining_rps - self.peak_rps


def region_capacity_rps(region: Region, frontend: Frontend) -> float:
    """Requests per second a region takes at full scale-out, as the load balancer counts it."""
    if region.decommission:
        return 0.0
    return region.max_replicas * region.rate_per_instance(frontend) * region.capacity_scaler


def failover_headroom(config: DeploymentConfig) -> tuple[RegionLoss, ...]:
    """For each serving region, the fleet after losing it (in the deployment file's order)."""
    serving = config.serving_regions
    total = sum(region_capacity_rps(region, config.frontend) for region in serving)
    peak = config.frontend.peak_requests_per_second
    return tuple(
        RegionLoss(
            lost_region=region.region,
            remaining_rps=total - region_capacity_rps(region, config.frontend),
            peak_rps=peak,
        )
        for region in serving
    )


def worst_loss(config: DeploymentConfig) -> RegionLoss | None:
    """The region whose loss leaves the least capacity (first in file order on a tie); None without regions."""
    losses = failover_headroom(config)
    return min(losses, key=lambda loss: loss.remaining_rps) if losses else None


def _rps(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def failover_shortfall(config: DeploymentConfig) -> str | None:
    """The one-line reason the fleet cannot carry its peak at N-1, or None (also without a peak)."""
    if config.frontend.peak_requests_per_second is None:
        return None
    worst = worst_loss(config)
    if worst is None or worst.headroom_rps is None or worst.headroom_rps >= 0:
        return None
    return (
        f"losing {worst.lost_region} leaves {_rps(worst.remaining_rps)} req/s for a peak of "
        f"{_rps(worst.peak_rps or 0)} ({_rps(-worst.headroom_rps)} req/s short); raise max_replicas, "
        "max_rate_per_instance or capacity_scaler in the other regions, or add a region"
    )
