"""Synth-time GCP load-balancing validity rules, in the shape of cdk-nag's ``src/rules/``.

One rule per module, named after what it checks. A rule answers, for one
resource of one stack's synthesized Terraform JSON, ``Verdict.COMPLIANT``,
``Verdict.NOT_APPLICABLE`` or a ``NonCompliant`` (``Verdict.NON_COMPLIANT`` with
a message). Rules read plain dicts (``stack.to_terraform()``, one jsii call per
stack), so they are fast and testable without cdktf:

    findings = check_stack(json.load(open("cdktf.out/stacks/network/cdk.tf.json")))

Wiring into a cdktf stack (cdktf runs every stack's validations before writing
it, and ``app.synth()`` raises on the first stack with findings)::

    enforce_gcp_rules(stack)            # stack.node.add_validation(GcpRulesValidation(stack))
    ...
    except Exception as error:
        lines = violations_from_error(error)   # None: not a rules failure

Reference numbers in the docstrings and messages ("ref. 12") are the numbered
rules of ``reference/gcp-load-balancing.md``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # cdktf/jsii are imported lazily: the rules themselves never need them
    from constructs_lib.toolkit import TerraformStack

# --------------------------------------------------------------------------- verdicts


class Verdict(enum.Enum):
    """What a rule says about one resource (cdk-nag's ``NagRuleCompliance``)."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class NonCompliant:
    """A ``Verdict.NON_COMPLIANT`` answer with the reason (one line)."""

    message: str
    verdict: ClassVar[Verdict] = Verdict.NON_COMPLIANT


Result = Verdict | NonCompliant
"""What ``Rule.check`` returns: ``Verdict.COMPLIANT``, ``Verdict.NOT_APPLICABLE`` or ``NonCompliant``."""


def verdict_of(result: Result) -> Verdict:
    """The plain enum member of a rule's answer."""
    return result.verdict if isinstance(result, NonCompliant) else result


def non_compliant_if(problems: list[str]) -> Result:
    """``NonCompliant`` joining ``problems`` with "; ", or ``Verdict.COMPLIANT`` when there are none."""
    return NonCompliant("; ".join(problems)) if problems else Verdict.COMPLIANT


# --------------------------------------------------------------------------- resources


@dataclass(frozen=True)
class Resource:
    """One ``resource.<type>.<name>`` entry of a stack's Terraform JSON."""

    type: str
    name: str
    config: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def address(self) -> str:
        """The Terraform address, e.g. ``google_compute_backend_service.global_backend``."""
        return f"{self.type}.{self.name}"

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)


_INTERPOLATION = re.compile(r"\$\{(.*?)\}", re.DOTALL)
_RESOURCE_REF = re.compile(r"(?<![\w.-])([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)")


def is_token(value: Any) -> bool:
    """True for a string holding a Terraform expression (``${...}``), whose value synth cannot know."""
    return isinstance(value, str) and "${" in value


def references(value: Any) -> list[tuple[str, str]]:
    """Resource ``(type, name)`` pairs referenced by ``${...}`` expressions anywhere in ``value``.

    ``data.*`` references (remote state, data sources) are not resources and are skipped.
    """
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        for expression in _INTERPOLATION.findall(value):
            for type_, name in _RESOURCE_REF.findall(expression):
                if type_ != "data" and "_" in type_ and (type_, name) not in found:
                    found.append((type_, name))
    elif isinstance(value, Mapping):
        for item in value.values():
            found.extend(ref for ref in references(item) if ref not in found)
    elif isinstance(value, list):
        for item in value:
            found.extend(ref for ref in references(item) if ref not in found)
    return found


def blocks(value: Any) -> list[Mapping[str, Any]]:
    """A nested block as a list of dicts: cdktf writes single blocks as an object, repeated ones as a list."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def number(value: Any) -> float | None:
    """A literal number (JSON int/float or numeric string), else None (absent or a token)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and not is_token(value):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def literal(value: Any) -> str | None:
    """A literal string value (upper-cased enums are compared as written), else None."""
    return value if isinstance(value, str) and not is_token(value) else None


def fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class StackJson:
    """One stack's synthesized Terraform JSON (``"//"`` metadata keys ignored)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self._resources: dict[tuple[str, str], Resource] = {}
        for type_, entries in (data.get("resource") or {}).items():
            if type_ == "//" or not isinstance(entries, Mapping):
                continue
            for name, config in entries.items():
                if name == "//" or not isinstance(config, Mapping):
                    continue
                self._resources[(type_, name)] = Resource(
                    type_, name, {key: value for key, value in config.items() if key != "//"}
                )

    @property
    def resources(self) -> list[Resource]:
        return list(self._resources.values())

    def of_type(self, *types: str) -> list[Resource]:
        return [resource for resource in self._resources.values() if resource.type in types]

    def get(self, type_: str, name: str) -> Resource | None:
        return self._resources.get((type_, name))

    def resolve(self, value: Any) -> list[Resource]:
        """The resources of this stack that ``value`` references."""
        return [resource for ref in references(value) if (resource := self._resources.get(ref)) is not None]

    @property
    def provider_region(self) -> str | None:
        """The default region of the (first, un-aliased) google provider block."""
        providers = blocks((self.data.get("provider") or {}).get("google"))
        for provider in providers:
            if "alias" not in provider:
                return literal(provider.get("region"))
        return None

    def region_of(self, resource: Resource) -> str | None:
        """A regional resource's region: its own ``region`` or the provider's default."""
        explicit = resource.get("region")
        if explicit is not None:
            return literal(explicit)
        return self.provider_region


# --------------------------------------------------------------------------- GCP vocabulary

GLOBAL_BACKEND_SERVICE = "google_compute_backend_service"
REGION_BACKEND_SERVICE = "google_compute_region_backend_service"
BACKEND_SERVICES = (GLOBAL_BACKEND_SERVICE, REGION_BACKEND_SERVICE)
REGIONAL_FORWARDING_RULE = "google_compute_forwarding_rule"
GLOBAL_FORWARDING_RULE = "google_compute_global_forwarding_rule"
FORWARDING_RULES = (REGIONAL_FORWARDING_RULE, GLOBAL_FORWARDING_RULE)
INSTANCE_TEMPLATES = ("google_compute_instance_template", "google_compute_region_instance_template")
VM_RESOURCES = (*INSTANCE_TEMPLATES, "google_compute_instance")
INSTANCE_GROUP_MANAGERS = ("google_compute_region_instance_group_manager", "google_compute_instance_group_manager")
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTPS", "HTTP2", "H2C"})

DEFAULT_SCHEME = {
    # hashicorp/google 6.x defaults (v8 changes the global ones to EXTERNAL_MANAGED; ref. 2)
    GLOBAL_BACKEND_SERVICE: "EXTERNAL",
    REGION_BACKEND_SERVICE: "INTERNAL",
    REGIONAL_FORWARDING_RULE: "EXTERNAL",
    GLOBAL_FORWARDING_RULE: "EXTERNAL",
}


def scheme_of(resource: Resource) -> str | None:
    """The effective ``load_balancing_scheme``: the provider default when unset, None when a token."""
    value = resource.get("load_balancing_scheme")
    if value is None:
        return DEFAULT_SCHEME.get(resource.type)
    return literal(value)


def is_passthrough(resource: Resource) -> bool | None:
    """A passthrough NLB backend service (INTERNAL, or regional EXTERNAL); None when the scheme is a token."""
    scheme = scheme_of(resource)
    if scheme is None:
        return None
    return scheme == "INTERNAL" or (resource.type == REGION_BACKEND_SERVICE and scheme == "EXTERNAL")


def protocol_of(resource: Resource) -> str | None:
    """A backend service's ``protocol`` (API default HTTP), None when a token."""
    value = resource.get("protocol")
    return "HTTP" if value is None else literal(value)


DEFAULT_BALANCING_MODE = {GLOBAL_BACKEND_SERVICE: "UTILIZATION", REGION_BACKEND_SERVICE: "UTILIZATION"}
"""Provider (6.x) defaults of ``backend.balancing_mode``: UTILIZATION, even for INTERNAL, which rejects it."""


def balancing_mode_of(resource: Resource, backend: Mapping[str, Any]) -> str | None:
    """A backend's effective balancing mode (provider default when unset), None when a token."""
    value = backend.get("balancing_mode")
    if value is None:
        return DEFAULT_BALANCING_MODE.get(resource.type)
    return literal(value)


def backends_of(resource: Resource) -> list[Mapping[str, Any]]:
    return blocks(resource.get("backend"))


class GroupKind(enum.Enum):
    """What a backend's ``group`` is (see ``group_kind``)."""

    INSTANCE_GROUP = "instance group"
    NEG = "network endpoint group"
    SERVERLESS_NEG = "serverless NEG"
    INTERNET_NEG = "internet NEG"
    PSC_NEG = "Private Service Connect NEG"
    BACKEND_SERVICE = "backend service"
    UNKNOWN = "unknown"


