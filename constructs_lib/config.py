"""The deployment file: its typed, frozen model and the loader that reports errors.

One YAML file describes the whole fleet. It is validated completely before any
cdktf module is imported or anything is written, and every problem is reported
as one line, ``error: <file>: <field path>: <what is allowed>``, so that a typo
in a pull request is caught by `cdktf synth` with a message that says what to fix.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import re
import stat
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from constructs_lib import capacity, gcp_regions, gpu_catalog, gpu_drivers, naming
from constructs_lib.secret_patterns import WHERE_INSTEAD, secret_kind

DEFAULT_CONFIG_PATH = "config/default.yaml"


class ConfigError(Exception):
    """A deployment file (or an environment variable) that cannot be used.

    ``str(error)`` is the one line the app prints: ``error: <source>: <field>: <message>``.
    """

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = one_line(source, 200)
        self.field = one_line(field, 200)
        self.message = one_line(message, 400)
        where = f"{self.source}: {self.field}" if field else self.source
        super().__init__(f"error: {where}: {self.message}")


def one_line(text: str, limit: int) -> str:
    """``text`` as one printable line: control characters escaped, at most ``limit`` characters."""
    printable = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text[: limit + 1])
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


class _Model(BaseModel):
    """Strict base: unknown keys are errors, values are not coerced, models are frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, regex_engine="python-re")


Name = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]{0,14}[a-z0-9])?$")]
"""Prefix of every resource name: 1-16 characters, so the longest derived name fits 63."""

ProjectId = Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
Domain = Annotated[
    str,
    StringConstraints(pattern=r"^(?=.{4,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"),
]
MachineType = Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{0,62}$")]
"""A machine type name; whether Google sells it with a GPU is checked against the GPU catalog
(``gpu_catalog``): the x86 accelerator-optimized families, or N1 with an attached GPU."""
ServerArg = Annotated[str, StringConstraints(pattern=r"^[-A-Za-z0-9_.=:/,]+$")]

RelativePath = Annotated[str, StringConstraints(pattern=r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]+$")]
HttpPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/-]*$")]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9]{0,62}$")]
SecretId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")]
"""A Secret Manager secret id in the deployment's project (never the secret's value)."""
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$")]


_RFC1918 = tuple(ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


class LocalState(_Model):
    """State files on the machine that runs `cdktf deploy`, one per stack.

    ``directory`` is relative to the folder that holds the output directory
    (normally the project root), never absolute, so the JSON stays portable.
    """

    backend: Literal["local"]
    directory: RelativePath = "terraform-state"


class GcsState(_Model):
    """One GCS bucket shared by the team; every stack keeps its state at ``<prefix>/<stack>``."""

    backend: Literal["gcs"]
    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$")]
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_./]*[A-Za-z0-9]$")]
    impersonate_service_account: (
        Annotated[
            str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9.]+\.iam\.gserviceaccount\.com$")
        ]
        | None
    ) = None


_TFC_WORKSPACE_NAME_LIMIT = 90


class TfcState(_Model):
    """Terraform Cloud / HCP Terraform: one workspace per stack, ``<workspace_prefix>-<stack>``."""

    backend: Literal["tfc"]
    organization: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]{0,39}$")]
    workspace_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]{0,60}$")]
    hostname: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")] = "app.terraform.io"
    project: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _-]{3,40}$")] | None = None
    """The Terraform Cloud project of the workspaces; None: the organization's default project."""
    create_project: bool = True
    """The bootstrap creates ``project``; false: it must already exist and is looked up by name."""

    @model_validator(mode="after")
    def _workspace_names_fit(self) -> TfcState:
        longest_stack = max(len(naming.region_stack(region)) for region in gcp_regions.ZONES)
        if len(self.workspace_prefix) + 1 + longest_stack > _TFC_WORKSPACE_NAME_LIMIT:
            raise ValueError(
                f"workspace_prefix: too long: Terraform Cloud workspace names <prefix>-<stack> "
                f"must stay within {_TFC_WORKSPACE_NAME_LIMIT} characters"
            )
        return self


StateConfig = Annotated[LocalState | GcsState | TfcState, Field(discriminator="backend")]


