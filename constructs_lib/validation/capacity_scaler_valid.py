"""GCP-LB-010: every ``capacity_scaler`` is 0 or within 0.1..1, and not every backend is drained."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    NO_BALANCING_MODE_KINDS,
    REGION_BACKEND_SERVICE,
    backends_of,
    describe_backend,
    group_kind,
    scheme_of,
)
from constructs_lib.validation.terraform_json import Resource, StackJson, fmt_number, number


class CapacityScalerValid(Rule):
    """``capacity_scaler`` rules (ref. 7).

    - It must be 0 (drained) or within [0.1, 1.0].
    - Not every backend may be drained: with one backend it cannot be 0, and a
      backend service whose every backend is at 0 serves nothing ("None of the
      backends have a valid capacity").
    - It is not valid for serverless, internet or PSC NEGs, cannot be set on
      INTERNAL region backend services, and is required on non-INTERNAL ones
      (provider docs of ``google_compute_region_backend_service``).
    """

    id = "GCP-LB-010"
    name = "CapacityScalerValid"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        backends = backends_of(resource)
        if not backends:
            return Verdict.NOT_APPLICABLE
        scheme = scheme_of(resource)
        problems: list[str] = []
        drained = 0
        for index, backend in enumerate(backends):
            where = describe_backend(index, backend)
            raw = backend.get("capacity_scaler")
            if raw is None:
                if resource.type == REGION_BACKEND_SERVICE and scheme not in (None, "INTERNAL"):
                    problems.append(
                        f"{where} has no capacity_scaler, which {scheme} region backend services require (ref. 7)"
                    )
                continue
            if resource.type == REGION_BACKEND_SERVICE and scheme == "INTERNAL":
                problems.append(f"{where} sets capacity_scaler, which INTERNAL backend services reject (ref. 7)")
                continue
            if group_kind(backend.get("group"), stack) in NO_BALANCING_MODE_KINDS:
                problems.append(
                    f"{where} sets capacity_scaler, which serverless, internet and PSC NEGs reject (ref. 7)"
                )
                continue
            value = number(raw)
            if value is None:
                continue
            if value == 0:
                drained += 1
            elif not 0.1 <= value <= 1.0:
                problems.append(
                    f"{where} has capacity_scaler {fmt_number(value)}; allowed: 0 (drained) or 0.1..1.0 (ref. 7)"
                )
        if drained and drained == len(backends):
            what = "its only backend is" if len(backends) == 1 else f"all {len(backends)} backends are"
            problems.append(f"{what} drained (capacity_scaler 0), so the backend service has no capacity (ref. 7)")
        return non_compliant_if(problems)
