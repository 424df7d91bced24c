"""GCP-LB-009: each backend's balancing mode and capacity fields fit the load balancer type."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    HTTP_PROTOCOLS,
    NO_BALANCING_MODE_KINDS,
    backends_of,
    balancing_mode_of,
    describe_backend,
    group_kind,
    is_passthrough,
    protocol_of,
    scheme_of,
)
from constructs_lib.validation.terraform_json import Resource, StackJson, fmt_number, number

APPLICATION_MODES = ("RATE", "UTILIZATION", "CUSTOM_METRICS")
RATE_FIELDS = ("max_rate", "max_rate_per_instance", "max_rate_per_endpoint")


class BalancingModeMatchesProtocol(Rule):
    """Balancing mode and capacity fields per load balancer type (ref. 3, 4, 5, 6).

    - HTTP-family backend services (Application Load Balancers) use RATE or
      UTILIZATION (or CUSTOM_METRICS), never CONNECTION: "CONNECTION balancing
      mode is not supported for protocol HTTPS".
    - RATE needs a positive ``max_rate``, ``max_rate_per_instance`` or
      ``max_rate_per_endpoint`` ("Either maxRate or maxRatePerEndpoint should be
      set with RATE mode"; ``maxRate=0``: "None of the backends have a valid capacity").
    - ``max_utilization`` is within [0, 1].
    - INTERNAL (passthrough) backends use CONNECTION, and passthrough backend
      services use TCP/UDP/UNSPECIFIED, not an HTTP protocol. Beware: the
      provider's default mode is UTILIZATION even for INTERNAL, so it must be set.
    Serverless/internet/PSC NEG backends take no balancing mode and are skipped.
    """

    id = "GCP-LB-009"
    name = "BalancingModeMatchesProtocol"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        passthrough = is_passthrough(resource)
        protocol = protocol_of(resource)
        backends = backends_of(resource)
        if passthrough is None or protocol is None:
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        if passthrough and resource.get("protocol") is not None and protocol in HTTP_PROTOCOLS:
            problems.append(
                f"protocol {protocol} on a passthrough ({scheme_of(resource)}) backend service; "
                "use TCP, UDP or UNSPECIFIED (ref. 3)"
            )
        for index, backend in enumerate(backends):
            if group_kind(backend.get("group"), stack) in NO_BALANCING_MODE_KINDS:
                continue
            where = describe_backend(index, backend)
            mode = balancing_mode_of(resource, backend)
            if mode is None:
                continue
            shown = mode if backend.get("balancing_mode") is not None else f"{mode} (the provider default)"
            if passthrough:
                if scheme_of(resource) == "INTERNAL" and mode != "CONNECTION":
                    problems.append(
                        f"{where} uses balancing_mode {shown}; INTERNAL backends must use CONNECTION (ref. 4)"
                    )
                continue
            if protocol in HTTP_PROTOCOLS and mode not in APPLICATION_MODES:
                problems.append(
                    f"{where} uses balancing_mode {shown} with protocol {protocol}; Application Load Balancers "
                    "take RATE (with max_rate_per_instance) or UTILIZATION (ref. 3, 4)"
                )
            if mode == "RATE":
                rates = [backend.get(field) for field in RATE_FIELDS if backend.get(field) is not None]
                if not rates:
                    problems.append(
                        f"{where} uses RATE without max_rate, max_rate_per_instance or max_rate_per_endpoint (ref. 5)"
                    )
                elif all((value := number(rate)) is not None and value <= 0 for rate in rates):
                    problems.append(f"{where} uses RATE with a zero rate, so no backend has capacity (ref. 5)")
            utilization = number(backend.get("max_utilization"))
            if utilization is not None and not 0 <= utilization <= 1:
                problems.append(f"{where} has max_utilization {fmt_number(utilization)}, outside [0, 1] (ref. 6)")
        return non_compliant_if(problems)
