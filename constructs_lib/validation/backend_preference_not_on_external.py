"""GCP-LB-021: ``backend.preference`` is not used with the classic EXTERNAL scheme."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES, backends_of, describe_backend, scheme_of
from constructs_lib.validation.terraform_json import Resource, StackJson


class BackendPreferenceNotOnExternal(Rule):
    """``backend.preference`` (PREFERRED/DEFAULT) is not allowed with EXTERNAL (ref. 26)."""

    id = "GCP-LB-021"
    name = "BackendPreferenceNotOnExternal"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        preferring = [
            describe_backend(index, backend)
            for index, backend in enumerate(backends_of(resource))
            if backend.get("preference") is not None
        ]
        if not preferring:
            return Verdict.NOT_APPLICABLE
        if scheme_of(resource) == "EXTERNAL":
            return non_compliant_if(
                [f"{', '.join(preferring)} set preference, which EXTERNAL backend services reject (ref. 26)"]
            )
        return Verdict.COMPLIANT
