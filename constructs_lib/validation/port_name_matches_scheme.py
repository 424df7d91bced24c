"""GCP-LB-012: ``port_name`` is set for proxy load balancers over instance groups, omitted for INTERNAL."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    INSTANCE_GROUP_MANAGERS,
    REGION_BACKEND_SERVICE,
    GroupKind,
    backends_of,
    describe_backend,
    group_kind,
    is_neg,
    scheme_of,
)
from constructs_lib.validation.terraform_json import Resource, StackJson, blocks, literal

API_DEFAULT_PORT_NAME = "http"


class PortNameMatchesScheme(Rule):
    """``port_name`` with instance groups (ref. 11).

    - Required for EXTERNAL, EXTERNAL_MANAGED, INTERNAL_MANAGED and
      INTERNAL_SELF_MANAGED backend services whose backends are instance groups
      (the API silently assumes "http"); only backends that are all NEGs may
      omit it. A regional EXTERNAL (passthrough NLB) service has no named port.
    - It must be omitted for INTERNAL (passthrough) backend services.
    - It must exist as a named port on every instance group: checked against the
      instance group managers of the same stack.
    """

    id = "GCP-LB-012"
    name = "PortNameMatchesScheme"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        scheme = scheme_of(resource)
        port_name = resource.get("port_name")
        if scheme is None:
            return Verdict.NOT_APPLICABLE
        if scheme == "INTERNAL":
            if port_name is not None:
                return non_compliant_if(
                    ["sets port_name, which must be omitted for INTERNAL backend services (ref. 11)"]
                )
            return Verdict.COMPLIANT
        if resource.type == REGION_BACKEND_SERVICE and scheme == "EXTERNAL":
            return Verdict.NOT_APPLICABLE  # passthrough NLB
        backends = backends_of(resource)
        kinds = [group_kind(backend.get("group"), stack) for backend in backends]
        if not backends or all(is_neg(kind) for kind in kinds):
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        if port_name is None:
            problems.append(
                f"has no port_name; {scheme} backend services over instance groups must name the serving port "
                f"(the API would assume {API_DEFAULT_PORT_NAME!r}) (ref. 11)"
            )
        wanted = literal(port_name) if port_name is not None else API_DEFAULT_PORT_NAME
        for index, (backend, kind) in enumerate(zip(backends, kinds, strict=True)):
            if kind is not GroupKind.INSTANCE_GROUP or wanted is None:
                continue
            for group in stack.resolve(backend.get("group")):
                if group.type not in (*INSTANCE_GROUP_MANAGERS, "google_compute_instance_group"):
                    continue
                names = [literal(port.get("name")) for port in blocks(group.get("named_port"))]
                if wanted not in names and None not in names:
                    problems.append(
                        f"{describe_backend(index, backend)}: {group.address} has no named_port {wanted!r} "
                        f"(it has {', '.join(repr(name) for name in names) or 'none'}) (ref. 11)"
                    )
        return non_compliant_if(problems)
