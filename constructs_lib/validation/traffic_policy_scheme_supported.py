"""GCP-LB-019: ``circuit_breakers``, ``consistent_hash`` and ``max_stream_duration`` only where supported."""

from __future__ import annotations

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES, GLOBAL_BACKEND_SERVICE, is_passthrough, scheme_of
from constructs_lib.validation.terraform_json import Resource, StackJson, literal

HASH_POLICIES = ("RING_HASH", "MAGLEV")


class TrafficPolicySchemeSupported(Rule):
    """Envoy traffic-policy fields per scheme (ref. 24).

    - ``circuit_breakers`` and ``consistent_hash`` are Envoy features: never on the
      classic ALB (global EXTERNAL) or a passthrough NLB.
    - ``consistent_hash`` only applies with ``locality_lb_policy`` RING_HASH or
      MAGLEV; otherwise it silently does nothing (a conversation would not stay
      on the server holding its KV cache).
    - ``max_stream_duration`` is INTERNAL_SELF_MANAGED only.
    """

    id = "GCP-LB-019"
    name = "TrafficPolicySchemeSupported"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        present = [
            name for name in ("circuit_breakers", "consistent_hash", "max_stream_duration") if resource.get(name)
        ]
        scheme = scheme_of(resource)
        if not present or scheme is None:
            return Verdict.NOT_APPLICABLE
        problems: list[str] = []
        classic = resource.type == GLOBAL_BACKEND_SERVICE and scheme == "EXTERNAL"
        for name in ("circuit_breakers", "consistent_hash"):
            if name in present and (classic or is_passthrough(resource)):
                problems.append(f"sets {name}, which {scheme} {resource.type} does not support (ref. 24)")
        if "consistent_hash" in present:
            policy = literal(resource.get("locality_lb_policy"))
            if resource.get("locality_lb_policy") is None or (policy is not None and policy not in HASH_POLICIES):
                problems.append(
                    f"sets consistent_hash but locality_lb_policy is {policy or 'unset (ROUND_ROBIN)'}; "
                    "it only applies with RING_HASH or MAGLEV (ref. 24)"
                )
        if "max_stream_duration" in present and scheme != "INTERNAL_SELF_MANAGED":
            problems.append(
                f"sets max_stream_duration, which is INTERNAL_SELF_MANAGED only (scheme {scheme}) (ref. 24)"
            )
        return non_compliant_if(problems)
