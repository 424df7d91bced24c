"""constructs_lib.jsii_structs: a struct reaches the kernel as jsii sends it, less its unset fields.

The byte-identical Terraform JSON is proven by `make fast-path-check` (plain path
against ours) and by the snapshot tests, which run with it installed.
"""

from __future__ import annotations

from typing import Any

import jsii
import jsii._kernel

from constructs_lib import jsii_structs
from constructs_lib.toolkit import TerraformResourceLifecycle
from constructs_lib.toolkit.google import ComputeFirewallAllow, ComputeFirewallConfig, ComputeFirewallLogConfig
from tests.test_provider_import import run_python


def without_unset_fields(value: Any) -> Any:
    """jsii's own serialization with the null fields of every struct dropped."""
    if isinstance(value, list):
        return [without_unset_fields(item) for item in value]
    if isinstance(value, dict) and "$jsii.struct" in value:
        struct = value["$jsii.struct"]
        data = {key: without_unset_fields(item) for key, item in struct["data"].items() if item is not None}
        return {"$jsii.struct": {"fqn": struct["fqn"], "data": data}}
    if isinstance(value, dict):
        return {key: without_unset_fields(item) for key, item in value.items()}
    return value


def test_structs_are_sent_as_jsii_sends_them_less_unset_fields() -> None:
    assert jsii_structs.install() and jsii_structs.is_installed()
    wrapped = jsii._kernel._make_reference_for_native
    original = wrapped.__wrapped__
    config = ComputeFirewallConfig(
        name="allow-lb",
        network="${google_compute_network.vpc.id}",
        allow=[ComputeFirewallAllow(protocol="tcp", ports=["8000"]), ComputeFirewallAllow(protocol="icmp")],
        log_config=ComputeFirewallLogConfig(metadata="INCLUDE_ALL_METADATA"),
        source_ranges=["10.0.0.0/24"],
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
    )
    samples = ["scope", 3, None, [config], {"labels": {"app": "llm", "empty": None}, "nested": [config]}]
    for sample in samples:
        expected = without_unset_fields(original(jsii.kernel, sample))
        assert wrapped(jsii.kernel, sample) == expected
    sent = wrapped(jsii.kernel, config)["$jsii.struct"]
    assert list(sent["data"]) == ["lifecycle", "name", "network", "allow", "logConfig", "sourceRanges"]
    assert None in wrapped(jsii.kernel, {"empty": None})["$jsii.map"].values()  # maps keep their nulls


def test_installed_on_the_first_provider_import() -> None:
    # Switched off (LLM_FAST_PROVIDER_IMPORT=0), provider_import.install() adds no import
    # hook at all (test_provider_import checks sys.meta_path), so this never runs there.
    code = """
        from constructs_lib import jsii_structs, provider_import
        provider_import.install()
        import jsii._kernel
        before = jsii_structs.is_installed()
        import cdktf_cdktf_provider_google.compute_network
        print(before, jsii_structs.is_installed())
    """
    assert run_python(code).stdout.split() == ["False", "True"]
