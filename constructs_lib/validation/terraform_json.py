"""Reading one stack's synthesized Terraform JSON: resources, references, blocks, literal values.

Rules see plain dicts as cdktf wrote them (``cdk.tf.json``), never cdktf
objects, so they are fast and testable without jsii.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
