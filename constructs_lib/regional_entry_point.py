"""A region's own load balancer entry point: the only place a RegionBackendService belongs.

A regional Application Load Balancer (internal for VPC callers, or external)
in front of the region's serving pool, so a caller can pin a region (data
residency, debugging, a region-local client) while the global endpoint keeps
choosing the nearest healthy region. Envoy-based regional load balancers need
the region's REGIONAL_MANAGED_PROXY subnet and a firewall rule admitting it.
"""

from __future__ import annotations

from typing import Literal

from constructs import Construct

from constructs_lib import naming
from constructs_lib.backend_service import llm_backend_service, rate_backend
from constructs_lib.config import Frontend, InferenceServer
from constructs_lib.health_checks import LOAD_BALANCING, http_probe
from constructs_lib.security import PUBLIC_PATH_PREFIX, ModernTlsPolicy, ServingPortFirewall
from constructs_lib.toolkit.google import (
    CertificateManagerCertificate,
    CertificateManagerDnsAuthorization,
    ComputeAddress,
    ComputeForwardingRule,
    ComputeRegionBackendService,
    ComputeRegionBackendServiceBackend,
    ComputeRegionHealthCheck,
    ComputeRegionTargetHttpProxy,
    ComputeRegionTargetHttpsProxy,
    ComputeRegionUrlMap,
    ComputeRegionUrlMapHostRule,
    ComputeRegionUrlMapPathMatcher,
    ComputeRegionUrlMapPathMatcherPathRule,
    ComputeSubnetwork,
)

SCHEMES = {"internal": "INTERNAL_MANAGED", "external": "EXTERNAL_MANAGED"}


