"""Failover capacity: can the fleet carry its peak after losing any one region?

The global load balancer sends a lost region's traffic to the others, but only up to
their capacity: ``max_replicas x max_rate_per_instance x capacity_scaler`` each (the
RATE balancing mode's ceiling once the autoscaler has scaled out). No other tool checks
that this sum, without the largest region, still covers the peak; synth does when
``frontend.peak_requests_per_second`` is set, and the PR review shows the headroom.

Pure functions of the validated settings: no files, no cdktf.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def worst_loss_of(capacity_rps: Mapping[str, float]) -> tuple[str, float] | None:
    """``(region, what the others take)`` for the region whose loss leaves the least, from per-region
    capacities (first in order on a tie); None without regions. The PR review reads the
    capacities from the synthesized JSON, where the deployment file is not at hand."""
    if not capacity_rps:
        return None
    total = sum(capacity_rps.values())
    lost = min(capacity_rps, key=lambda region: total - capacity_rps[region])
    return lost, total - capacity_rps[lost]


def format_rps(value: float) -> str:
    """Requests per second as people write them: ``1,234.5``, ``8``."""
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def failover_shortfall(config: DeploymentConfig) -> str | None:
    """The one-line reason the fleet cannot carry its peak at N-1, or None (also without a peak)."""
    if config.frontend.peak_requests_per_second is None:
        return None
    worst = worst_loss(config)
    if worst is None or worst.headroom_rps is None or worst.headroom_rps >= 0:
        return None
    return (
        f"losing {worst.lost_region} leaves {format_rps(worst.remaining_rps)} req/s for a peak of "
        f"{format_rps(worst.peak_rps or 0)} ({format_rps(-worst.headroom_rps)} req/s short); raise max_replicas, "
        "max_rate_per_instance or capacity_scaler in the other regions, or add a region"
    )
