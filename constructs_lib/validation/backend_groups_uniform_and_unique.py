"""GCP-LB-005: one backend service's backends are all instance groups or all NEGs, each group once, as URLs."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import (
    BACKEND_SERVICES,
    GroupKind,
    backends_of,
    describe_backend,
    group_kind,
    is_neg,
)
from constructs_lib.validation.terraform_json import Resource, StackJson, is_token


class BackendGroupsUniformAndUnique(Rule):
    """A backend service's backends are all instance groups or all NEGs; no group twice;
    a literal ``group`` is a full instance group / NEG URL (ref. 10)."""

    id = "GCP-LB-005"
    name = "BackendGroupsUniformAndUnique"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        backends = backends_of(resource)
        if not backends:
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        kinds = [group_kind(backend.get("group"), stack) for backend in backends]
        if GroupKind.INSTANCE_GROUP in kinds and any(is_neg(kind) for kind in kinds):
            problems.append("mixes instance groups and network endpoint groups in one backend service (ref. 10)")
        seen: dict[str, int] = {}
        for index, backend in enumerate(backends):
            group = backend.get("group")
            if group is None:
                problems.append(f"backend[{index}] has no group (ref. 10)")
                continue
            key = str(group)
            if key in seen:
                problems.append(f"{describe_backend(index, backend)} repeats backend[{seen[key]}]'s group (ref. 10)")
            seen.setdefault(key, index)
            if not is_token(group) and kinds[index] is GroupKind.UNKNOWN:
                problems.append(f"{describe_backend(index, backend)} is not a full instance group or NEG URL (ref. 10)")
        return non_compliant_if(problems)
