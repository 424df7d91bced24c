"""GCP-LB-022: Cloud CDN stays off on the LLM backend services."""

from __future__ import annotations

from constructs_lib.validation.engine import NonCompliant, Result, Rule, Verdict
from constructs_lib.validation.gcp_vocabulary import BACKEND_SERVICES
from constructs_lib.validation.terraform_json import Resource, StackJson


class CdnDisabledOnLlmBackends(Rule):
    """Keep ``enable_cdn`` false for LLM APIs (ref. 27).

    Completions are per-request, often private, and streamed: caching them would
    serve one client's answer to another and buffer streams. Cloud CDN is also a
    global external/classic feature only.
    """

    id = "GCP-LB-022"
    name = "CdnDisabledOnLlmBackends"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in BACKEND_SERVICES:
            return Verdict.NOT_APPLICABLE
        if resource.get("enable_cdn") in (True, "true"):
            return NonCompliant(
                "enable_cdn is true; LLM responses must not be cached, set enable_cdn = false (ref. 27)"
            )
        return Verdict.COMPLIANT
