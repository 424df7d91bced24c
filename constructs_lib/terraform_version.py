"""The one Terraform version the project runs, everywhere.

Terraform Cloud workspaces pin it (``terraform_version``), every synthesized
stack requires it (``terraform.required_version``), and CI installs it, so a plan
reviewed in a pull request, the apply after merge and a local ``cdktf diff`` read
and write state with the same Terraform. Change it here, re-apply the bootstrap,
and update ``.github/workflows/`` (a test checks they agree).
"""

from __future__ import annotations

TERRAFORM_VERSION = "1.11.4"
"""Exact version: state written by a newer Terraform cannot be read by an older one."""


def required_version() -> str:
    """The ``required_version`` constraint of every stack: exactly ``TERRAFORM_VERSION``."""
    return f"= {TERRAFORM_VERSION}"
