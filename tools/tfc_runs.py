#!/usr/bin/env python3
"""Terraform Cloud runs from CI: speculative plans on a pull request, applies after merge.

Why CLI-driven runs: Terraform Cloud cannot run ``cdktf synth``, so with VCS-driven
runs CI would have to commit synthesized JSON and keep it in step with the code.
Here CI synthesizes both sides of a change, decides which stacks it touches with the
same comparison the synth review uses (``review.compare``), adds the
stacks that read outputs the change may move, and runs ``terraform`` in each of
those stack's directories; the ``cloud`` block sends the run to
that stack's workspace, which holds the state and the keyless Google credentials.

    tfc_runs.py plan  OLD_OUTDIR NEW_OUTDIR [--output comment.md] [--skip-plans REASON]
    tfc_runs.py apply OLD_OUTDIR NEW_OUTDIR [--all]

``plan`` runs a speculative plan of each touched stack in dependency order (network,
regions, global-frontend), keeps going past a failed plan, and writes one Markdown
comment: the plan summary (adds / changes / destroys per stack, replacements called
out) followed by the synth review, within GitHub's comment limit. ``apply`` applies
the touched stacks of the merged change in the same order and stops at the first
failure, naming what was applied and what was not; ``--all`` applies every stack
(to resume after a failure). Stacks the change removes are never destroyed here: the
README's decommissioning steps do that on purpose, by hand.

Terraform runs through ``Runner``, a callable, so tests drive the whole flow with a
stand-in for the CLI.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import review
from review import ReviewError, Synth, code, compare, deploy_order, load_synth

from constructs_lib.validation.terraform_json import references


@dataclass(frozen=True)
class Completed:
    """What one command did: its exit status and its combined output."""

    returncode: int
    output: str


Runner = Callable[[Sequence[str], Path], Completed]
"""Runs ``argv`` in a directory and returns when it is done."""


def subprocess_runner(argv: Sequence[str], cwd: Path) -> Completed:
    """The real CLI: output is echoed to the CI log as it is captured for the summary."""
    process = subprocess.Popen(list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    return Completed(process.wait(), "".join(lines))


TERRAFORM_INIT = ("terraform", "init", "-input=false", "-no-color")
TERRAFORM_PLAN = ("terraform", "plan", "-input=false", "-no-color")
TERRAFORM_APPLY = ("terraform", "apply", "-input=false", "-no-color", "-auto-approve")

_PLAN_LINE = re.compile(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")
_REPLACED = re.compile(r"^\s*# (\S+) must be replaced", re.M)
_DESTROYED = re.compile(r"^\s*# (\S+) will be destroyed", re.M)
_NO_CHANGES = re.compile(r"No changes\. (Your infrastructure matches|Infrastructure is up-to-date)")


@dataclass
class PlanSummary:
    """One stack's speculative plan, reduced to what the comment shows."""

    stack: str
    ok: bool
    add: int = 0
    change: int = 0
    destroy: int = 0
    replaced: list[str] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    error: str = ""


def summarize_plan(stack: str, result: Completed) -> PlanSummary:
    """Counts and replaced addresses from Terraform's human-readable plan output."""
    if result.returncode != 0:
        tail = [line for line in result.output.strip().splitlines() if line.strip()][-3:]
        return PlanSummary(stack, ok=False, error=" / ".join(tail) or f"exit status {result.returncode}")
    summary = PlanSummary(stack, ok=True)
    if match := _PLAN_LINE.search(result.output):
        summary.add, summary.change, summary.destroy = map(int, match.groups())
    elif not _NO_CHANGES.search(result.output):
        return PlanSummary(stack, ok=False, error="no plan summary in Terraform's output")
    summary.replaced = _REPLACED.findall(result.output)
    summary.destroyed = _DESTROYED.findall(result.output)
    return summary


def outputs_may_change(synth: Synth, diff: review.StackDiff) -> bool:
    """Whether a changed stack's outputs may take new values: an output, or a resource one reads, changed."""
    outputs = {a: c for a, c in review.blocks_by_address(synth.stacks[diff.name]).items() if a.startswith("output.")}
    read = {f"{t}.{n}" for config in outputs.values() for t, n in references(config)}
    moved = set(diff.added) | set(diff.removed) | set(diff.changed)
    return bool(moved & (read | set(outputs)) or any(a.startswith("output.") for a in moved))


def stacks_to_run(old: Synth, new: Synth) -> set[str]:
    """The touched stacks, and the stacks reading a touched stack whose outputs may change (transitively).

    A reader's JSON does not change when its producer's output values do, yet its next
    plan reads them; so it is planned and applied with its producer.
    """
    comparison = compare(old, new)
    touched = {d.name for d in comparison.changed} | set(comparison.added) | set(comparison.removed)
    run = touched & set(new.stacks)
    frontier = {d.name for d in comparison.changed if outputs_may_change(new, d)} | set(comparison.added)
    seen = set(frontier)
    while frontier:
        readers = {s for s, needs in new.dependencies.items() if set(needs) & frontier}
        run |= readers
        frontier = readers - seen  # a reader applied again may in turn move its own outputs
        seen |= readers
    return run | touched


def stack_dir(synth: Synth, stack: str) -> Path:
    return synth.outdir / "stacks" / stack