_IMAGE_REFERENCE = re.compile(
    r"^(?:(?P<registry>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)+(?::[0-9]{1,5})?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
"""A container image reference: ``[registry/]path[:tag][@sha256:digest]`` (Docker's grammar, lower-case path)."""
_ARTIFACT_REGISTRY_HOST = re.compile(r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev$")
RESERVED_SERVER_ENV = ("VLLM_API_KEY", "HF_TOKEN", "LD_LIBRARY_PATH", "VLLM_HTTP_TIMEOUT_KEEP_ALIVE")
"""Set by the startup script (the first two from Secret Manager); the file may not set them."""


class ArtifactRepository(BaseModel):
    """The Artifact Registry repository an image lives in (its reader role is scoped to it)."""

    model_config = ConfigDict(frozen=True)
    project: str
    location: str
    repository: str


class InferenceServer(_Model):
    """The OpenAI-compatible server every GPU VM runs, as a container (vLLM by default)."""

    image: str = "vllm/vllm-openai:v0.11.0"
    """Pinned by tag or, better, by digest (``...@sha256:<64 hex>``); ``latest`` or no tag is refused."""
    model: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9._/]*$")] = "Qwen/Qwen2.5-7B-Instruct"
    model_revision: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9._]{0,99}$")] | None = None
    """A Hugging Face commit, tag or branch of ``model`` (vLLM ``--revision``); a commit hash pins the weights."""
    port: Annotated[int, Field(ge=1024, le=65535)] = 8000
    health_path: HttpPath = "/health"
    args: tuple[ServerArg, ...] = ()
    env: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,63}=[-A-Za-z0-9_.=:/,]*$")], ...] = ()
    """``NAME=value`` environment variables of the server container (never secrets)."""
    hf_token_secret: SecretId | None = None
    """Secret Manager secret holding a Hugging Face token (gated models); handed over as HF_TOKEN."""
    weights_bucket: BucketName | None = None
    """Cloud Storage bucket holding the weights at ``gs://<bucket>/<model>/``; read-only, copied at boot."""
    gpu_driver_version: gpu_drivers.DriverVersion | None = None
    """Overrides the NVIDIA driver pinned for the GPU family (constructs_lib/gpu_drivers.py)."""
    model_load_seconds: Annotated[int, Field(ge=60, le=3600)] = 1200
    """How long a new VM may take to install drivers, pull the image and load the model
    before autohealing judges it; becomes the MIG's autohealing initial delay."""

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, value: str) -> str:
        match = _IMAGE_REFERENCE.match(value)
        if match is None or len(value) > 255:
            raise ValueError(
                f"{value!r} is not a container image reference ([registry/]path[:tag][@sha256:<64 hex digits>])"
            )
        if match["tag"] is None and match["digest"] is None:
            raise ValueError(f"{value!r} has no tag or digest; pin one (e.g. :v0.11.0 or @sha256:...)")
        if match["tag"] == "latest" and match["digest"] is None:
            raise ValueError(f"{value!r} is not pinned: 'latest' moves; use a version tag or @sha256:<digest>")
        if _ARTIFACT_REGISTRY_HOST.match(match["registry"] or "") and match["path"].count("/") < 2:
            raise ValueError(
                f"{value!r}: Artifact Registry images are <location>-docker.pkg.dev/<project>/<repository>/<image>"
            )
        return value

    @model_validator(mode="after")
    def _revision_source(self) -> InferenceServer:
        if self.model_revision is not None and self.weights_bucket is not None:
            raise ValueError(
                "model_revision: applies to Hugging Face downloads; with weights_bucket the bucket's "
                "gs://<bucket>/<model>/ contents are what is served"
            )
        for entry in self.env:
            if entry.split("=", 1)[0] in RESERVED_SERVER_ENV:
                raise ValueError(
                    f"env: {entry.split('=', 1)[0]} is set by the startup script "
                    "(VLLM_API_KEY from auth.secret, HF_TOKEN from hf_token_secret)"
                )
        return self

    @property
    def artifact_repository(self) -> ArtifactRepository | None:
        """The image's Artifact Registry repository, or None for any other registry."""
        match = _IMAGE_REFERENCE.match(self.image)
        host = _ARTIFACT_REGISTRY_HOST.match((match and match["registry"]) or "")
        if match is None or host is None:
            return None
        parts = match["path"].split("/")
        if len(parts) < 3:
            return None
        return ArtifactRepository(project=parts[0], location=host["location"], repository=parts[1])


class RateLimit(_Model):
    """Cloud Armor throttle per client: requests allowed per interval before HTTP 429.

    ``IP`` (default) counts each client address. ``IP_AND_HTTP_HEADER`` counts
    each (address, ``header_name`` value) pair: a client cannot use up another
    address's budget, and clients without the header are not pooled across
    addresses. A header alone (``HTTP_HEADER``) is refused: every client
    without it would share one bucket, and any client could pick a fresh value.
    """

    requests: Annotated[int, Field(ge=1, le=1_000_000)] = 120
    interval_sec: Literal[10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600] = 60
    key: Literal["IP", "IP_AND_HTTP_HEADER", "HTTP_HEADER"] = "IP"
    header_name: HeaderName | None = None

    @model_validator(mode="after")
    def _header_key_needs_name(self) -> RateLimit:
        if self.key == "HTTP_HEADER":
            raise ValueError(
                "key: HTTP_HEADER alone lets clients without the header share one bucket and any client "
                "escape by changing the value; use IP_AND_HTTP_HEADER (or IP)"
            )
        if (self.key == "IP_AND_HTTP_HEADER") != (self.header_name is not None):
            raise ValueError("header_name: required exactly when key is IP_AND_HTTP_HEADER")
        return self


