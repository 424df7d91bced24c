"""Cloud Monitoring for the fleet: per-region alert policies, the public endpoint's uptime check, one dashboard.

Placement keeps regions independent: a region's alert policies live in its own
stack and name only its own resources (its instance group, and its backend at
the global load balancer, by name), and the dashboard in ``global-frontend``
groups every chart by region instead of listing regions. Adding a region adds
that region's policies and changes no other stack.

Policies exist whether or not notification channels are configured, so the
console always shows incidents; ``alerts.notification_channels`` adds where
they are sent.

Metrics used (https://cloud.google.com/monitoring/api/metrics_gcp):
``loadbalancing.googleapis.com/https/backend_request_count`` and
``.../backend_latencies`` (resource ``https_lb_rule``),
``compute.googleapis.com/instance_group/size`` (resource ``instance_group``),
``monitoring.googleapis.com/uptime_check/check_passed``, and the two per-VM
gauges each inference VM publishes (``serving_pool``).
"""

from __future__ import annotations

import json

from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import REQUESTS_RUNNING_METRIC, Alerts, Region
from constructs_lib.serving_pool import GPU_UTILIZATION_METRIC, POOL_LABEL
from constructs_lib.toolkit.google import (
    MonitoringAlertPolicy,
    MonitoringAlertPolicyConditions,
    MonitoringAlertPolicyConditionsConditionAbsent,
    MonitoringAlertPolicyConditionsConditionAbsentAggregations,
    MonitoringAlertPolicyConditionsConditionThreshold,
    MonitoringAlertPolicyConditionsConditionThresholdAggregations,
    MonitoringAlertPolicyConditionsConditionThresholdDenominatorAggregations,
    MonitoringAlertPolicyDocumentation,
    MonitoringDashboard,
    MonitoringUptimeCheckConfig,
)

WINDOW = "300s"
LB_REQUESTS = "loadbalancing.googleapis.com/https/backend_request_count"
LB_LATENCIES = "loadbalancing.googleapis.com/https/backend_latencies"


def channel_names(project_id: str, channels: tuple[str, ...]) -> list[str]:
    """Full channel names: a bare id is a channel of the deployment's project."""
    return [c if c.startswith("projects/") else f"projects/{project_id}/notificationChannels/{c}" for c in channels]


def _backend_filter(name_prefix: str, region: str) -> str:
    """The global load balancer's traffic to one region's instance group."""
    return (
        'resource.type="https_lb_rule"'
        f' AND resource.label.url_map_name="{naming.resource_name(name_prefix, "url-map")}"'
        f' AND resource.label.backend_name="{naming.resource_name(name_prefix, region, "pool")}"'
    )


def _documentation(text: str) -> MonitoringAlertPolicyDocumentation:
    return MonitoringAlertPolicyDocumentation(content=text, mime_type="text/markdown")


def _alert_policy(
    scope: Construct,
    id_: str,
    *,
    logical_id: str,
    display_name: str,
    severity: str,
    condition: MonitoringAlertPolicyConditions,
    channels: list[str],
    doc: str,
) -> None:
    """A one-condition alert policy that notifies ``channels`` and closes a day after it clears."""
    MonitoringAlertPolicy(
        scope,
        id_,
        display_name=display_name,
        combiner="OR",
        severity=severity,
        conditions=[condition],
        notification_channels=channels,
        documentation=_documentation(doc),
        alert_strategy={"auto_close": "86400s"},
    ).override_logical_id(logical_id)


