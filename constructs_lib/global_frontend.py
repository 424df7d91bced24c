"""The one anycast HTTPS endpoint in front of every region's serving pool.

A global external Application Load Balancer (EXTERNAL_MANAGED): Google's edge
sends each request to the nearest region whose instances are healthy and have
capacity, and shifts traffic to other regions when one fails its health checks
or is drained (capacity 0). Its backend service takes the regions' instance
groups; a global backend service can never take a RegionBackendService.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_google.compute_backend_service import ComputeBackendService, ComputeBackendServiceBackend
from cdktf_cdktf_provider_google.compute_global_address import ComputeGlobalAddress
from cdktf_cdktf_provider_google.compute_global_forwarding_rule import ComputeGlobalForwardingRule
from cdktf_cdktf_provider_google.compute_health_check import ComputeHealthCheck
from cdktf_cdktf_provider_google.compute_managed_ssl_certificate import ComputeManagedSslCertificate
from cdktf_cdktf_provider_google.compute_target_http_proxy import ComputeTargetHttpProxy
from cdktf_cdktf_provider_google.compute_target_https_proxy import ComputeTargetHttpsProxy
from cdktf_cdktf_provider_google.compute_url_map import ComputeUrlMap
from constructs import Construct

from constructs_lib import naming
from constructs_lib.config import Frontend, InferenceServer
from constructs_lib.health_checks import LOAD_BALANCING, http_probe
from constructs_lib.regional_entry_point import BALANCING_MODE

CLIENT_KEEPALIVE_SEC = 620
"""Client-side HTTP keepalive of the HTTPS proxy (5-1200 s); above the 600 s backend keepalive."""


@dataclass(frozen=True, kw_only=True)
class RegionalBackend:
    """One region's instance group as the global backend service sees it."""

    region: str
    instance_group: str
    capacity_scaler: float
    max_rate_per_instance: float
    """Requests per second one VM of this region takes (RATE balancing)."""


class GlobalBackend(Construct):
    """The global health check and backend service with one backend per region.

    Tuned for long, streamed, GPU-bound requests: a request timeout that covers a
    whole generation, draining as long, LEAST_REQUEST so a slow server is not
    sent more than its share (or consistent hashing on a session header to keep
    a conversation on one server's KV cache), outlier detection to eject
    servers that fail, and logging at the configured sample rate.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        backends: tuple[RegionalBackend, ...],
        server: InferenceServer,
        frontend: Frontend,
        security_policy: str,
    ) -> None:
        super().__init__(scope, id_)
        health_check = ComputeHealthCheck(
            self,
            "health_check",
            name=naming.resource_name(name_prefix, "hc"),
            description="Fails an instance (and so a dead region) within about ten seconds",
            **http_probe(server, LOAD_BALANCING),
        )
        health_check.override_logical_id("global_health_check")

        affinity: dict[str, object]
        if frontend.session_affinity_header is None:
            affinity = {"locality_lb_policy": "LEAST_REQUEST"}
        else:
            affinity = {
                "locality_lb_policy": "RING_HASH",
                "session_affinity": "HEADER_FIELD",
                "consistent_hash": {"http_header_name": frontend.session_affinity_header},
            }
        self.backend_service = ComputeBackendService(
            self,
            "backend_service",
            name=naming.resource_name(name_prefix, "backend"),
            description="Every region's GPU serving pool behind the global endpoint",
            load_balancing_scheme="EXTERNAL_MANAGED",
            protocol="HTTP",
            port_name=naming.NAMED_PORT,
            timeout_sec=frontend.request_timeout_sec,
            connection_draining_timeout_sec=frontend.connection_draining_sec,
            health_checks=[health_check.id],
            backend=[
                ComputeBackendServiceBackend(
                    group=backend.instance_group,
                    balancing_mode=BALANCING_MODE,
                    max_rate_per_instance=backend.max_rate_per_instance,
                    capacity_scaler=backend.capacity_scaler,
                    description=backend.region,
                )
                for backend in backends
            ],
            log_config={"enable": True, "sample_rate": frontend.log_sample_rate},
            outlier_detection={
                "consecutive_errors": 5,
                "consecutive_gateway_failure": 3,
                "interval": {"seconds": 10},
                "base_ejection_time": {"seconds": 30},
                "max_ejection_percent": 50,
            },
            security_policy=security_policy,
            enable_cdn=False,
            **affinity,
        )
        self.backend_service.override_logical_id("global_backend")
        self.id: str = self.backend_service.id


class HttpsEndpoint(Construct):
    """The anycast address, Google-managed certificate, HTTPS proxy, and the :80 redirect.

    The address is protected from accidental destroy: DNS points at it, and a
    new one would break every client until DNS caught up.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        domains: tuple[str, ...],
        backend_service: str,
        ssl_policy: str,
    ) -> None:
        super().__init__(scope, id_)
        address = ComputeGlobalAddress(
            self,
            "address",
            name=naming.resource_name(name_prefix, "ip"),
            description="Anycast address of the LLM endpoint; DNS points here",
            address_type="EXTERNAL",
            ip_version="IPV4",
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        address.override_logical_id("frontend_address")

        certificate = ComputeManagedSslCertificate(
            self,
            "certificate",
            name=naming.certificate_name(name_prefix, domains),
            managed={"domains": list(domains)},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        certificate.override_logical_id("frontend_certificate")

        url_map = ComputeUrlMap(
            self,
            "url_map",
            name=naming.resource_name(name_prefix, "url-map"),
            default_service=backend_service,
        )
        url_map.override_logical_id("frontend_url_map")
        https_proxy = ComputeTargetHttpsProxy(
            self,
            "https_proxy",
            name=naming.resource_name(name_prefix, "https-proxy"),
            url_map=url_map.id,
            ssl_certificates=[certificate.id],
            ssl_policy=ssl_policy,
            http_keep_alive_timeout_sec=CLIENT_KEEPALIVE_SEC,
            quic_override="NONE",
        )
        https_proxy.override_logical_id("frontend_https_proxy")
        https_rule = ComputeGlobalForwardingRule(
            self,
            "https_rule",
            name=naming.resource_name(name_prefix, "https"),
            load_balancing_scheme="EXTERNAL_MANAGED",
            ip_protocol="TCP",
            port_range="443",
            ip_address=address.id,
            target=https_proxy.id,
        )
        https_rule.override_logical_id("frontend_https")

        redirect_map = ComputeUrlMap(
            self,
            "redirect_map",
            name=naming.resource_name(name_prefix, "http-redirect"),
            description="Answers plain HTTP with a redirect to HTTPS",
            default_url_redirect={
                "https_redirect": True,
                "redirect_response_code": "MOVED_PERMANENTLY_DEFAULT",
                "strip_query": False,
            },
        )
        redirect_map.override_logical_id("http_redirect_url_map")
        http_proxy = ComputeTargetHttpProxy(
            self,
            "http_proxy",
            name=naming.resource_name(name_prefix, "http-proxy"),
            url_map=redirect_map.id,
        )
        http_proxy.override_logical_id("http_redirect_proxy")
        http_rule = ComputeGlobalForwardingRule(
            self,
            "http_rule",
            name=naming.resource_name(name_prefix, "http"),
            load_balancing_scheme="EXTERNAL_MANAGED",
            ip_protocol="TCP",
            port_range="80",
            ip_address=address.id,
            target=http_proxy.id,
        )
        http_rule.override_logical_id("http_redirect")

        self.ip_address: str = address.address