WAF_RULE_SETS = (
    "sqli-v33-stable",
    "xss-v33-stable",
    "lfi-v33-stable",
    "rfi-v33-stable",
    "rce-v33-stable",
    "methodenforcement-v33-stable",
    "scannerdetection-v33-stable",
    "protocolattack-v33-stable",
    "sessionfixation-v33-stable",
    "java-v33-stable",
    "nodejs-v33-stable",
    "php-v33-stable",
)
"""Cloud Armor's preconfigured OWASP CRS 3.3 rule sets."""


class Waf(_Model):
    """Preconfigured OWASP rule sets, each denying with 403 at the chosen sensitivity (1 = fewest false positives)."""

    rule_sets: Annotated[tuple[str, ...], Field(min_length=1)]
    sensitivity: Literal[1, 2, 3, 4] = 1

    @model_validator(mode="before")
    @classmethod
    def _lists_as_tuples(cls, data: Any) -> Any:
        """Frontend's before-validator puts this model in Python mode, where strict tuples refuse lists."""
        if isinstance(data, dict) and isinstance(data.get("rule_sets"), list):
            return {**data, "rule_sets": tuple(data["rule_sets"])}
        return data

    @field_validator("rule_sets")
    @classmethod
    def _known_rule_sets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in WAF_RULE_SETS:
                raise ValueError(f"{name!r} is not a preconfigured rule set; one of: {', '.join(WAF_RULE_SETS)}")
        if len(set(value)) != len(value):
            raise ValueError("list each rule set once")
        return value


class Frontend(_Model):
    """Settings of the global HTTPS endpoint, chosen for long, streamed LLM responses."""

    request_timeout_sec: Annotated[int, Field(ge=600, le=86400)] = 900
    connection_draining_sec: Annotated[int, Field(ge=600, le=3600)] = 900
    log_sample_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    session_affinity_header: HeaderName | None = None
    """Requests with the same value of this header go to the same server (KV-cache reuse)."""
    ssl_profile: Literal["MODERN", "RESTRICTED"] = "MODERN"
    max_rate_per_instance: Annotated[float, Field(gt=0, le=10_000)] = 8.0
    """Requests per second one GPU VM is sized for; the RATE balancing mode's capacity."""
    rate_limit: RateLimit = RateLimit()
    peak_requests_per_second: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    """The fleet's peak load; when set, synth checks that losing any one region leaves enough capacity."""
    waf: Waf | None = None
    """Optional; prompts often look like SQL or code, so start at sensitivity 1 and watch the logs."""

    @model_validator(mode="before")
    @classmethod
    def _draining_follows_requests(cls, data: Any) -> Any:
        """Unless set, draining lasts as long as a request may (up to its 3600 s maximum)."""
        if isinstance(data, dict) and "connection_draining_sec" not in data and "request_timeout_sec" in data:
            timeout = data["request_timeout_sec"]
            if isinstance(timeout, int) and not isinstance(timeout, bool):
                return {**data, "connection_draining_sec": max(600, min(timeout, 3600))}
        return data

    @model_validator(mode="after")
    def _draining_covers_requests(self) -> Frontend:
        if self.connection_draining_sec < min(self.request_timeout_sec, 3600):
            raise ValueError(
                "connection_draining_sec: must be at least request_timeout_sec (up to 3600) "
                "so scale-in and rollouts do not cut streams"
            )
        return self


REQUESTS_RUNNING_METRIC = "custom.googleapis.com/vllm/num_requests_running"
"""Requests a server is generating for; each VM publishes it (see serving_pool.startup_script)."""


