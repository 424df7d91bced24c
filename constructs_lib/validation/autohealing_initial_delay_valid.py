"""GCP-LB-026: a MIG autoheals, with ``initial_delay_sec`` set and within 0..3600."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import INSTANCE_GROUP_MANAGERS
from constructs_lib.validation.terraform_json import Resource, StackJson, blocks, fmt_number, number

MAX_INITIAL_DELAY_SEC = 3600


class AutohealingInitialDelayValid(Rule):
    """MIG autohealing with an explicit ``initial_delay_sec`` in 0..3600 (ref. 29).

    Without autohealing a hung inference server stays in the pool. The initial
    delay must cover the GPU driver install and model load (often 5-20 min), or
    the MIG recreates VMs before they ever become healthy; the API caps it at 3600 s.
    """

    id = "GCP-LB-026"
    name = "AutohealingInitialDelayValid"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in INSTANCE_GROUP_MANAGERS:
            return Verdict.NOT_APPLICABLE
        policies = blocks(resource.get("auto_healing_policies"))
        if not policies:
            return non_compliant_if(
                [
                    "has no auto_healing_policies: a hung server would never be replaced; add a health check and "
                    "an initial_delay_sec covering model load (ref. 29)"
                ]
            )
        problems: list[str] = []
        for policy in policies:
            if policy.get("health_check") is None:
                problems.append("auto_healing_policies has no health_check (ref. 29)")
            raw = policy.get("initial_delay_sec")
            if raw is None:
                problems.append(
                    "auto_healing_policies.initial_delay_sec is not set; set it to cover "
                    "driver install and model load, at most 3600 (ref. 29)"
                )
                continue
            value = number(raw)
            if value is not None and not 0 <= value <= MAX_INITIAL_DELAY_SEC:
                problems.append(
                    f"auto_healing_policies.initial_delay_sec is {fmt_number(value)}; "
                    f"allowed 0..{MAX_INITIAL_DELAY_SEC} (ref. 29)"
                )
        return non_compliant_if(problems)
