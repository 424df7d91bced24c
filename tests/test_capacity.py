"""Failover capacity at N-1: what is left after losing each region, and when synth refuses the fleet."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from constructs_lib import capacity
from constructs_lib.config import ConfigError, load_config, parse_config
from tests.conftest import DEFAULT_CONFIG, GPU_CAPACITY_CONFIG, load_yaml


def fleet(peak: float | None = None, **regions: dict[str, Any]) -> dict[str, Any]:
    """The default deployment with a peak and per-region overrides keyed by region name."""
    document = copy.deepcopy(load_yaml(DEFAULT_CONFIG))
    if peak is not None:
        document["frontend"] = {"peak_requests_per_second": peak}
    for region in document["regions"]:
        region.update(regions.get(region["region"].replace("-", "_"), {}))
    return document


def test_headroom_after_losing_each_region_of_the_example() -> None:
    losses = capacity.failover_headroom(load_config(GPU_CAPACITY_CONFIG))
    assert [(loss.lost_region, loss.remaining_rps, loss.headroom_rps) for loss in losses] == [
        ("us-east4", 8 * 8 + 2 * 64, 192 - 160),
        ("europe-west4", 6 * 24 + 2 * 64, 272 - 160),
        ("us-central1", 6 * 24 + 8 * 8, 208 - 160),
    ]
    worst = capacity.worst_loss(load_config(GPU_CAPACITY_CONFIG))
    assert worst is not None and worst.lost_region == "us-east4"


def test_capacity_scaler_and_per_region_rate_count() -> None:
    config = parse_config(fleet(europe_west4={"capacity_scaler": 0.5, "max_rate_per_instance": 20}), "x")
    us, eu = config.regions
    assert capacity.region_capacity_rps(us, config.frontend) == 4 * 8 * 1.0
    assert capacity.region_capacity_rps(eu, config.frontend) == 4 * 20 * 0.5


def test_without_a_peak_nothing_is_refused_and_headroom_is_unknown() -> None:
    config = parse_config(fleet(), "x")
    assert capacity.failover_shortfall(config) is None
    assert all(loss.headroom_rps is None for loss in capacity.failover_headroom(config))


def test_exactly_enough_is_accepted() -> None:
    config = parse_config(fleet(peak=32), "x")
    assert capacity.worst_loss(config).headroom_rps == 0  # type: ignore[union-attr]


def test_a_drained_region_adds_nothing_and_its_loss_costs_nothing() -> None:
    config = parse_config(fleet(europe_west4={"capacity_scaler": 0}), "x")
    losses = {loss.lost_region: loss.remaining_rps for loss in capacity.failover_headroom(config)}
    assert losses == {"us-central1": 0, "europe-west4": 32}
    with pytest.raises(ConfigError) as caught:
        parse_config(fleet(peak=30, europe_west4={"capacity_scaler": 0}), "deploy.yaml")
    assert str(caught.value) == (
        "error: deploy.yaml: frontend.peak_requests_per_second: losing us-central1 leaves 0 req/s for a peak "
        "of 30 (30 req/s short); raise max_replicas, max_rate_per_instance or capacity_scaler in the other "
        "regions, or add a region"
    )


def test_a_decommissioned_region_is_not_counted() -> None:
    document = fleet(europe_west4={"capacity_scaler": 0, "decommission": True})
    config = parse_config(document, "x")
    assert [loss.lost_region for loss in capacity.failover_headroom(config)] == ["us-central1"]


def test_synth_refuses_the_region_whose_loss_overloads_the_rest() -> None:
    document = fleet(peak=60, us_central1={"max_replicas": 10})
    with pytest.raises(ConfigError) as caught:
        parse_config(document, "deploy.yaml")
    assert str(caught.value) == (
        "error: deploy.yaml: frontend.peak_requests_per_second: losing us-central1 leaves 32 req/s for a peak "
        "of 60 (28 req/s short); raise max_replicas, max_rate_per_instance or capacity_scaler in the other "
        "regions, or add a region"
    )
    assert parse_config(fleet(peak=60, us_central1={"max_replicas": 10}, europe_west4={"max_replicas": 8}), "x")


def test_worst_loss_of_per_region_capacities_is_what_the_review_shows() -> None:
    """The review's N-1 figure from capacities read off the synthesized JSON."""
    assert capacity.worst_loss_of({}) is None
    assert capacity.worst_loss_of({"region-a": 32.0}) == ("region-a", 0.0)
    assert capacity.worst_loss_of({"region-a": 10.0, "region-b": 30.0, "region-c": 20.0}) == ("region-b", 30.0)
    assert capacity.worst_loss_of({"region-a": 16.0, "region-b": 16.0}) == ("region-a", 16.0)  # first on a tie
    assert capacity.format_rps(1234.5) == "1,234.5" and capacity.format_rps(8.0) == "8"