class Autoscaling(_Model):
    """What the regional autoscaler follows.

    ``metric`` (default): a per-VM Cloud Monitoring gauge, by default the requests
    each server is working on, with ``target`` the concurrency one VM is sized
    for. ``load_balancing``: the load balancers' serving capacity, with ``target``
    a fraction; Google advises against it for a group that, like ours, backs
    two backend services (the global one and the regional entry point).
    """

    signal: Literal["metric", "load_balancing"] = "metric"
    metric: Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9_./:]*$")] = REQUESTS_RUNNING_METRIC
    target: Annotated[float, Field(gt=0, le=100_000)] | None = None
    cooldown_sec: Annotated[int, Field(ge=60, le=3600)] | None = None
    external_publisher: bool = False
    """True when something other than the VM's reporter publishes ``metric`` (which the app then trusts)."""

    @model_validator(mode="after")
    def _target_fits_signal(self) -> Autoscaling:
        if self.signal == "load_balancing" and self.target is not None and self.target > 1:
            raise ValueError("target: with signal load_balancing, a fraction of capacity: 0 < target <= 1")
        if self.signal == "metric" and self.metric != REQUESTS_RUNNING_METRIC and not self.external_publisher:
            raise ValueError(
                f"metric: nothing publishes {self.metric}: the VM's reporter publishes only "
                f"{REQUESTS_RUNNING_METRIC}; use it, or set external_publisher: true if another service writes it"
            )
        return self

    @property
    def effective_target(self) -> float:
        """``target``, or 16 requests per VM for ``metric`` and 0.8 for ``load_balancing``."""
        if self.target is not None:
            return self.target
        return 16.0 if self.signal == "metric" else 0.8


class Accelerator(_Model):
    """A GPU attached to an N1 machine type (accelerator-optimized types bundle theirs)."""

    type: Annotated[str, StringConstraints(pattern=r"^nvidia-[a-z0-9-]+$")]
    count: Literal[1, 2, 4, 8]


_DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
"""Docker's default bridge on Container-Optimized OS: a VM cannot reach a peer in this range."""

ReservationName = Annotated[
    str,
    StringConstraints(
        pattern=r"^(projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/reservations/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
    ),
]
"""A specific reservation: its name, or ``projects/<owner>/reservations/<name>`` when shared."""