class RegionAlerts(Construct):
    """Alert policies for one region: no serving VM, capacity at the autoscaler's maximum
    (only when the group can scale: with min_replicas = max_replicas it is always there),
    error ratio and p95 latency of its backend at the global load balancer."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        project_id: str,
        serving_region: Region,
        alerts: Alerts,
    ) -> None:
        super().__init__(scope, id_)
        region, max_replicas = serving_region.region, serving_region.max_replicas
        pool = naming.resource_name(name_prefix, region, "pool")
        channels = channel_names(project_id, alerts.notification_channels)
        backend = _backend_filter(name_prefix, region)

        def policy(key: str, title: str, severity: str, condition: MonitoringAlertPolicyConditions, doc: str) -> None:
            _alert_policy(
                self,
                key,
                logical_id=f"alert_{key}",
                display_name=f"{name_prefix} {region}: {title}",
                severity=severity,
                condition=condition,
                channels=channels,
                doc=doc,
            )

        policy(
            "no_serving_vm",
            "no server is serving",
            "CRITICAL",
            MonitoringAlertPolicyConditions(
                display_name="No VM of the pool reports its load",
                condition_absent=MonitoringAlertPolicyConditionsConditionAbsent(
                    filter=(
                        f'metric.type="{REQUESTS_RUNNING_METRIC}" AND resource.type="gce_instance"'
                        f' AND metadata.user_labels.{POOL_LABEL}="{pool}"'
                    ),
                    duration="600s",
                    aggregations=[
                        MonitoringAlertPolicyConditionsConditionAbsentAggregations(
                            alignment_period=WINDOW, per_series_aligner="ALIGN_MEAN", cross_series_reducer="REDUCE_SUM"
                        )
                    ],
                ),
            ),
            f"No inference server in **{region}** has answered on /metrics for 10 minutes: the region serves "
            "nothing (the global endpoint sends its traffic elsewhere). Read the serial console of the "
            f"pool's VMs (`gcloud compute instances get-serial-port-output`, lines `inference-boot:`) and "
            f"`gcloud compute instance-groups managed list-instances {pool} --region {region}`.",
        )
        if serving_region.min_replicas < max_replicas:
            policy(
                "at_max_replicas",
                "serving capacity at the autoscaler's maximum",
                "WARNING",
                MonitoringAlertPolicyConditions(
                    display_name=f"Instance group at {max_replicas} VMs (max_replicas) for 15 minutes",
                    condition_threshold=MonitoringAlertPolicyConditionsConditionThreshold(
                        filter=(
                            'metric.type="compute.googleapis.com/instance_group/size" AND resource.type="instance_group"'
                            f' AND resource.label.instance_group_name="{pool}"'
                        ),
                        comparison="COMPARISON_GT",
                        threshold_value=max_replicas - 0.5,
                        duration="900s",
                        aggregations=[
                            MonitoringAlertPolicyConditionsConditionThresholdAggregations(
                                alignment_period=WINDOW,
                                per_series_aligner="ALIGN_MIN",
                                cross_series_reducer="REDUCE_SUM",
                            )
                        ],
                    ),
                ),
                f"**{region}** has run at `max_replicas` ({max_replicas}) for 15 minutes: demand may exceed what it "
                "can serve. Raise `max_replicas` (and GPU quota), or add a region.",
            )
        policy(
            "error_ratio",
            "server errors at the load balancer",
            "WARNING",
            MonitoringAlertPolicyConditions(
                display_name=f"5xx share of the region's responses above {alerts.error_ratio:g}",
                condition_threshold=MonitoringAlertPolicyConditionsConditionThreshold(
                    filter=f'metric.type="{LB_REQUESTS}" AND {backend} AND metric.label.response_code_class="500"',
                    denominator_filter=f'metric.type="{LB_REQUESTS}" AND {backend}',
                    comparison="COMPARISON_GT",
                    threshold_value=alerts.error_ratio,
                    duration=WINDOW,
                    aggregations=[
                        MonitoringAlertPolicyConditionsConditionThresholdAggregations(
                            alignment_period=WINDOW, per_series_aligner="ALIGN_RATE", cross_series_reducer="REDUCE_SUM"
                        )
                    ],
                    denominator_aggregations=[
                        MonitoringAlertPolicyConditionsConditionThresholdDenominatorAggregations(
                            alignment_period=WINDOW, per_series_aligner="ALIGN_RATE", cross_series_reducer="REDUCE_SUM"
                        )
                    ],
                ),
            ),
            f"More than {alerts.error_ratio:.0%} of the answers from **{region}**'s servers through the global "
            "load balancer were 5xx for 5 minutes. Check the servers' logs (Logging, `inference-server`) and "
            "the load balancer's request logs.",
        )
        policy(
            "latency_p95",
            "slow responses at the load balancer",
            "WARNING",
            MonitoringAlertPolicyConditions(
                display_name=f"p95 backend latency above {alerts.p95_latency_ms} ms",
                condition_threshold=MonitoringAlertPolicyConditionsConditionThreshold(
                    filter=f'metric.type="{LB_LATENCIES}" AND {backend}',
                    comparison="COMPARISON_GT",
                    threshold_value=alerts.p95_latency_ms,
                    duration="600s",
                    aggregations=[
                        MonitoringAlertPolicyConditionsConditionThresholdAggregations(
                            alignment_period=WINDOW,
                            per_series_aligner="ALIGN_DELTA",
                            cross_series_reducer="REDUCE_PERCENTILE_95",
                        )
                    ],
                ),
            ),
            f"The 95th percentile of whole-response latency from **{region}** (streams included) stayed above "
            f"{alerts.p95_latency_ms} ms for 10 minutes: the servers are saturated or generations got longer. "
            "Compare running requests and GPU utilization on the dashboard.",
        )


class EndpointUptimeCheck(Construct):
    """An HTTPS uptime check of the public endpoint's health path, and the alert when it fails."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        project_id: str,
        domain: str,
        health_path: str,
        alerts: Alerts,
    ) -> None:
        super().__init__(scope, id_)
        check = MonitoringUptimeCheckConfig(
            self,
            "check",
            display_name=f"{name_prefix} public endpoint https://{domain}{health_path}",
            period="60s",
            timeout="10s",
            http_check={"path": health_path, "port": 443, "use_ssl": True, "validate_ssl": True},
            monitored_resource={"type": "uptime_url", "labels": {"project_id": project_id, "host": domain}},
        )
        check.override_logical_id("endpoint_uptime_check")
        _alert_policy(
            self,
            "alert",
            logical_id="alert_endpoint_down",
            display_name=f"{name_prefix}: public endpoint down",
            severity="CRITICAL",
            condition=MonitoringAlertPolicyConditions(
                display_name=f"https://{domain}{health_path} fails from more than one checker location",
                condition_threshold=MonitoringAlertPolicyConditionsConditionThreshold(
                    filter=(
                        'metric.type="monitoring.googleapis.com/uptime_check/check_passed" '
                        f'AND resource.type="uptime_url" AND metric.label.check_id="{check.uptime_check_id}"'
                    ),
                    comparison="COMPARISON_GT",
                    threshold_value=1,
                    duration="300s",
                    aggregations=[
                        MonitoringAlertPolicyConditionsConditionThresholdAggregations(
                            alignment_period=WINDOW,
                            per_series_aligner="ALIGN_NEXT_OLDER",
                            cross_series_reducer="REDUCE_COUNT_FALSE",
                            group_by_fields=["resource.label.host"],
                        )
                    ],
                ),
            ),
            channels=channel_names(project_id, alerts.notification_channels),
            doc=(
                f"`https://{domain}{health_path}` has failed from several places for 5 minutes: every region is "
                "down, or the certificate, DNS or load balancer is broken. Check the per-region alerts first."
            ),
        )


