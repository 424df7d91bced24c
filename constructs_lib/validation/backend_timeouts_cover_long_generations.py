"""GCP-LB-016: backend services wait at least 600 s for a response and for draining (long LLM streams)."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES, is_passthrough
from constructs_lib.validation.terraform_json import Resource, StackJson, fmt_number, number

MIN_TIMEOUT_SEC = 600
DEFAULT_TIMEOUT_SEC = 30
DEFAULT_DRAINING_SEC = 300


class BackendTimeoutsCoverLongGenerations(Rule):
    """LLM traffic is long and streamed (ref. 19, 21).

    On an HTTP(S) load balancer ``timeout_sec`` (default 30 s) is a
    request/response timeout: the whole streamed generation must finish inside
    it, so it must be at least 600 s. ``connection_draining_timeout_sec``
    (default 300 s) must be as long, or MIG rollouts and scale-in cut streams.
    ``timeout_sec`` is ignored by internal passthrough NLBs, so it is not
    checked there.
    """

    id = "GCP-LB-016"
    name = "BackendTimeoutsCoverLongGenerations"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        fields = [("connection_draining_timeout_sec", DEFAULT_DRAINING_SEC, "ref. 21")]
        if is_passthrough(resource) is False:
            fields.insert(0, ("timeout_sec", DEFAULT_TIMEOUT_SEC, "ref. 19"))
        for field, default, ref in fields:
            raw = resource.get(field)
            value = float(default) if raw is None else number(raw)
            if value is not None and value < MIN_TIMEOUT_SEC:
                shown = f"{fmt_number(value)} s" + (" (the default)" if raw is None else "")
                problems.append(
                    f"{field} is {shown}; LLM generations stream for minutes, set >= {MIN_TIMEOUT_SEC} s ({ref})"
                )
        return non_compliant_if(problems)
