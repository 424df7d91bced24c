"""The one seam between the app and its CDK: CDK for Terraform (default) or CDK Terrain.

CDK for Terraform (``cdktf``) is archived; CDK Terrain (``cdktn``) continues it
with the same classes, ``cdktf.json``, ``cdktf.out/`` layout and logical ids,
under other module names (``cdktf`` -> ``cdktn``,
``cdktf_cdktf_provider_google`` -> ``cdktn_provider_google``). Every module of
the app imports the CDK through this package, so one environment variable moves
the whole app::

    from constructs_lib.toolkit import App, TerraformStack      # the core library
    from constructs_lib.toolkit.google import ComputeNetwork    # the Google provider
    from constructs_lib.toolkit.tfe import Workspace            # the tfe provider (cdktf only)

``LLM_CDK_TOOLKIT``: ``cdktf`` (unset: the pinned packages of the Pipfile) or
``cdktn`` (the environment in ``tools/cdktn/``). Names resolve on first use
(PEP 562), so importing this package loads neither jsii nor a provider: the
deployment file is validated first, and ``provider_import.install()`` still
runs before the first provider module. ``tests/test_toolkit_seam.py`` fails
when a module outside this package imports a CDK module directly.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from constructs_lib.config import ConfigError

if TYPE_CHECKING:  # type checkers and IDEs see the default toolkit's names
    from cdktf import *  # noqa: F403

ENV_VAR = "LLM_CDK_TOOLKIT"


@dataclass(frozen=True, kw_only=True)
class Toolkit:
    """Where one CDK keeps its pieces: Python modules, jsii assemblies, distributions."""

    name: str
    core: str
    core_distribution: str
    google: str
    google_assembly: str
    google_distribution: str
    tfe: str | None
    """The tfe provider's Python package; None where the toolkit has no build of it."""


TOOLKITS: dict[str, Toolkit] = {
    "cdktf": Toolkit(
        name="cdktf",
        core="cdktf",
        core_distribution="cdktf",
        google="cdktf_cdktf_provider_google",
        google_assembly="@cdktf/provider-google",
        google_distribution="cdktf-cdktf-provider-google",
        tfe="cdktf_cdktf_provider_tfe",
    ),
    "cdktn": Toolkit(
        name="cdktn",
        core="cdktn",
        core_distribution="cdktn",
        google="cdktn_provider_google",
        google_assembly="@cdktn/provider-google",
        google_distribution="cdktn-provider-google",
        tfe=None,
    ),
}

DEFAULT = "cdktf"


class ToolkitError(ConfigError):
    """``LLM_CDK_TOOLKIT`` names no toolkit, or the toolkit lacks a piece the code needs."""

    def __init__(self, message: str) -> None:
        super().__init__("environment", ENV_VAR, message)


def selected(environ: Mapping[str, str] | None = None) -> Toolkit:
    """The toolkit named by ``LLM_CDK_TOOLKIT`` (default ``cdktf``)."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower() or DEFAULT
    try:
        return TOOLKITS[value]
    except KeyError:
        allowed = ", ".join(sorted(TOOLKITS))
        raise ToolkitError(f"{value!r} is not a toolkit; allowed: {allowed} (unset: {DEFAULT})") from None


def tfe_package() -> str:
    """The tfe provider's Python package; CDK Terrain publishes none, so it is cdktf's or an error."""
    chosen = selected()
    if chosen.tfe is None:
        raise ToolkitError(
            f"is {chosen.name!r}, which has no tfe provider for the Terraform Cloud bootstrap; "
            f"run the bootstrap on cdktf (unset {ENV_VAR})"
        )
    return chosen.tfe


def import_module(name: str) -> types.ModuleType:
    """``importlib.import_module``, with a missing toolkit as one ``error:`` line, not a traceback."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is None or name.split(".")[0] != error.name.split(".")[0]:
            raise
        chosen = selected()
        raise ToolkitError(
            f"is {chosen.name!r}, but {error.name} is not installed in this Python environment"
            + (
                " (run it with tools/cdktn/.venv/bin/python, built by make cdktn-check)"
                if chosen.name == "cdktn"
                else ""
            )
        ) from None


def _snake(class_name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()


def resolve_provider_class(package: str, class_name: str, *, provider_class: str) -> Any:
    """``ComputeRouterNatSubnetwork`` -> ``<package>.compute_router_nat.ComputeRouterNatSubnetwork``.

    A prebuilt provider keeps each resource in a submodule named after it
    (jsii-pacmak: ``computeRouterNat`` -> ``compute_router_nat``), with the
    resource's structs beside it, prefixed by its name; the provider class
    itself lives in ``provider``. So the submodule is the longest snake-case
    prefix of the class name that exists; only that one submodule is imported.
    """
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", class_name):
        raise AttributeError(class_name)
    import_module(package)  # the lazy stand-in when provider_import.install() ran, else the whole package
    parts = ["provider"] if class_name == provider_class else _snake(class_name).split("_")
    for end in range(len(parts), 0, -1):
        module_name = f"{package}.{'_'.join(parts[:end])}"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = import_module(module_name)
        if hasattr(module, class_name):
            return getattr(module, class_name)
    raise AttributeError(f"{package} has no class {class_name!r}")


def __getattr__(name: str) -> Any:
    """The core library's ``name`` (``App``, ``TerraformStack``, ...), imported on first use."""
    if name.startswith("_"):
        raise AttributeError(name)
    core = import_module(selected().core)
    try:
        value = getattr(core, name)
    except AttributeError:
        raise AttributeError(f"{core.__name__} has no {name!r}") from None
    globals()[name] = value
    return value