def cloud_backed(synth: Synth, stacks: Sequence[str]) -> str | None:
    """None when every stack runs in Terraform Cloud, else why plans cannot run."""
    local = [s for s in stacks if "cloud" not in (synth.stacks[s].get("terraform") or {})]
    if local:
        return f"{', '.join(local)} not in Terraform Cloud (state.backend is not tfc)"
    return None


MAX_LISTED = 10
"""Replaced/destroyed addresses listed per stack before the rest is counted: the comment has a limit."""


def _listed(addresses: list[str]) -> str:
    shown = ", ".join(code(a) for a in addresses[:MAX_LISTED])
    more = len(addresses) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def render_plans(plans: list[PlanSummary], removed: list[str], skipped: str | None) -> str:
    """The plan section of the sticky comment."""
    lines = ["## Terraform Cloud speculative plans", ""]
    if skipped:
        return "\n".join([*lines, f"Not run: {skipped}.", ""])
    if not plans and not removed:
        return "\n".join([*lines, "No stack changes: nothing to plan.", ""])
    if plans:
        lines += ["| stack | plan | add | change | destroy |", "| --- | --- | --- | --- | --- |"]
        for p in plans:
            if p.ok:
                state = "⚠️ replaces resources" if p.replaced else "ok"
                lines.append(f"| {code(p.stack)} | {state} | {p.add} | {p.change} | {p.destroy} |")
            else:
                lines.append(f"| {code(p.stack)} | ❌ failed | | | |")
        lines.append("")
    for p in plans:
        if not p.ok:
            lines += [f"- ❌ {code(p.stack)}: {code(review.shorten(p.error, 300))}"]
        if p.replaced:
            lines += [f"- ⚠️ {code(p.stack)} **replaces** {_listed(p.replaced)}"]
        if p.destroyed:
            lines += [f"- ⚠️ {code(p.stack)} **destroys** {_listed(p.destroyed)}"]
    for name in removed:
        lines.append(
            f"- {code(name)} is removed from the synth: it is not planned or destroyed by CI "
            '(see "Changing regions safely").'
        )
    return "\n".join(lines).rstrip() + "\n"


def plan(old: Synth, new: Synth, run: Runner, *, skip: str | None = None) -> tuple[list[PlanSummary], str]:
    """Speculative plans of the touched stacks in dependency order; every stack is tried."""
    touched = stacks_to_run(old, new)
    order = deploy_order(new, touched)
    removed = sorted(touched - set(new.stacks))
    skip = skip or cloud_backed(new, order)
    plans: list[PlanSummary] = []
    if not skip:
        for stack in order:
            init = run(TERRAFORM_INIT, stack_dir(new, stack))
            if init.returncode != 0:
                plans.append(summarize_plan(stack, init))
                continue
            plans.append(summarize_plan(stack, run(TERRAFORM_PLAN, stack_dir(new, stack))))
    return plans, render_plans(plans, removed, skip)


class ApplyFailed(Exception):
    """An apply stopped; the message says which stack, what was applied and what was not."""


def apply(old: Synth, new: Synth, run: Runner, *, everything: bool = False) -> list[str]:
    """Apply the touched stacks in dependency order, stopping at the first failure."""
    touched = set(new.stacks) if everything else stacks_to_run(old, new)
    order = deploy_order(new, touched)
    if reason := cloud_backed(new, order):
        raise ApplyFailed(f"cannot apply: {reason}")
    applied: list[str] = []
    for index, stack in enumerate(order):
        for step, argv in (("init", TERRAFORM_INIT), ("apply", TERRAFORM_APPLY)):
            result = run(argv, stack_dir(new, stack))
            if result.returncode != 0:
                rest = order[index + 1 :]
                raise ApplyFailed(
                    f"{step} of stack {stack} failed (exit status {result.returncode}); "
                    f"applied before it: {', '.join(applied) or 'none'}; "
                    f"not applied: {', '.join(rest) or 'none'}. "
                    "Fix the cause and re-run the workflow (workflow_dispatch with all stacks) to resume."
                )
        applied.append(stack)
    return applied


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tfc_runs.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="speculative plans of the touched stacks + the synth review, as one comment")
    p.add_argument("old_outdir", type=Path)
    p.add_argument("new_outdir", type=Path)
    p.add_argument("-o", "--output", type=Path, help="write the comment to FILE instead of stdout")
    p.add_argument("--skip-plans", metavar="REASON", help="write the comment without running plans")
    p.add_argument("--old-label", default="base")
    p.add_argument("--new-label", default="this pull request")
    a = sub.add_parser("apply", help="apply the touched stacks in dependency order")
    a.add_argument("old_outdir", type=Path)
    a.add_argument("new_outdir", type=Path)
    a.add_argument("--all", action="store_true", help="apply every stack, not only the touched ones")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, run: Runner = subprocess_runner) -> int:
    args = parse_args(argv)
    try:
        old, new = load_synth(args.old_outdir), load_synth(args.new_outdir)
        if args.command == "apply":
            applied = apply(old, new, run, everything=args.all)
            print(f"applied: {', '.join(applied) or 'nothing (no stack changed)'}")
            return 0
        _, plans_md = plan(old, new, run, skip=args.skip_plans)
        comment = review.build_comment(old, new, args.old_label, args.new_label, appendix=plans_md)
        review.write_markdown(comment, args.output)
    except ReviewError as exc:
        print(exc.line(), file=sys.stderr)
        return 2
    except ApplyFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