class Region(_Model):
    """One region's GPU capacity and its own load-balancer entry point."""

    region: str
    machine_type: MachineType
    accelerator: Accelerator | None = None
    min_replicas: Annotated[int, Field(ge=0, le=1000)]
    max_replicas: Annotated[int, Field(ge=1, le=1000)]
    capacity_scaler: float
    zones: tuple[str, ...] | None = None
    entry_point: Literal["internal", "external"] = "internal"
    entry_domain: Domain | None = None
    """The regional endpoint's hostname; required for an external entry point (HTTPS)."""
    external_entry_point_without_cloud_armor: bool = False
    """Required (true) with an external entry point: hashicorp/google 6.50 cannot attach Cloud Armor to it."""
    decommission: bool = False
    """Step 2 of removing a region: the global backend drops it, its stack stays to be destroyed."""
    serving_cidr: str | None = None
    proxy_only_cidr: str | None = None
    autoscaling: Autoscaling = Autoscaling()
    provisioning: Literal["on_demand", "spot", "reservation"] = "on_demand"
    """How the VMs are bought: on-demand, Spot (preemptible, discounted) or from ``reservation``."""
    reservation: ReservationName | None = None
    server_args: tuple[ServerArg, ...] = ()
    """Appended to ``server.args`` in this region only."""
    max_rate_per_instance: Annotated[float, Field(gt=0, le=10_000)] | None = None
    """Requests per second one VM of this region is sized for; default ``frontend.max_rate_per_instance``."""

    @field_validator("capacity_scaler")
    @classmethod
    def _capacity_in_range(cls, value: float) -> float:
        if not (value == 0.0 or 0.1 <= value <= 1.0):
            raise ValueError("must be 0 (drained) or between 0.1 and 1.0")
        return value

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in gcp_regions.ZONES:
            raise ValueError(f"unknown GCP region {value!r}; one of: {', '.join(sorted(gcp_regions.ZONES))}")
        return value

    @field_validator("serving_cidr", "proxy_only_cidr")
    @classmethod
    def _private_cidr(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise ValueError(f"{value!r} is not a CIDR block such as 10.0.0.0/20") from None
        if not isinstance(network, ipaddress.IPv4Network) or not any(network.subnet_of(block) for block in _RFC1918):
            raise ValueError(f"{value!r} must lie in an RFC 1918 range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")
        if network.prefixlen > 29:
            raise ValueError(f"{value!r} is too small: GCP subnets are /29 or larger")
        if network.overlaps(_DOCKER_BRIDGE):
            raise ValueError(
                f"{value!r} overlaps 172.17.0.0/16, the container bridge on Container-Optimized OS, "
                "so VMs could not answer it; choose a range outside it"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Region:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas: must not exceed max_replicas")
        if self.min_replicas == 0 and self.autoscaling.signal == "metric":
            raise ValueError(
                "min_replicas: must be at least 1 with autoscaling signal metric: "
                "with no VM running, nothing publishes the metric and the region never scales up"
            )
        allowed = gcp_regions.ZONES[self.region]
        for zone in self.zones or ():
            if zone not in allowed:
                raise ValueError(f"zones: {zone!r} is not a zone of {self.region}; one of: {', '.join(allowed)}")
        if self.zones is not None and (not self.zones or len(set(self.zones)) != len(self.zones)):
            raise ValueError("zones: list each zone once, at least one")
        if (self.entry_point == "external") != (self.entry_domain is not None):
            raise ValueError("entry_domain: required exactly when entry_point is external (its HTTPS hostname)")
        if self.entry_point == "external" and not self.external_entry_point_without_cloud_armor:
            raise ValueError(
                "external_entry_point_without_cloud_armor: set it to true to accept that the external entry "
                "point has no rate limit or WAF (the pinned provider cannot attach Cloud Armor to a regional "
                "backend service; see README 'Who may call the endpoint'), or use entry_point: internal"
            )
        if self.entry_point == "internal" and self.external_entry_point_without_cloud_armor:
            raise ValueError("external_entry_point_without_cloud_armor: only for entry_point: external")
        if self.decommission and self.capacity_scaler != 0:
            raise ValueError(
                "decommission: drain the region first (capacity_scaler: 0, deploy global-frontend), "
                "then mark it for decommission"
            )
        accelerator = None if self.accelerator is None else (self.accelerator.type, self.accelerator.count)
        gpu_catalog.check_machine(self.machine_type, accelerator)
        gpu_catalog.resolve_zones(self.region, self.gpu[0], self.zones)
        gpu_catalog.check_provisioning(self.machine_type, self.provisioning)
        if (self.provisioning == "reservation") != (self.reservation is not None):
            raise ValueError("reservation: required exactly when provisioning is reservation (the reservation's name)")
        if self.proxy_only_cidr is not None and ipaddress.ip_network(self.proxy_only_cidr).prefixlen > 26:
            raise ValueError("proxy_only_cidr: must be /26 or larger")
        return self

    @property
    def serving_range(self) -> str:
        """The VM subnet's range: ``serving_cidr`` or the region's fixed default."""
        return self.serving_cidr or naming.default_serving_cidr(self.region)

    @property
    def proxy_only_range(self) -> str:
        """The proxy-only subnet's range: ``proxy_only_cidr`` or the region's fixed default."""
        return self.proxy_only_cidr or naming.default_proxy_only_cidr(self.region)

    @property
    def gpu(self) -> tuple[str, int]:
        """(GPU model, count) of one VM: bundled with the machine type, or the N1 accelerator."""
        accelerator = None if self.accelerator is None else (self.accelerator.type, self.accelerator.count)
        gpus = gpu_catalog.region_gpus(self.machine_type, accelerator)
        assert gpus is not None  # checked by _consistent
        return gpus

    @property
    def zone_names(self) -> tuple[str, ...]:
        """The zones the instance group spreads over: ``zones``, or the region's zones that offer the GPU."""
        return gpu_catalog.resolve_zones(self.region, self.gpu[0], self.zones)

    def rate_per_instance(self, frontend: Frontend) -> float:
        """Requests per second one VM takes: this region's ``max_rate_per_instance`` or the frontend's."""
        return self.max_rate_per_instance if self.max_rate_per_instance is not None else frontend.max_rate_per_instance


class ApiKeyAuth(_Model):
    """Clients send ``Authorization: Bearer <key>``; the key is a Secret Manager secret each VM reads at boot."""

    type: Literal["api_key"]
    secret: SecretId


class NoAuth(_Model):
    """No authentication: anyone who reaches the endpoint can use the GPUs (README says what that exposes)."""

    type: Literal["none"]


AuthConfig = Annotated[ApiKeyAuth | NoAuth, Field(discriminator="type")]

ChannelId = Annotated[
    str, StringConstraints(pattern=r"^(projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/notificationChannels/)?[0-9]{1,30}$")
]


class Alerts(_Model):
    """Cloud Monitoring alerting: the policies always exist; channels are where they notify."""

    notification_channels: tuple[ChannelId, ...] = ()
    """Channel ids (``123``) or names (``projects/<p>/notificationChannels/123``)."""
    error_ratio: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Share of 5xx answers from a region's servers at the global load balancer that opens an incident."""
    p95_latency_ms: Annotated[int, Field(ge=100, le=86_400_000)] = 120_000
    """95th percentile of the backends' whole-response latency (streams included) that opens an incident."""


class DeploymentConfig(_Model):
    """The whole deployment: what `main.py` turns into the network, regional and global stacks."""

    project_id: ProjectId
    name: Name
    domains: Annotated[tuple[Domain, ...], Field(min_length=1, max_length=100)]
    state: StateConfig
    regions: Annotated[tuple[Region, ...], Field(min_length=1)]
    auth: AuthConfig
    """Filled in before validation when absent: API keys from the secret ``<name>-api-key``."""
    server: InferenceServer = InferenceServer()
    frontend: Frontend = Frontend()
    alerts: Alerts = Alerts()

    @property
    def secret_ids(self) -> tuple[str, ...]:
        """Every Secret Manager secret the inference VMs read (their service account may access these only)."""
        ids = [self.auth.secret] if isinstance(self.auth, ApiKeyAuth) else []
        if self.server.hf_token_secret is not None:
            ids.append(self.server.hf_token_secret)
        return tuple(dict.fromkeys(ids))

    @model_validator(mode="after")
    def _no_secret_values(self) -> DeploymentConfig:
        fields = [("server.args", self.server.args), ("server.env", self.server.env)]
        fields += [(f"regions[{index}].server_args", region.server_args) for index, region in enumerate(self.regions)]
        for field, values in fields:
            for position, value in enumerate(values):
                kind = secret_kind(value)
                if kind is not None:
                    raise _FieldError(f"{field}[{position}]", f"looks like {kind}; {WHERE_INSTEAD}")
        return self

    @model_validator(mode="after")
    def _fleet_is_servable(self) -> DeploymentConfig:
        seen: set[str] = set()
        for position, region in enumerate(self.regions):
            if region.region in seen:
                raise _FieldError(f"regions[{position}].region", f"{region.region!r} is listed twice")
            seen.add(region.region)
        if all(region.capacity_scaler == 0 for region in self.regions):
            raise _FieldError("regions", "every region is drained (capacity_scaler 0); keep at least one serving")
        ranges = {}
        for position, region in enumerate(self.regions):
            ranges[f"regions[{position}].serving_cidr"] = region.serving_range
            ranges[f"regions[{position}].proxy_only_cidr"] = region.proxy_only_range
        clash = naming.overlapping(ranges)
        if clash is not None:
            raise _FieldError(clash[1], f"overlaps {clash[0]}; give each subnet its own range")
        if len(set(self.domains)) != len(self.domains):
            raise _FieldError("domains", "list each domain once")
        shortfall = capacity.failover_shortfall(self)
        if shortfall is not None:
            raise _FieldError("frontend.peak_requests_per_second", shortfall)
        return self

    @property
    def serving_regions(self) -> tuple[Region, ...]:
        """The regions the global backend service sends traffic to (not being decommissioned)."""
        return tuple(region for region in self.regions if not region.decommission)


def closed_by_default(data: dict[str, Any]) -> dict[str, Any]:
    """A file without ``auth`` gets API keys from the secret ``<name>-api-key``; ``auth: none`` is ``{type: none}``."""
    if "auth" not in data and isinstance(data.get("name"), str):
        return {**data, "auth": {"type": "api_key", "secret": f"{data['name']}-api-key"}}
    if data.get("auth") == "none":
        return {**data, "auth": {"type": "none"}}
    return data


class _FieldError(ValueError):
    """A whole-model check that knows which field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


MAX_FILE_BYTES = 1_000_000
"""A deployment file of forty regions is about 10 kB; anything near a megabyte is a mistake."""
MAX_DEPTH = 20
MAX_ITEMS = 1_000
"""Items in one list or keys in one mapping (GCP has about forty regions)."""
MAX_VALUES = 100_000
"""Values after aliases and merge keys are expanded: stops an alias bomb before it is built."""
MAX_SCALAR_CHARS = 10_000


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that rejects a key given twice in one mapping (PyYAML keeps the last).

    Merge keys (``<<: *defaults``) are expanded first; a key written in the mapping
    itself overrides a merged one, as the YAML merge-key spec says.
    """


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is not a plain string", key_node.start_mark
            )
        if key in keys:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_shape(text: str) -> None:
    """Walk the YAML events (no objects built) and stop at the first bound exceeded.

    Raises ``_ShapeError(line, message)``. Aliases count as the size of what they
    name, so a small file that expands to millions of values is refused here,
    before PyYAML builds it. An alias inside the collection it names is refused too.
    """
    sizes: dict[str, int] = {}  # values each anchor stands for, expanded
    open_anchors: list[str | None] = []
    counts: list[int] = []  # values so far in each open collection, expanded
    entries: list[int] = []  # events directly inside each open collection
    limits: list[int] = []  # a mapping entry is two events (key and value)
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = open_anchors.pop(), counts.pop()
            entries.pop()
            limits.pop()
            if anchor is not None:
                sizes[anchor] = size
            if counts:
                counts[-1] += size
            continue
        if not isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.ScalarEvent, yaml.AliasEvent)):
            continue
        if entries:
            entries[-1] += 1
            if entries[-1] > limits[-1]:
                raise _ShapeError(line, f"too large: a list or mapping with more than {MAX_ITEMS} entries")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(counts) >= MAX_DEPTH:
                raise _ShapeError(line, f"too deep: nested more than {MAX_DEPTH} levels")
            open_anchors.append(event.anchor)
            counts.append(1)
            entries.append(0)
            limits.append(MAX_ITEMS * (2 if isinstance(event, yaml.MappingStartEvent) else 1))
            size = 1
        elif isinstance(event, yaml.ScalarEvent):
            if len(event.value) > MAX_SCALAR_CHARS:
                raise _ShapeError(
                    line, f"too long: a value of {len(event.value)} characters; at most {MAX_SCALAR_CHARS}"
                )
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
            if counts:
                counts[-1] += 1
        else:
            if event.anchor in open_anchors:
                raise _ShapeError(
                    line,
                    f"alias *{event.anchor} is inside the collection it names (a cycle); it cannot be read as plain data",
                )
            size = sizes.get(event.anchor, 1) if event.anchor is not None else 1
            if counts:
                counts[-1] += size
        total += size
        if total > MAX_VALUES:
            raise _ShapeError(line, f"too large: aliases and merge keys expand to more than {MAX_VALUES} values")


