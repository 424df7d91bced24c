"""Per-resource exceptions to the Checkov scan, written on the resource itself.

Checkov cannot read inline ``checkov:skip`` comments in Terraform JSON (its
terraform_json runner never collects them, bridgecrewio/checkov#4634), and a
global ``--skip-check`` would hide the check on every resource. So a construct
records each skip, with a one-line reason a reviewer can judge, in the
resource's cdktf comment block::

    "//": {"checkov": {"skip": {"CKV_GCP_26": "<reason>"}}, "metadata": {...}}

Terraform ignores ``"//"``. ``tools/security_scan.py`` reads these entries from
the synthesized stacks and turns them into a Checkov baseline, so the check
still runs and is reported as SKIPPED with its reason, on that resource only.
"""

from __future__ import annotations

import re

from constructs_lib.toolkit import TerraformResource

CHECK_ID = re.compile(r"^CKV2?_GCP_[0-9]+$")
"""A Checkov GCP check: ``CKV_GCP_<n>`` (Python check) or ``CKV2_GCP_<n>`` (graph check)."""

OVERRIDE_PATH = "//.checkov.skip"
"""Where the skips live in a resource's JSON; tools/security_scan.py reads the same path."""


def skip_check(resource: TerraformResource, check_id: str, reason: str) -> None:
    """Skip Checkov check ``check_id`` on ``resource`` only, for ``reason`` (one line).

    Each call adds one entry keyed by the check ID, so several checks can be
    skipped on one resource; skipping the same check twice keeps the last reason.
    """
    if not isinstance(resource, TerraformResource):
        raise TypeError(f"skip_check needs a Terraform resource, not {type(resource).__name__}")
    if not isinstance(check_id, str) or not CHECK_ID.match(check_id):
        raise ValueError(f"{check_id!r} is not a Checkov GCP check ID (CKV_GCP_<n> or CKV2_GCP_<n>)")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"skipping {check_id} needs a reason a reviewer can judge")
    if "\n" in reason or "\r" in reason:
        raise ValueError(f"the reason for skipping {check_id} must be one line: {reason!r}")
    resource.add_override(f"{OVERRIDE_PATH}.{check_id}", reason.strip())
