#!/usr/bin/env python
"""Check that CDK Terrain synthesizes the same Terraform as CDK for Terraform.

    python tools/toolkit_equivalence.py <cdktf outdir> <cdktn outdir>

Compares the two ``cdktf.out`` directories: the manifest (stacks, their paths,
working directories and dependencies) and every stack's ``cdk.tf.json``.
Exactly two differences are expected and ignored:

* the toolkit's own version (``version`` of the manifest, ``//.metadata.version``
  of each stack);
* a provider ``source`` in ``terraform.required_providers`` that is spelled
  differently but names the same provider: cdktf writes ``"google"``, cdktn
  ``"hashicorp/google"``, and Terraform reads both as
  ``registry.terraform.io/hashicorp/google`` (a source without a namespace gets
  ``hashicorp``, one without a hostname the public registry), so state, lock
  file and ``terraform init`` see one provider.

Anything else is printed per stack, as the JSON path and both values, and the
exit code is 1. Stdlib only: it runs in the app's environment, not cdktn's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LEFT, RIGHT = "cdktf", "cdktn"
DEFAULT_REGISTRY = "registry.terraform.io"
DEFAULT_NAMESPACE = "hashicorp"
_MISSING = object()
VERSION_PATHS = frozenset({"version", '"//".metadata.version'})
"""The toolkit's version: the manifest's, and each stack's cdktf metadata."""


def provider_address(source: str) -> str:
    """Terraform's fully qualified provider address: ``google`` -> ``registry.terraform.io/hashicorp/google``."""
    parts = source.strip().lower().split("/")
    if len(parts) == 1:
        parts = [DEFAULT_NAMESPACE, *parts]
    if len(parts) == 2:
        parts = [DEFAULT_REGISTRY, *parts]
    return "/".join(parts)


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    segment = key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)
    return f"{parent}.{segment}" if parent else segment


def _ignored(path: str, left: Any, right: Any) -> bool:
    if path in VERSION_PATHS:
        return True
    if path.startswith("terraform.required_providers.") and path.endswith(".source"):
        return isinstance(left, str) and isinstance(right, str) and provider_address(left) == provider_address(right)
    return False


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Every difference between two JSON trees but the expected ones, as ``<path>: cdktf <value> != cdktn <value>``."""
    if isinstance(left, dict) and isinstance(right, dict):
        found: list[str] = []
        for key in sorted(set(left) | set(right)):
            found += differences(left.get(key, _MISSING), right.get(key, _MISSING), _path(path, key))
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            line
            for index, pair in enumerate(zip(left, right, strict=True))
            for line in differences(*pair, _path(path, index))
        ]
    if (left == right and type(left) is type(right)) or _ignored(path, left, right):
        return []
    return [f"{path or '(root)'}: {LEFT} {_show(left)} != {RIGHT} {_show(right)}"]


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {path}: cannot read JSON: {error}") from None


def compare_outdirs(cdktf_out: Path, cdktn_out: Path) -> dict[str, list[str]]:
    """Differences per file (``manifest.json`` and each stack's JSON), only for files that differ."""
    left_manifest, right_manifest = _load(cdktf_out / "manifest.json"), _load(cdktn_out / "manifest.json")
    report: dict[str, list[str]] = {}
    if found := differences(left_manifest, right_manifest):
        report["manifest.json"] = found
    left_stacks, right_stacks = left_manifest.get("stacks", {}), right_manifest.get("stacks", {})
    for name in sorted(set(left_stacks) & set(right_stacks)):
        left_file = left_stacks[name].get("synthesizedStackPath", "")
        right_file = right_stacks[name].get("synthesizedStackPath", "")
        found = differences(_load(cdktf_out / left_file), _load(cdktn_out / right_file))
        if found:
            report[f"stack {name} ({left_file})"] = found
    return report


def render(report: dict[str, list[str]]) -> str:
    return "".join(f"{where}:\n" + "".join(f"  {line}\n" for line in lines) for where, lines in report.items())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {Path(sys.argv[0]).name} <cdktf outdir> <cdktn outdir>", file=sys.stderr)
        return 2
    cdktf_out, cdktn_out = map(Path, argv)
    report = compare_outdirs(cdktf_out, cdktn_out)
    if report:
        print(
            f"error: {cdktn_out} differs from {cdktf_out} beyond the provider source spelling and versions:",
            file=sys.stderr,
        )
        print(render(report), end="", file=sys.stderr)
        return 1
    stacks = len(_load(cdktf_out / "manifest.json").get("stacks", {}))
    print(f"{cdktn_out}: {stacks} stacks equal to {cdktf_out} except provider source spelling and versions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