_NEG_KINDS = (GroupKind.NEG, GroupKind.SERVERLESS_NEG, GroupKind.INTERNET_NEG, GroupKind.PSC_NEG)
NO_BALANCING_MODE_KINDS = frozenset({GroupKind.SERVERLESS_NEG, GroupKind.INTERNET_NEG, GroupKind.PSC_NEG})
"""NEG kinds that take no balancing mode or capacity_scaler (ref. 7, 13)."""
_REGION_NEG_KINDS = {
    "SERVERLESS": GroupKind.SERVERLESS_NEG,  # the provider default of a region NEG
    "PRIVATE_SERVICE_CONNECT": GroupKind.PSC_NEG,
    "INTERNET_IP_PORT": GroupKind.INTERNET_NEG,
    "INTERNET_FQDN_PORT": GroupKind.INTERNET_NEG,
}


def group_kind(group: Any, stack: StackJson) -> GroupKind:
    """What a backend's ``group`` points at, from its reference or URL; UNKNOWN when it cannot be told
    (e.g. a URL read from another stack's remote state)."""
    for type_, name in references(group):
        if type_ in INSTANCE_GROUP_MANAGERS or type_ == "google_compute_instance_group":
            return GroupKind.INSTANCE_GROUP
        if type_ == "google_compute_network_endpoint_group":
            return GroupKind.NEG
        if type_ == "google_compute_global_network_endpoint_group":
            return GroupKind.INTERNET_NEG
        if type_ == "google_compute_region_network_endpoint_group":
            neg = stack.get(type_, name)
            endpoint_type = literal(neg.get("network_endpoint_type", "SERVERLESS")) if neg is not None else None
            return _REGION_NEG_KINDS.get(endpoint_type or "", GroupKind.NEG)
        if type_ in BACKEND_SERVICES or type_ == "google_compute_backend_bucket":
            return GroupKind.BACKEND_SERVICE
    url = literal(group)
    if url is not None:
        if "/instanceGroups/" in url:
            return GroupKind.INSTANCE_GROUP
        if "/networkEndpointGroups/" in url:
            return GroupKind.NEG
        if "/backendServices/" in url or "/backendBuckets/" in url:
            return GroupKind.BACKEND_SERVICE
    return GroupKind.UNKNOWN


def is_neg(kind: GroupKind) -> bool:
    return kind in _NEG_KINDS


def describe_backend(index: int, backend: Mapping[str, Any]) -> str:
    group = backend.get("group")
    return f"backend[{index}] (group {group})" if group is not None else f"backend[{index}]"


# --------------------------------------------------------------------------- rules and findings


class Rule:
    """A validity rule (cdk-nag's ``NagRule``): ``id``, ``name``, the why in the docstring, and ``check``."""

    id: ClassVar[str]
    name: ClassVar[str]

    def check(self, resource: Resource, stack: StackJson) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Finding:
    """A non-compliant resource: which rule, which resource, why."""

    rule_id: str
    rule_name: str
    address: str
    message: str

    @property
    def line(self) -> str:
        """``<address>: [<rule id> <rule name>] <message>``, the form validations and main.py print."""
        return f"{self.address}: [{self.rule_id} {self.rule_name}] {self.message}"

    def __str__(self) -> str:
        return self.line


def evaluate(rule: Rule, resource: Resource, stack: StackJson) -> Finding | None:
    """The finding of ``rule`` on ``resource``, or None. A rule that crashes is reported, never silent."""
    try:
        result = rule.check(resource, stack)
    except Exception as error:  # noqa: BLE001 - a broken rule must fail synth with a readable line
        message = " ".join(f"rule could not evaluate this resource: {error!r}".split())
        return Finding(rule.id, rule.name, resource.address, message)
    if isinstance(result, NonCompliant):
        return Finding(rule.id, rule.name, resource.address, " ".join(result.message.split()))  # one line
    return None


def check_stack(stack_json: Mapping[str, Any], rules: tuple[Rule, ...] | None = None) -> list[Finding]:
    """Every finding of ``rules`` (default ``ALL_RULES``) over every resource of one stack's Terraform JSON."""
    stack = StackJson(stack_json)
    selected = ALL_RULES if rules is None else rules
    findings: list[Finding] = []
    for resource in stack.resources:
        for rule in selected:
            finding = evaluate(rule, resource, stack)
            if finding is not None:
                findings.append(finding)
    return findings


def iter_results(stack_json: Mapping[str, Any], rule: Rule) -> Iterator[tuple[Resource, Result]]:
    """Every resource of a stack with ``rule``'s answer (for reports and tests)."""
    stack = StackJson(stack_json)
    for resource in stack.resources:
        yield resource, rule.check(resource, stack)


