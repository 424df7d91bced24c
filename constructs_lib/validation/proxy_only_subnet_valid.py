"""GCP-LB-014: a proxy-only subnet is at least a /26 and the only ACTIVE one of its purpose, region and VPC."""

from __future__ import annotations

import ipaddress

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.terraform_json import Resource, StackJson, literal

PROXY_PURPOSES = ("REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY")
MAX_PREFIX = 26


def _key(subnet: Resource, stack: StackJson) -> tuple[object, ...]:
    return (subnet.get("purpose"), stack.region_of(subnet), str(subnet.get("network")))


class ProxyOnlySubnetValid(Rule):
    """Proxy-only subnets (ref. 16): at least 64 addresses (/26 or larger), and only one ACTIVE
    subnet per purpose, region and VPC (in this stack)."""

    id = "GCP-LB-014"
    name = "ProxyOnlySubnetValid"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type != "google_compute_subnetwork" or literal(resource.get("purpose")) not in PROXY_PURPOSES:
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        cidr = literal(resource.get("ip_cidr_range"))
        if cidr is not None:
            try:
                network = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                problems.append(f"ip_cidr_range {cidr!r} is not a CIDR range (ref. 16)")
            else:
                if network.version == 4 and network.prefixlen > MAX_PREFIX:
                    problems.append(
                        f"ip_cidr_range {cidr} has {network.num_addresses} addresses; "
                        "a proxy-only subnet needs /26 or larger (ref. 16)"
                    )
        if literal(resource.get("role")) in (None, "ACTIVE"):
            twins = [
                other.address
                for other in stack.of_type("google_compute_subnetwork")
                if other.address != resource.address
                and literal(other.get("role")) in (None, "ACTIVE")
                and _key(other, stack) == _key(resource, stack)
            ]
            if twins:
                problems.append(
                    f"is one of several ACTIVE {resource.get('purpose')} subnets in the same region and VPC "
                    f"(also {', '.join(twins)}); only one is allowed (ref. 16)"
                )
        return non_compliant_if(problems)
