"""GCP-LB-008: a backend service has exactly one health check (none with serverless or internet NEGs)."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES, GroupKind, backends_of, group_kind
from constructs_lib.validation.terraform_json import Resource, StackJson

NO_HEALTH_CHECK = (GroupKind.SERVERLESS_NEG, GroupKind.INTERNET_NEG)


class SingleHealthCheck(Rule):
    """Exactly one health check per backend service (ref. 13).

    ``health_checks`` has ``min_size = max_size = 1`` and is required for
    instance-group backends: without it no instance is ever healthy, so the
    load balancer would never take a dead region out of rotation. It is
    forbidden with serverless and internet NEG backends.
    """

    id = "GCP-LB-008"
    name = "SingleHealthCheck"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        checks = resource.get("health_checks")
        count = len(checks) if isinstance(checks, list) else (0 if checks is None else 1)
        kinds = {group_kind(backend.get("group"), stack) for backend in backends_of(resource)}
        if kinds and kinds <= {*NO_HEALTH_CHECK}:
            if count:
                return NonCompliant("has a health check, which serverless and internet NEG backends forbid (ref. 13)")
            return Verdict.COMPLIANT
        if GroupKind.PSC_NEG in kinds:
            return Verdict.NOT_APPLICABLE
        if count != 1:
            return NonCompliant(
                f"has {count} health checks; a backend service needs exactly one, or no instance is ever "
                "healthy and a failed region is never taken out of rotation (ref. 13)"
            )
        return Verdict.COMPLIANT
