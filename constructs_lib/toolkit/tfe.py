"""The prebuilt tfe (Terraform Cloud) provider: only CDK for Terraform has one.

CDK Terrain publishes no tfe provider, so under ``LLM_CDK_TOOLKIT=cdktn`` any
name imported from here raises :class:`~constructs_lib.toolkit.ToolkitError`
(one ``error:`` line from ``tfc_bootstrap.py``): the bootstrap, a one-off run
kept in local state, stays on cdktf until such a provider exists.
"""

from __future__ import annotations

from typing import Any

from constructs_lib import toolkit


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    value = toolkit.resolve_provider_class(toolkit.tfe_package(), name, provider_class="TfeProvider")
    globals()[name] = value
    return value
