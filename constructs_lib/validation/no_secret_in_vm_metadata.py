"""GCP-LB-029: no credential in a VM's metadata or startup script (they are stored in plain text)."""

from __future__ import annotations

from typing import Any

from constructs_lib.secret_patterns import WHERE_INSTEAD, secret_kind
from constructs_lib.validation.engine import Result, Rule, Verdict, non_compliant_if
from constructs_lib.validation.gcp_vocabulary import VM_RESOURCES
from constructs_lib.validation.terraform_json import Resource, StackJson


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [found for key, item in value.items() if key != "//" for found in _strings(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _strings(item, f"{path}[{index}]")]
    return []


class NoSecretInVmMetadata(Rule):
    """Instance metadata, the startup script and the template's labels are readable by
    anyone with viewer access to the project, and sit in the synthesized JSON and the
    Terraform state (section "Who may call the endpoint" of the README). A value that
    looks like an API key, a Hugging Face token or a private key fails synthesis; the VM
    reads such values from Secret Manager at boot instead (ref. 30).
    """

    id = "GCP-LB-029"
    name = "NoSecretInVmMetadata"

    def check(self, resource: Resource, stack: StackJson) -> Result:
        if resource.type not in VM_RESOURCES:
            return Verdict.NOT_APPLICABLE
        fields = {key: resource.get(key) for key in ("metadata", "metadata_startup_script", "labels")}
        problems = [
            f"{path} contains {kind}; {WHERE_INSTEAD}"
            for key, value in fields.items()
            for path, text in _strings(value, key)
            if (kind := secret_kind(text)) is not None
        ]
        return non_compliant_if(problems)
