"""The prebuilt Google provider of the selected toolkit (``constructs_lib.toolkit``).

``from constructs_lib.toolkit.google import ComputeNetwork`` imports only the
provider submodule that holds the class (``compute_network``), the same one
``from cdktf_cdktf_provider_google.compute_network import ComputeNetwork``
would; ``GoogleProvider`` is the provider itself.
"""

from __future__ import annotations

from typing import Any

from constructs_lib import toolkit


def __getattr__(name: str) -> Any:
    value = toolkit.resolve_provider_class(toolkit.selected().google, name, provider_class="GoogleProvider")
    globals()[name] = value
    return value