class _ShapeError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _first_non_finite(data: Any, path: str = "") -> str | None:
    """The field path of the first NaN or infinity in ``data`` (JSON and GCP accept neither)."""
    if isinstance(data, float) and not math.isfinite(data):
        return path or "(top level)"
    if isinstance(data, dict):
        children = ((f"{path}.{key}" if path else str(key), value) for key, value in data.items())
    elif isinstance(data, list):
        children = ((f"{path}[{index}]", value) for index, value in enumerate(data))
    else:
        return None
    for child_path, value in children:
        found = _first_non_finite(value, child_path)
        if found is not None:
            return found
    return None


def _known_keys() -> set[str]:
    models: list[type[BaseModel]] = [_Model]
    keys: set[str] = set()
    while models:
        model = models.pop()
        models.extend(model.__subclasses__())
        keys.update(model.model_fields)
    return keys


def _pattern_of(alias: Any) -> str:
    """The regular expression of an ``Annotated[str, StringConstraints(pattern=...)]`` alias."""
    return str(typing.get_args(alias)[1].pattern)


_PATTERN_WORDS = {
    _pattern_of(Name): "1-16 lowercase letters, digits or hyphens, starting with a letter, not ending with a hyphen",
    _pattern_of(ProjectId): "a GCP project id: 6-30 lowercase letters, digits or hyphens, starting with a letter",
    _pattern_of(Domain): "a lowercase DNS name such as llm.example.com",
    _pattern_of(MachineType): "a machine type name such as g2-standard-8 (checked against the GPU catalog)",
    _pattern_of(ServerArg): "one argument of letters, digits and - _ . = : / , (no spaces or shell characters)",
    _pattern_of(SecretId): "a Secret Manager secret id: 1-255 letters, digits, '-' or '_'",
    _pattern_of(BucketName): "a Cloud Storage bucket name: 3-63 lowercase letters, digits, '-', '_' or '.'",
    _pattern_of(ReservationName): "a reservation name, or projects/<project>/reservations/<name> when shared",
    _pattern_of(ChannelId): "a notification channel id (digits) or projects/<project>/notificationChannels/<id>",
    _pattern_of(RelativePath): "a relative path of letters, digits, '.', '_', '-' and '/', without '..'",
    _pattern_of(HttpPath): "an HTTP path starting with '/'",
    _pattern_of(HeaderName): "a lowercase HTTP header name (letters, digits, hyphens)",
}


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif (part in ("local", "gcs", "tfc") and path == "state") or (part in ("api_key", "none") and path == "auth"):
            continue  # the discriminator's branch, not a key of the file
        else:
            path += f".{part}" if path else str(part)
    return path


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    """Turn one pydantic error into (field path, what is allowed)."""
    field = _field_path(error["loc"])
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        close = difflib.get_close_matches(key, sorted(_known_keys()), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]!r}?" if close else "check the spelling"
        return field, f"unknown key ({hint} see config/default.yaml for the keys)"
    if kind == "missing":
        return field, "required key is missing"
    if kind == "string_pattern_mismatch":
        allowed = _PATTERN_WORDS.get(
            str(context.get("pattern")), "see the README's deployment file section for the form"
        )
        return field, f"{error['input']!r} is not allowed (expected {allowed})"
    if kind == "union_tag_invalid" and field == "auth":
        return "auth.type", f"{context.get('tag')!r} is not an authentication type; one of: api_key, none"
    if kind == "union_tag_not_found" and field == "auth":
        return "auth.type", "required key is missing (one of: api_key, none)"
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return field, "must be " + error["msg"].removeprefix("Input should be ")
    if kind == "too_short":
        return field, f"has {context.get('actual_length', 0)} items; list at least {context.get('min_length')}"
    if kind == "too_long":
        return field, f"has {context.get('actual_length')} items; at most {context.get('max_length')}"
    if kind == "union_tag_invalid":
        return field + ".backend" if field else "backend", (
            f"{context.get('tag')!r} is not a state backend; one of: local, gcs, tfc"
        )
    if kind == "union_tag_not_found":
        return field + ".backend", "required key is missing (one of: local, gcs, tfc)"
    if kind == "value_error":
        cause = context.get("error")
        if isinstance(cause, _FieldError):
            return cause.field, str(cause)
        message = str(cause) if cause is not None else error["msg"]
        if ": " in message and all(part.isidentifier() for part in message.split(": ", 1)[0].split(".")):
            sub_field, message = message.split(": ", 1)
            field = f"{field}.{sub_field}" if field else sub_field
        return field, message
    if kind.endswith("_type") or kind in ("literal_error", "enum"):
        expected = error["msg"].removeprefix("Input should be ").removeprefix("input should be ")
        return field, f"{error['input']!r} is not allowed (expected {expected})"
    return field, error["msg"]