def _chart(title: str, filter_: str, aligner: str, reducer: str, group_by: str) -> dict[str, object]:
    return {
        "title": title,
        "xyChart": {
            "dataSets": [
                {
                    "plotType": "LINE",
                    "timeSeriesQuery": {
                        "timeSeriesFilter": {
                            "filter": filter_,
                            "aggregation": {
                                "alignmentPeriod": "60s",
                                "perSeriesAligner": aligner,
                                "crossSeriesReducer": reducer,
                                "groupByFields": [group_by],
                            },
                        }
                    },
                }
            ]
        },
    }


def dashboard_json(name_prefix: str) -> str:
    """The dashboard's JSON: every chart grouped by region, so it never lists regions."""
    url_map = f'resource.type="https_lb_rule" AND resource.label.url_map_name="{naming.resource_name(name_prefix, "url-map")}"'
    fleet = f'resource.type="gce_instance" AND metadata.user_labels.app="{name_prefix}"'
    by_scope = "resource.label.backend_scope"
    by_pool = f"metadata.user_labels.{POOL_LABEL}"
    charts = [
        _chart(
            "Requests/s per region", f'metric.type="{LB_REQUESTS}" AND {url_map}', "ALIGN_RATE", "REDUCE_SUM", by_scope
        ),
        _chart(
            "5xx responses/s per region",
            f'metric.type="{LB_REQUESTS}" AND {url_map} AND metric.label.response_code_class="500"',
            "ALIGN_RATE",
            "REDUCE_SUM",
            by_scope,
        ),
        _chart(
            "p95 backend latency per region (ms)",
            f'metric.type="{LB_LATENCIES}" AND {url_map}',
            "ALIGN_DELTA",
            "REDUCE_PERCENTILE_95",
            by_scope,
        ),
        _chart(
            "Running requests per region",
            f'metric.type="{REQUESTS_RUNNING_METRIC}" AND {fleet}',
            "ALIGN_MEAN",
            "REDUCE_SUM",
            by_pool,
        ),
        _chart(
            "GPU utilization per region (%)",
            f'metric.type="{GPU_UTILIZATION_METRIC}" AND {fleet}',
            "ALIGN_MEAN",
            "REDUCE_MEAN",
            by_pool,
        ),
    ]
    tiles = [
        {"xPos": (index % 2) * 6, "yPos": (index // 2) * 4, "width": 6, "height": 4, "widget": chart}
        for index, chart in enumerate(charts)
    ]
    return json.dumps(
        {"displayName": f"{name_prefix} LLM fleet", "mosaicLayout": {"columns": 12, "tiles": tiles}}, sort_keys=True
    )


class FleetDashboard(Construct):
    """One dashboard for the deployment: requests, errors, latency, running requests and GPU utilization per region."""

    def __init__(self, scope: Construct, id_: str, *, name_prefix: str) -> None:
        super().__init__(scope, id_)
        MonitoringDashboard(self, "dashboard", dashboard_json=dashboard_json(name_prefix)).override_logical_id(
            "fleet_dashboard"
        )
