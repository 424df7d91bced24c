"""GCP-LB-006: a global URL map routes to global backend services, a region URL map to its region's."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import GLOBAL_BACKEND_SERVICE, REGION_BACKEND_SERVICE
from constructs_lib.validation.terraform_json import Resource, StackJson, literal, references

GLOBAL_URL_MAP = "google_compute_url_map"
REGION_URL_MAP = "google_compute_region_url_map"
_REGIONAL_SERVICE_URL = re.compile(r"/regions/[^/]+/backendServices/")
_GLOBAL_SERVICE_URL = re.compile(r"/global/(backendServices|backendBuckets)/")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


class UrlMapScopeMatchesBackend(Rule):
    """Global URL maps point to global backend services or buckets; region URL maps to regional
    backend services of their own region (ref. 17). A global load balancer never routes to a
    RegionBackendService: its regions are reached through instance groups of one global backend service."""

    id = "GCP-LB-006"
    name = "UrlMapScopeMatchesBackend"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in (GLOBAL_URL_MAP, REGION_URL_MAP):
            return Verdict.NOT_APPLICABLE
        config = dict(resource.config)
        problems: list[str] = []
        if resource.type == GLOBAL_URL_MAP:
            wrong = sorted({f"{type_}.{name}" for type_, name in references(config) if type_ == REGION_BACKEND_SERVICE})
            wrong += sorted(
                {value for value in strings(config) if literal(value) and _REGIONAL_SERVICE_URL.search(value)}
            )
            if wrong:
                problems.append(
                    f"a global URL map routes to regional backend service(s) {', '.join(wrong)}; "
                    "use a google_compute_backend_service over the instance groups (ref. 17)"
                )
        else:
            wrong = sorted(
                {
                    f"{type_}.{name}"
                    for type_, name in references(config)
                    if type_ in (GLOBAL_BACKEND_SERVICE, "google_compute_backend_bucket")
                }
            )
            wrong += sorted(
                {value for value in strings(config) if literal(value) and _GLOBAL_SERVICE_URL.search(value)}
            )
            if wrong:
                problems.append(
                    f"a region URL map routes to global backend service(s) or bucket(s) {', '.join(wrong)}; "
                    "regional load balancers take google_compute_region_backend_service (ref. 17)"
                )
            region = stack.region_of(resource)
            elsewhere = sorted(
                f"{service.address} ({service_region})"
                for service in stack.resolve(config)
                if service.type == REGION_BACKEND_SERVICE
                and (service_region := stack.region_of(service)) is not None
                and region is not None
                and service_region != region
            )
            if elsewhere:
                problems.append(
                    f"a region URL map in {region} routes to backend service(s) of another region: "
                    f"{', '.join(elsewhere)} (ref. 17)"
                )
        return non_compliant_if(problems)