def parse_config(data: Any, source: str) -> DeploymentConfig:
    """Validate an already-parsed deployment document; raise ConfigError on the first problem."""
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}"
        raise ConfigError(source, "", f"the file is {what}; it must be a mapping of keys (see config/default.yaml)")
    non_finite = _first_non_finite(data)
    if non_finite is not None:
        raise ConfigError(source, non_finite, "is not a number (NaN or infinity); give a finite value")
    try:
        # Through JSON so strict mode takes YAML lists for tuples; YAML dates become strings.
        document = json.dumps(closed_by_default(data), default=str)
    except (TypeError, ValueError) as error:  # e.g. an alias that contains itself
        raise ConfigError(source, "(top level)", f"cannot be read as plain data: {error}") from None
    try:
        return DeploymentConfig.model_validate_json(document, strict=True)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        # A misspelt key is also a missing one: name the misspelling, which says what to fix.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        field, message = _describe(first)
        raise ConfigError(source, field or "(top level)", message) from None


def load_config(path: str | Path) -> DeploymentConfig:
    """Read and validate a deployment file; raise ConfigError with one printable line.

    The file's kind, size and YAML shape (depth, entries, alias expansion) are
    checked before anything is built from it.
    """
    source = str(path)
    try:
        status = Path(path).stat()
    except FileNotFoundError:
        raise ConfigError(source, "", "no such file (set DEPLOYMENT_CONFIG to a deployment file)") from None
    except OSError as error:
        raise ConfigError(source, "", f"cannot be read: {error.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise ConfigError(source, "", "is a directory; set DEPLOYMENT_CONFIG to a deployment file (YAML) in it")
    if not stat.S_ISREG(status.st_mode):
        raise ConfigError(source, "", "is not a regular file (a device or pipe); set DEPLOYMENT_CONFIG to a YAML file")
    if status.st_size > MAX_FILE_BYTES:
        raise ConfigError(source, "", f"is {status.st_size} bytes; a deployment file is at most {MAX_FILE_BYTES}")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(source, "", f"is over {MAX_FILE_BYTES} bytes; a deployment file is at most that")
        text = raw.decode("utf-8")
    except OSError as error:
        raise ConfigError(source, "", f"cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(source, "", f"is not UTF-8 text (byte {error.start})") from None
    try:
        _check_shape(text)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except _ShapeError as error:
        raise ConfigError(source, f"line {error.line}", error.message) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(yaml)"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(source, where, f"invalid YAML: {problem}") from None
    except ValueError as error:  # e.g. an integer beyond Python's 4300-digit conversion limit
        raise ConfigError(source, "(yaml)", f"a value cannot be read: {str(error)[:120]}") from None
    return parse_config(data, source)


_OUTDIR_PATTERN = re.compile(r"^[A-Za-z0-9._/-]+$")


def output_directory(environ: Mapping[str, str]) -> str:
    """The output directory from CDKTF_OUTDIR (set by the cdktf CLI), default ``cdktf.out``."""
    outdir = environ.get("CDKTF_OUTDIR", "cdktf.out")
    if not outdir or not _OUTDIR_PATTERN.match(outdir) or Path(outdir).resolve() == Path(outdir).resolve().parent:
        raise ConfigError("environment", "CDKTF_OUTDIR", f"{outdir!r} is not a usable output directory path")
    return outdir


def config_path(environ: Mapping[str, str]) -> str:
    """The deployment file from DEPLOYMENT_CONFIG, default ``config/default.yaml``."""
    path = environ.get("DEPLOYMENT_CONFIG", DEFAULT_CONFIG_PATH)
    if not path.strip():
        raise ConfigError("environment", "DEPLOYMENT_CONFIG", "is empty; unset it or name a deployment file")
    return path
