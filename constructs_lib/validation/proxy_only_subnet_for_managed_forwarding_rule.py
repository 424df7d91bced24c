"""GCP-LB-013: an Envoy-based forwarding rule has its proxy-only subnet in the stack and depends on it."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import GLOBAL_FORWARDING_RULE, REGIONAL_FORWARDING_RULE, scheme_of
from constructs_lib.validation.terraform_json import Resource, StackJson, literal, references

SUBNETWORK = "google_compute_subnetwork"


def proxy_only_subnets(stack: StackJson, purpose: str, region: str | None) -> list[Resource]:
    """ACTIVE subnets of ``purpose`` in ``region`` (any region when None or a token)."""
    found = []
    for subnet in stack.of_type(SUBNETWORK):
        if literal(subnet.get("purpose")) != purpose:
            continue
        if literal(subnet.get("role")) not in (None, "ACTIVE"):  # BACKUP (a token counts as ACTIVE)
            continue
        subnet_region = stack.region_of(subnet)
        if region is not None and subnet_region is not None and subnet_region != region:
            continue
        found.append(subnet)
    return found


def depends_on(resource: Resource, target: Resource) -> bool:
    """An explicit ``depends_on`` entry, or a reference (an implicit dependency)."""
    explicit = resource.get("depends_on") or []
    if target.address in explicit:
        return True
    config = {key: value for key, value in resource.config.items() if key != "depends_on"}
    return (target.type, target.name) in references(config)


class ProxyOnlySubnetForManagedForwardingRule(Rule):
    """Proxy-only subnets for Envoy-based regional load balancers (ref. 16).

    A regional external or internal Application Load Balancer (forwarding rule
    EXTERNAL_MANAGED or INTERNAL_MANAGED) needs a ``purpose=REGIONAL_MANAGED_PROXY``
    ACTIVE subnet in its region and VPC, and the subnet must exist before the
    forwarding rule, so the rule depends on it (declared in the same stack). A
    regional EXTERNAL_MANAGED forwarding rule must also set ``network``. A global
    INTERNAL_MANAGED (cross-region internal) rule needs a GLOBAL_MANAGED_PROXY
    subnet. The global external ALB needs none.
    """

    id = "GCP-LB-013"
    name = "ProxyOnlySubnetForManagedForwardingRule"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        scheme = scheme_of(resource)
        if resource.type == REGIONAL_FORWARDING_RULE and scheme in ("EXTERNAL_MANAGED", "INTERNAL_MANAGED"):
            purpose, region = "REGIONAL_MANAGED_PROXY", stack.region_of(resource)
        elif resource.type == GLOBAL_FORWARDING_RULE and scheme == "INTERNAL_MANAGED":
            purpose, region = "GLOBAL_MANAGED_PROXY", None
        else:
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        if (
            resource.type == REGIONAL_FORWARDING_RULE
            and scheme == "EXTERNAL_MANAGED"
            and resource.get("network") is None
        ):
            problems.append("a regional EXTERNAL_MANAGED forwarding rule must set network (ref. 16)")
        subnets = proxy_only_subnets(stack, purpose, region)
        where = f" in {region}" if region else ""
        if not subnets:
            problems.append(
                f"{scheme} needs an ACTIVE purpose={purpose} subnet{where} declared in the same stack, "
                "created before the forwarding rule (ref. 16)"
            )
        elif not any(depends_on(resource, subnet) for subnet in subnets):
            names = ", ".join(subnet.address for subnet in subnets)
            problems.append(
                f"does not depend on the proxy-only subnet ({names}); add depends_on so it exists first (ref. 16)"
            )
        return non_compliant_if(problems)
