"""GCP-LB-004: a backend's ``group`` is an instance group or NEG, never a (region) backend service."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    GroupKind,
    backends_of,
    describe_backend,
    group_kind,
)
from constructs_lib.validation.terraform_json import Resource, StackJson


class BackendGroupNotBackendService(Rule):
    """A global backend service can never take a RegionBackendService as a backend (ref. 17).

    ``backend.group`` accepts only instance group or NEG URLs. To put several
    regions behind one global load balancer, give the global backend service each
    region's instance group (which may sit in any region), not the region's
    backend service. The same holds for a region backend service.
    """

    id = "GCP-LB-004"
    name = "BackendGroupNotBackendService"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        backends = backends_of(resource)
        if not backends:
            return Verdict.NOT_APPLICABLE
        return non_compliant_if(
            [
                f"{describe_backend(index, backend)} is a backend service or bucket; a backend's group must be "
                "an instance group or a NEG (use the region's instance group URL) (ref. 17)"
                for index, backend in enumerate(backends)
                if group_kind(backend.get("group"), stack) is GroupKind.BACKEND_SERVICE
            ]
        )