# --------------------------------------------------------------------------- cdktf wiring

RULES_FAILURE_HEADER = "Validation failed with the following errors:"
"""First line of the error cdktf's ``TerraformStack.runAllValidations`` throws (cdktf 0.21 ``errors.ts``)."""
_CDKTF_ERROR_LINE = re.compile(r"^\s*\[(?P<path>[^\]]*)\] (?P<message>.*)$")
_FINDING_LINE = re.compile(r"^\S+\.\S+: \[GCP-[A-Z]+-\d+ [^\]]+\] ")


@cache
def _validation_class() -> type:
    """``GcpRulesValidation`` is built on first use, so importing the rules never loads jsii."""
    import jsii
    from constructs import IValidation

    @jsii.implements(IValidation)
    class GcpRulesValidation:
        """A ``constructs.IValidation`` that runs ``ALL_RULES`` on its stack's Terraform JSON.

        cdktf calls ``validate`` after ``prepare_stack`` (cross-stack references
        are already remote-state expressions) and before writing the stack; each
        returned string fails synthesis.
        """

        def __init__(self, stack: TerraformStack, rules: tuple[Rule, ...] | None = None) -> None:
            self._stack = stack
            self._rules = rules

        def validate(self) -> list[str]:
            return [finding.line for finding in check_stack(self._stack.to_terraform(), self._rules)]

    return GcpRulesValidation


def __getattr__(name: str) -> Any:
    if name == "GcpRulesValidation":
        return _validation_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def enforce_gcp_rules(stack: TerraformStack, rules: tuple[Rule, ...] | None = None) -> None:
    """Make ``app.synth()`` fail when ``stack`` breaks a GCP load-balancing rule."""
    stack.node.add_validation(_validation_class()(stack, rules))


def violations_from_error(error: BaseException) -> list[str] | None:
    """The finding lines of a synth that failed on these rules, as ``<stack>: <address>: [<id> <name>] <message>``.

    jsii re-raises the JavaScript ``Error`` thrown by cdktf's ``runAllValidations``
    as a plain Python ``RuntimeError`` (jsii 1.x; checked with cdktf 0.21) whose
    single argument is cdktf's text::

        Error: Validation failed with the following errors:
          [<stack path>] <validation message>
          ...

        If you wish to ignore these validations, pass 'skipValidation: true' to your App configuration.

    cdktf synthesizes stacks in order and stops at the first stack whose
    validations fail, so the lines are that stack's. Returns None for any other
    error, and for a validation failure that has no finding of these rules.
    """
    text = str(error.args[0]) if error.args and isinstance(error.args[0], str) else str(error)
    if RULES_FAILURE_HEADER not in text:
        return None
    lines: list[str] = []
    for raw in text.split(RULES_FAILURE_HEADER, 1)[1].splitlines():
        match = _CDKTF_ERROR_LINE.match(raw)
        if match is None or not _FINDING_LINE.match(match["message"]):
            continue
        path = match["path"]
        lines.append(f"{path}: {match['message']}" if path else match["message"])
    return lines or None


def app_violations(app: Any, rules: tuple[Rule, ...] | None = None) -> list[str]:
    """Every stack's finding lines (same form as ``violations_from_error``), not just the first failing stack's.

    Call it after ``app.synth()`` failed (every stack is prepared by then), to
    report all findings at once.
    """
    from constructs_lib.toolkit import TerraformStack

    return [
        f"{stack.node.path}: {finding.line}"
        for stack in app.node.find_all()
        if TerraformStack.is_stack(stack)
        for finding in check_stack(stack.to_terraform(), rules)
    ]


# --------------------------------------------------------------------------- the rules
# Imported last: each rule module imports the framework above from this package.

