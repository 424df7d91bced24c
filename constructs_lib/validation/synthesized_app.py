"""Run the rules on what cdktf wrote: every stack of one synthesized app, read once from disk.

main.py synthesizes into a staging directory and calls ``check_rules`` on it
before publishing, so a violation anywhere (in any stack, not only the first)
is reported in full and nothing reaches the output directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from constructs_lib.validation import ALL_RULES
from constructs_lib.validation.engine import Rule, check_stacks


def read_stacks(outdir: str | Path) -> dict[str, dict[str, Any]]:
    """Each stack's Terraform JSON by stack name, in the manifest's order."""
    root = Path(outdir)
    manifest = json.loads((root / "manifest.json").read_text())
    return {
        name: json.loads((root / stack["synthesizedStackPath"]).read_text())
        for name, stack in manifest["stacks"].items()
    }


def check_rules(outdir: str | Path, rules: Sequence[Rule] = ALL_RULES) -> list[str]:
    """Every violation in the app synthesized into ``outdir``: ``<stack>: <address>: [<id> <name>] <message>``."""
    return check_stacks(read_stacks(outdir), rules)


class RuleViolations(Exception):
    """A synthesized app breaks GCP rules; ``lines`` are ``check_rules``' lines, all of them."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(f"{len(lines)} GCP rule violation(s)")
        self.lines = lines


def require_rules(outdir: str | Path, rules: Sequence[Rule] = ALL_RULES) -> None:
    """Raise ``RuleViolations`` when the app synthesized into ``outdir`` breaks any rule."""
    violations = check_rules(outdir, rules)
    if violations:
        raise RuleViolations(violations)
