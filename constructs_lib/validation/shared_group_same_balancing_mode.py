"""GCP-LB-011: backend services that share an instance group use the same balancing mode."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    GroupKind,
    backends_of,
    balancing_mode_of,
    group_kind,
)
from constructs_lib.validation.terraform_json import Resource, StackJson


class SharedGroupSameBalancingMode(Rule):
    """Backend services sharing an instance group must use the same balancing mode (ref. 8).

    "With utilization mode we can not use ILB and HTTP LB on the same IG": the
    API rejects a second backend service whose mode conflicts with the first's.
    When the group is behind an INTERNAL (CONNECTION) service too, the
    Application Load Balancer side must use RATE. Only backend services of the
    same stack can be compared (the project shares one constant,
    ``BALANCING_MODE``, across stacks for the rest).
    """

    id = "GCP-LB-011"
    name = "SharedGroupSameBalancingMode"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        mine = {
            str(backend.get("group")): balancing_mode_of(resource, backend)
            for backend in backends_of(resource)
            if group_kind(backend.get("group"), stack) in (GroupKind.INSTANCE_GROUP, GroupKind.UNKNOWN)
            and backend.get("group") is not None
        }
        shared = False
        problems: list[str] = []
        for other in stack.of_type(*BACKEND_SERVICES):
            if other.address == resource.address:
                continue
            for backend in backends_of(other):
                group = str(backend.get("group"))
                if group not in mine:
                    continue
                shared = True
                theirs, ours = balancing_mode_of(other, backend), mine[group]
                if theirs is not None and ours is not None and theirs != ours:
                    problems.append(
                        f"uses balancing_mode {ours} for group {group}, which {other.address} balances with "
                        f"{theirs}; backend services sharing an instance group must use the same mode "
                        "(RATE when one of them is INTERNAL) (ref. 8)"
                    )
        if not shared:
            return Verdict.NOT_APPLICABLE
        return non_compliant_if(problems)