from constructs_lib.validation.load_balancing_scheme_explicit import LoadBalancingSchemeExplicit  # noqa: E402
from constructs_lib.validation.load_balancing_scheme_supported import LoadBalancingSchemeSupported  # noqa: E402
from constructs_lib.validation.forwarding_rule_scheme_matches_backend import (  # noqa: E402
    ForwardingRuleSchemeMatchesBackend,
)
from constructs_lib.validation.backend_group_not_backend_service import BackendGroupNotBackendService  # noqa: E402
from constructs_lib.validation.backend_groups_uniform_and_unique import BackendGroupsUniformAndUnique  # noqa: E402
from constructs_lib.validation.url_map_scope_matches_backend import UrlMapScopeMatchesBackend  # noqa: E402
from constructs_lib.validation.health_check_scope_matches_scheme import HealthCheckScopeMatchesScheme  # noqa: E402
from constructs_lib.validation.single_health_check import SingleHealthCheck  # noqa: E402
from constructs_lib.validation.balancing_mode_matches_protocol import BalancingModeMatchesProtocol  # noqa: E402
from constructs_lib.validation.capacity_scaler_valid import CapacityScalerValid  # noqa: E402
from constructs_lib.validation.shared_group_same_balancing_mode import SharedGroupSameBalancingMode  # noqa: E402
from constructs_lib.validation.port_name_matches_scheme import PortNameMatchesScheme  # noqa: E402
from constructs_lib.validation.proxy_only_subnet_for_managed_forwarding_rule import (  # noqa: E402
    ProxyOnlySubnetForManagedForwardingRule,
)
from constructs_lib.validation.proxy_only_subnet_valid import ProxyOnlySubnetValid  # noqa: E402
from constructs_lib.validation.certificate_scope_matches_proxy import CertificateScopeMatchesProxy  # noqa: E402
from constructs_lib.validation.backend_timeouts_cover_long_generations import (  # noqa: E402
    BackendTimeoutsCoverLongGenerations,
)
from constructs_lib.validation.outlier_detection_scheme_supported import OutlierDetectionSchemeSupported  # noqa: E402
from constructs_lib.validation.locality_lb_policy_scheme_supported import LocalityLbPolicySchemeSupported  # noqa: E402
from constructs_lib.validation.traffic_policy_scheme_supported import TrafficPolicySchemeSupported  # noqa: E402
from constructs_lib.validation.failover_passthrough_only import FailoverPassthroughOnly  # noqa: E402
from constructs_lib.validation.backend_preference_not_on_external import BackendPreferenceNotOnExternal  # noqa: E402
from constructs_lib.validation.cdn_disabled_on_llm_backends import CdnDisabledOnLlmBackends  # noqa: E402
from constructs_lib.validation.gpu_vm_terminates_on_host_maintenance import (  # noqa: E402
    GpuVmTerminatesOnHostMaintenance,
)
from constructs_lib.validation.spot_vm_no_automatic_restart import SpotVmNoAutomaticRestart  # noqa: E402
from constructs_lib.validation.vm_has_no_public_ip import VmHasNoPublicIp  # noqa: E402
from constructs_lib.validation.autohealing_initial_delay_valid import AutohealingInitialDelayValid  # noqa: E402
from constructs_lib.validation.autoscaled_mig_has_no_target_size import AutoscaledMigHasNoTargetSize  # noqa: E402
from constructs_lib.validation.firewall_no_ingress_from_anywhere import FirewallNoIngressFromAnywhere  # noqa: E402

ALL_RULES: tuple[Rule, ...] = (
    LoadBalancingSchemeExplicit(),
    LoadBalancingSchemeSupported(),
    ForwardingRuleSchemeMatchesBackend(),
    BackendGroupNotBackendService(),
    BackendGroupsUniformAndUnique(),
    UrlMapScopeMatchesBackend(),
    HealthCheckScopeMatchesScheme(),
    SingleHealthCheck(),
    BalancingModeMatchesProtocol(),
    CapacityScalerValid(),
    SharedGroupSameBalancingMode(),
    PortNameMatchesScheme(),
    ProxyOnlySubnetForManagedForwardingRule(),
    ProxyOnlySubnetValid(),
    CertificateScopeMatchesProxy(),
    BackendTimeoutsCoverLongGenerations(),
    OutlierDetectionSchemeSupported(),
    LocalityLbPolicySchemeSupported(),
    TrafficPolicySchemeSupported(),
    FailoverPassthroughOnly(),
    BackendPreferenceNotOnExternal(),
    CdnDisabledOnLlmBackends(),
    GpuVmTerminatesOnHostMaintenance(),
    SpotVmNoAutomaticRestart(),
    VmHasNoPublicIp(),
    AutohealingInitialDelayValid(),
    AutoscaledMigHasNoTargetSize(),
    FirewallNoIngressFromAnywhere(),
)
"""Every rule, in id order; ``check_stack`` runs them all."""

__all__ = [
    "ALL_RULES",
    "app_violations",
    "Finding",
    "GcpRulesValidation",
    "NonCompliant",
    "Resource",
    "Result",
    "Rule",
    "StackJson",
    "Verdict",
    "check_stack",
    "enforce_gcp_rules",
    "violations_from_error",
]