class RegionalEntryPoint(Construct):
    """Proxy-only subnet, regional health check, RegionBackendService, URL map, proxy, forwarding rule.

    ``internal``: an internal Application Load Balancer, HTTP on port 80 of an
    address in the serving subnet. ``external``: a regional external one, HTTPS
    on port 443 for ``domain``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        region: str,
        kind: Literal["internal", "external"],
        network: str,
        serving_subnetwork: str,
        proxy_only_range: str,
        instance_group: str,
        network_tag: str,
        server: InferenceServer,
        frontend: Frontend,
        max_rate_per_instance: float | None = None,
        domain: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        scheme = SCHEMES[kind]
        self.dns_authorization_record: str | None = None
        proxy_only = ComputeSubnetwork(
            self,
            "proxy_only_subnet",
            name=naming.resource_name(name_prefix, region, "proxy-only"),
            region=region,
            network=network,
            ip_cidr_range=proxy_only_range,
            purpose="REGIONAL_MANAGED_PROXY",
            role="ACTIVE",
        )
        proxy_only.override_logical_id("proxy_only_subnet")
        ServingPortFirewall(
            self,
            "allow_proxy_only",
            name=naming.resource_name(name_prefix, region, "allow-proxy"),
            network=network,
            source_ranges=(proxy_only_range,),
            target_tag=network_tag,
            port=server.port,
            description=f"Regional load balancer proxies in {region} to the inference servers",
        )

        health_check = ComputeRegionHealthCheck(
            self,
            "health_check",
            name=naming.resource_name(name_prefix, region, "hc"),
            region=region,
            description="Takes a server out of the regional load balancer within seconds",
            **http_probe(server, LOAD_BALANCING),
        )
        health_check.override_logical_id("regional_health_check")

        backend_service = ComputeRegionBackendService(
            self,
            "backend_service",
            name=naming.resource_name(name_prefix, region, "backend"),
            region=region,
            load_balancing_scheme=scheme,
            health_checks=[health_check.id],
            backend=[
                ComputeRegionBackendServiceBackend(
                    **rate_backend(
                        group=instance_group,
                        max_rate_per_instance=max_rate_per_instance or frontend.max_rate_per_instance,
                        capacity_scaler=1.0,
                    )
                )
            ],
            **llm_backend_service(frontend),
        )
        backend_service.override_logical_id("regional_backend")

        url_map = ComputeRegionUrlMap(
            self,
            "url_map",
            name=naming.resource_name(name_prefix, region, "url-map"),
            region=region,
            default_service=backend_service.id,
            host_rule=[ComputeRegionUrlMapHostRule(hosts=["*"], path_matcher="api")],
            path_matcher=[self._api_paths_only(backend_service.id, server.health_path)],
        )
        url_map.override_logical_id("regional_url_map")

        if kind == "internal":
            proxy_id, port = self._http_proxy(name_prefix, region, url_map.id), "80"
        else:
            if domain is None:
                raise ValueError("an external entry point serves HTTPS and needs its domain")
            proxy_id, port = self._https_proxy(name_prefix, region, url_map.id, domain, frontend.ssl_profile), "443"
        address = ComputeAddress(
            self,
            "address",
            name=naming.resource_name(name_prefix, region, "entry-ip"),
            region=region,
            address_type="INTERNAL" if kind == "internal" else "EXTERNAL",
            subnetwork=serving_subnetwork if kind == "internal" else None,
            network_tier=None if kind == "internal" else "PREMIUM",
        )
        address.override_logical_id("regional_address")
        forwarding_rule = ComputeForwardingRule(
            self,
            "forwarding_rule",
            name=naming.resource_name(name_prefix, region, "entry"),
            region=region,
            load_balancing_scheme=scheme,
            ip_protocol="TCP",
            port_range=port,
            ip_address=address.id,
            network=network,
            subnetwork=serving_subnetwork if kind == "internal" else None,
            network_tier=None if kind == "internal" else "PREMIUM",
            target=proxy_id,
            depends_on=[proxy_only],
        )
        forwarding_rule.override_logical_id("regional_forwarding_rule")

        self.address: str = address.address

    @staticmethod
    def _api_paths_only(backend_service: str, health_path: str) -> ComputeRegionUrlMapPathMatcher:
        """Only the API and the health path reach the servers; anything else is answered 404 here.

        The regional entry point cannot have Cloud Armor (see ``config.Region``), and
        vLLM checks its API key only under /v1: admin paths such as /pause would
        otherwise be open. The default route aborts every request with 404
        (fault injection at 100 %), so its backend is never called.
        """
        return ComputeRegionUrlMapPathMatcher(
            name="api",
            default_service=backend_service,
            default_route_action={"fault_injection_policy": {"abort": {"http_status": 404, "percentage": 100}}},
            path_rule=[
                ComputeRegionUrlMapPathMatcherPathRule(
                    paths=[f"{PUBLIC_PATH_PREFIX}*", health_path], service=backend_service
                )
            ],
        )

    def _http_proxy(self, name_prefix: str, region: str, url_map: str) -> str:
        """Plain HTTP inside the VPC: internal callers reach it only through the VPC."""
        proxy = ComputeRegionTargetHttpProxy(
            self,
            "http_proxy",
            name=naming.resource_name(name_prefix, region, "proxy"),
            region=region,
            url_map=url_map,
        )
        proxy.override_logical_id("regional_proxy")
        return str(proxy.id)

    def _https_proxy(self, name_prefix: str, region: str, url_map: str, domain: str, ssl_profile: str) -> str:
        """HTTPS with a Google-managed Certificate Manager certificate, authorized through DNS.

        Regional load balancers cannot use the global managed certificates, and a
        self-managed regional certificate would put a private key in the code.
        The DNS authorization's CNAME record is exported for the domain's zone.
        """
        authorization = CertificateManagerDnsAuthorization(
            self,
            "dns_authorization",
            name=naming.resource_name(name_prefix, region, "dns-auth"),
            location=region,
            domain=domain,
        )
        authorization.override_logical_id("regional_dns_authorization")
        certificate = CertificateManagerCertificate(
            self,
            "certificate",
            name=naming.resource_name(name_prefix, region, "cert"),
            location=region,
            managed={"domains": [domain], "dns_authorizations": [authorization.id]},
        )
        certificate.override_logical_id("regional_certificate")
        tls_policy = ModernTlsPolicy(self, "tls_policy", name_prefix=name_prefix, profile=ssl_profile, region=region)
        proxy = ComputeRegionTargetHttpsProxy(
            self,
            "https_proxy",
            name=naming.resource_name(name_prefix, region, "proxy"),
            region=region,
            url_map=url_map,
            certificate_manager_certificates=[certificate.id],
            ssl_policy=tls_policy.id,
        )
        proxy.override_logical_id("regional_proxy")
        record = authorization.dns_resource_record.get(0)
        self.dns_authorization_record = f"{record.name} {record.type} {record.data}"
        return str(proxy.id)
