"""GCP-LB-015: a target proxy's certificates have its scope: global certificates on global proxies only."""

from __future__ import annotations

import re

from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.terraform_json import Resource, StackJson, literal, references

GLOBAL_PROXIES = ("google_compute_target_https_proxy", "google_compute_target_ssl_proxy")
REGION_PROXIES = ("google_compute_region_target_https_proxy",)
GLOBAL_CERTIFICATES = ("google_compute_ssl_certificate", "google_compute_managed_ssl_certificate")
REGION_CERTIFICATES = ("google_compute_region_ssl_certificate",)
_REGIONAL_URL = re.compile(r"/regions/[^/]+/sslCertificates/")
_GLOBAL_URL = re.compile(r"/global/sslCertificates/")


class CertificateScopeMatchesProxy(Rule):
    """Certificate scope must match the proxy (ref. 18).

    ``google_compute_(managed_)ssl_certificate`` is global and only works with a
    global target HTTPS/SSL proxy; regional ALBs need
    ``google_compute_region_ssl_certificate`` (or regional Certificate Manager
    certificates), which a global proxy cannot use.
    """

    id = "GCP-LB-015"
    name = "CertificateScopeMatchesProxy"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in (*GLOBAL_PROXIES, *REGION_PROXIES):
            return Verdict.NOT_APPLICABLE
        certificates = resource.get("ssl_certificates")
        if not isinstance(certificates, list) or not certificates:
            return Verdict.NOT_APPLICABLE
        is_global = resource.type in GLOBAL_PROXIES
        wrong_types = REGION_CERTIFICATES if is_global else GLOBAL_CERTIFICATES
        wrong_url = _REGIONAL_URL if is_global else _GLOBAL_URL
        wrong = [
            str(certificate)
            for certificate in certificates
            if any(type_ in wrong_types for type_, _ in references(certificate))
            or ((url := literal(certificate)) is not None and wrong_url.search(url))
        ]
        scope, other = ("global", "regional") if is_global else ("regional", "global")
        return non_compliant_if(
            [f"a {scope} proxy uses {other} certificate(s) {', '.join(wrong)} (ref. 18)"] if wrong else []
        )
