#!/usr/bin/env python3
"""Scan the synthesized stacks with Checkov; fail on any failed check.

Usage: ``python tools/security_scan.py OUTDIR`` (OUTDIR holds manifest.json and
stacks/<stack>/cdk.tf.json, as written by ``python main.py``).

Checkov runs offline (``--skip-download``) from its own locked environment
(tools/checkov/.venv; set CHECKOV to use another executable) on exactly the
stack files the manifest lists, with ``--framework terraform_json``.

Skips are per resource only. Checkov ignores inline skips in Terraform JSON, so
constructs record them on the resource (``constructs_lib.scan_suppressions``,
``"//": {"checkov": {"skip": {"<check id>": "<reason>"}}}``) and this script
turns them into a Checkov baseline: a skipped check is still evaluated and is
reported as SKIPPED with its reason. With a baseline Checkov drops every passed
result, so when skips exist a second run without it, at the same time, supplies
those. Global skips are impossible here: Checkov runs in an empty working
directory and home, without CKV_*/BC_* variables, so no .checkov.yaml or
CKV_SKIP_CHECK can switch a check off.

Exit status: 0 when every check passed or was skipped on its resource; 1 when
a check failed or the scan cannot be trusted (a stack Checkov could not parse,
no resource checked, a check that crashed, since Checkov then silently drops
results, a skip that matches nothing, or a Cloud Armor policy without a passed
CKV_GCP_73, which Checkov drops without a word when no rule matches exactly);
2, with one ``error:`` line, when the output is missing or malformed (a skip
without a valid check ID and one-line reason included) or Checkov cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHECKOV = REPO / "tools" / "checkov" / ".venv" / "bin" / "checkov"
INSTALL_HINT = "install it with: cd tools/checkov && PIPENV_VENV_IN_PROJECT=1 pipenv sync"

CHECK_ID = re.compile(r"^CKV2?_GCP_[0-9]+$")
"""Same rule as constructs_lib.scan_suppressions (not imported: this script is stdlib only)."""
BASELINE_SKIPPED = "baseline-skipped"
LOG4J_CHECK = "CKV_GCP_73"
SECURITY_POLICY = "google_compute_security_policy"
LOG4J_HINT = (
    "Checkov only recognises a rule whose match.expr.expression is exactly "
    "evaluatePreconfiguredExpr('cve-canary') or evaluatePreconfiguredWaf('cve-canary')"
)
_CRASH = re.compile(r"Failed to run check (?P<check>\S+) on (?P<file>.+):(?P<type>[^:.\s]+)\.(?P<name>\S+)\s*$")
_DROPPED_ENV_PREFIXES = ("CKV_", "BC_", "PRISMA_")


class ScanError(Exception):
    """Missing or malformed output, or Checkov could not run: one ``error:`` line, exit 2."""


@dataclass(frozen=True)
class Resource:
    stack: str
    type: str
    name: str
    skips: dict[str, str] = field(default_factory=dict)
    """Check ID -> the one-line reason it does not apply to this resource."""

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass(frozen=True)
class Stack:
    name: str
    path: Path
    """Absolute path of the stack's cdk.tf.json."""
    resources: tuple[Resource, ...]


@dataclass(frozen=True)
class Finding:
    stack: str
    address: str
    check_id: str
    check_name: str
    note: str = ""
    """A skip's reason, or why a check counts as failed although Checkov skipped it."""


@dataclass
class Outcome:
    checkov_version: str
    counts: dict[str, dict[str, int]]
    """Stack -> {"passed", "failed", "skipped"} check counts."""
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Reasons the scan cannot be trusted, each one line."""
    resources_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors


# --- reading the synthesized output -------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise ScanError(f"{path}: cannot read: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ScanError(f"{path}: not valid JSON: {error}") from None


def load_stacks(outdir: Path) -> list[Stack]:
    """The stacks listed in OUTDIR/manifest.json, with every resource and its declared skips."""
    if not outdir.is_dir():
        raise ScanError(f"{outdir}: no such directory (synthesize first: python main.py)")
    manifest_path = outdir / "manifest.json"
    if not manifest_path.is_file():
        raise ScanError(f"{manifest_path}: no manifest (synthesize first: python main.py)")
    manifest = _read_json(manifest_path)
    entries = manifest.get("stacks") if isinstance(manifest, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ScanError(f"{manifest_path}: lists no stacks")
    stacks = []
    for name, entry in sorted(entries.items()):
        relative = entry.get("synthesizedStackPath") if isinstance(entry, dict) else None
        if not isinstance(relative, str):
            raise ScanError(f"{manifest_path}: stack {name!r} has no synthesizedStackPath")
        path = (outdir / relative).resolve()
        if not path.is_file():
            raise ScanError(f"{path}: missing, but {manifest_path} lists it")
        stacks.append(Stack(name, path, tuple(_resources(name, path, _read_json(path)))))
    return stacks


def _resources(stack: str, path: Path, document: Any) -> Iterator[Resource]:
    blocks = document.get("resource") if isinstance(document, dict) else None
    if not isinstance(blocks, dict | None) or any(not isinstance(named, dict) for named in (blocks or {}).values()):
        raise ScanError(f"{path}: its resource block is not Terraform JSON")
    for rtype, named in sorted((blocks or {}).items()):
        for name, config in sorted(named.items()):
            yield Resource(stack, rtype, name, _skips(f"{path}: {rtype}.{name}", config))


def _skips(where: str, config: Any) -> dict[str, str]:
    """The ``"//".checkov.skip`` mapping of one resource, validated."""
    comment = config.get("//") if isinstance(config, dict) else None
    annotation = comment.get("checkov") if isinstance(comment, dict) else None
    if annotation is None:
        return {}
    skips = annotation.get("skip") if isinstance(annotation, dict) else None
    if not isinstance(skips, dict) or set(annotation) != {"skip"}:
        raise ScanError(f'{where}: "//".checkov must be {{"skip": {{"<check id>": "<reason>"}}}}')
    for check_id, reason in skips.items():
        if not CHECK_ID.match(check_id):
            raise ScanError(f"{where}: {check_id!r} is not a Checkov GCP check ID (CKV_GCP_<n> or CKV2_GCP_<n>)")
        if not isinstance(reason, str) or not reason.strip() or "\n" in reason or "\r" in reason:
            raise ScanError(f"{where}: the skip of {check_id} needs a one-line reason")
    return dict(skips)


# --- the baseline ----------------------------------------------------------------------------


def build_baseline(stacks: Sequence[Stack]) -> dict[str, Any]:
    """A Checkov baseline that turns exactly the declared skips into SKIPPED results.

    Checkov 3.3.30 names a Python check's finding ``resource.<name>`` and a graph
    check's finding ``<type>.<name>`` in Terraform JSON, so each skip is listed
    under both. Checkov matches on these names only, not on the file, so
    `evaluate` re-checks every skipped result against the stack it came from.
    """
    files = []
    for stack in stacks:
        findings = []
        for resource in stack.resources:
            if resource.skips:
                for finding_id in (f"resource.{resource.name}", resource.address):
                    findings.append(
                        {"resource": finding_id, "check_ids": sorted(resource.skips), "reasons": dict(resource.skips)}
                    )
        if findings:
            files.append({"file": str(stack.path), "findings": findings})
    return {"failed_checks": files}


# --- running Checkov ----------------------------------------------------------------------------


def checkov_command(checkov: str, stacks: Sequence[Stack], baseline: Path | None) -> list[str]:
    command = [checkov, "--framework", "terraform_json", "--skip-download", "--output", "json"]
    if baseline is not None:
        command += ["--baseline", str(baseline), "--output-baseline-as-skipped"]
    for stack in stacks:
        command += ["--file", str(stack.path)]
    return command


@dataclass(frozen=True)
class Reports:
    full: dict[str, Any]
    """Checkov without the baseline: every PASSED and FAILED result."""
    baselined: dict[str, Any] | None
    """Checkov with the baseline (None when no skip is declared): declared skips come out SKIPPED."""
    log: str
    """Both runs' stderr."""


def checkov_copy(stack: Stack, scratch: Path) -> Stack:
    """The stack as Checkov can parse it: a copy without the scalar settings of its ``terraform`` block.

    Checkov 3.3.30's terraform_json parser reads every key of ``terraform`` as a
    nested block and gives up on the whole file at ``required_version`` (a string),
    checking none of its resources. Those settings are not security-relevant; the
    copy keeps the stack's directory name, which is how results map back to it.
    """
    document = json.loads(stack.path.read_text())
    settings = document.get("terraform")
    if not isinstance(settings, dict) or all(isinstance(value, dict) for value in settings.values()):
        return stack
    document["terraform"] = {key: value for key, value in settings.items() if isinstance(value, dict)}
    copy = scratch / "stacks" / stack.path.parent.name / stack.path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps(document))
    return Stack(stack.name, copy, stack.resources)


def run_checkov(checkov: str, stacks: Sequence[Stack]) -> Reports:
    """Run Checkov in an empty directory and home, twice at once when skips are declared.

    With ``--baseline`` Checkov 3.3.30 drops every PASSED result that is not in
    the baseline (``Baseline.compare_and_reduce_reports``), and with an empty
    baseline it reports nothing at all. The run without the baseline therefore
    provides the passed checks (CKV_GCP_73, the resource count), and the run with
    it the verdict on the declared skips.
    """
    with tempfile.TemporaryDirectory(prefix="security-scan-") as scratch:
        stacks = [checkov_copy(stack, Path(scratch)) for stack in stacks]
        baseline = build_baseline(stacks)
        baseline_path = Path(scratch) / "baseline.json"
        baseline_path.write_text(json.dumps(baseline, indent=2))
        env = {key: value for key, value in os.environ.items() if not key.startswith(_DROPPED_ENV_PREFIXES)}
        env.update(HOME=scratch, LOG_LEVEL="WARNING")
        commands = [checkov_command(checkov, stacks, None)]
        if baseline["failed_checks"]:
            commands.append(checkov_command(checkov, stacks, baseline_path))
        processes = []
        try:
            for index, command in enumerate(commands):
                # Files, not pipes: a report of several MB must not stall one run while the other is read.
                stdout, stderr = Path(scratch) / f"{index}.json", Path(scratch) / f"{index}.log"
                with stdout.open("w") as out, stderr.open("w") as log:
                    processes.append(subprocess.Popen(command, cwd=scratch, env=env, stdout=out, stderr=log))
            for process in processes:
                process.wait()
        except FileNotFoundError:
            raise ScanError(f"{checkov}: not found ({INSTALL_HINT})") from None
        except PermissionError:
            raise ScanError(f"{checkov}: not executable") from None
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        outputs = [
            ((Path(scratch) / f"{i}.json").read_text(), (Path(scratch) / f"{i}.log").read_text())
            for i in range(len(processes))
        ]
    reports = [
        _parse_report(checkov, process.returncode, out, err)
        for process, (out, err) in zip(processes, outputs, strict=True)
    ]
    return Reports(
        full=reports[0],
        baselined=reports[1] if len(reports) > 1 else None,
        log="\n".join(err for _, err in outputs),
    )


def _parse_report(checkov: str, returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no output")
        raise ScanError(f"{checkov}: exited {returncode} without a JSON report: {last.strip()}") from None
    return normalise_report(report)


def normalise_report(report: Any) -> dict[str, Any]:
    """Checkov prints a bare summary when nothing was checked, and a list for several frameworks."""
    reports = report if isinstance(report, list) else [report]
    merged: dict[str, Any] = {
        "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []},
        "summary": {},
    }
    for part in reports:
        if not isinstance(part, dict):
            raise ScanError(f"unexpected Checkov report: {str(part)[:80]}")
        summary = part.get("summary", part)
        merged["summary"].setdefault("checkov_version", summary.get("checkov_version", "?"))
        for key, values in (part.get("results") or {}).items():
            merged["results"].setdefault(key, []).extend(values or [])
    return merged


# --- judging the results --------------------------------------------------------------------

Key = tuple[str, str, str]
"""(stack, resource name, check ID)."""


class _Locator:
    """Maps Checkov results to the stack and resource they are about."""

    def __init__(self, stacks: Sequence[Stack]) -> None:
        self.stacks = stacks
        self.by_path = {str(stack.path): stack.name for stack in stacks}
        self.resources = {(r.stack, r.name): r for stack in stacks for r in stack.resources}

    def __call__(self, result: dict[str, Any]) -> tuple[Key, str, Resource | None]:
        stack = self.stack_of(result)
        # Python checks name the finding "resource.<name>", graph checks "<type>.<name>".
        name = str(result.get("resource", "")).partition(".")[2] or str(result.get("resource"))
        resource = self.resources.get((stack, name))
        address = resource.address if resource else str(result.get("resource"))
        return (stack, name, str(result.get("check_id"))), address, resource

    def stack_of(self, result: dict[str, Any]) -> str:
        for key in ("file_abs_path", "file_path"):
            path = result.get(key)
            if path and str(Path(path).resolve()) in self.by_path:
                return self.by_path[str(Path(path).resolve())]
        return self.stack_of_path(str(result.get("file_path", "?")))

    def stack_of_path(self, path: str) -> str:
        """Checkov logs paths relative to its working directory; match on the last two parts."""
        tail = Path(path).parts[-2:]
        for stack in self.stacks:
            if stack.path.parts[-2:] == tail:
                return stack.name
        return path


def evaluate(stacks: Sequence[Stack], full: dict[str, Any], baselined: dict[str, Any] | None, log: str = "") -> Outcome:
    """Judge Checkov's reports (see `run_checkov`, `normalise_report`) against the declared skips."""
    locate = _Locator(stacks)
    results = full.get("results", {})
    verdict = (baselined or full).get("results", {})
    outcome = Outcome(
        checkov_version=str(full.get("summary", {}).get("checkov_version", "?")),
        counts={stack.name: {"passed": 0, "failed": 0, "skipped": 0} for stack in stacks},
    )

    def count(stack: str, kind: str) -> None:
        outcome.counts.setdefault(stack, {"passed": 0, "failed": 0, "skipped": 0})[kind] += 1

    checked: set[tuple[str, str]] = set()
    passed: set[Key] = set()
    for result in results.get("passed_checks", []):
        key, _, _ = locate(result)
        passed.add(key)
        checked.add(key[:2])
        count(key[0], "passed")
    failed_without_baseline: set[Key] = set()
    for result in [*results.get("failed_checks", []), *results.get("skipped_checks", [])]:
        key, _, _ = locate(result)
        failed_without_baseline.add(key)
        checked.add(key[:2])

    failed: set[Key] = set()
    used_skips: set[Key] = set()
    for result in verdict.get("failed_checks", []):
        key, address, _ = locate(result)
        failed.add(key)
        outcome.failed.append(Finding(key[0], address, key[2], result.get("check_name", "")))
        count(key[0], "failed")
    for result in verdict.get("skipped_checks", []):
        key, address, resource = locate(result)
        comment = (result.get("check_result") or {}).get("suppress_comment")
        if resource is not None and key[2] in resource.skips and comment == BASELINE_SKIPPED:
            used_skips.add(key)
            reason = resource.skips[key[2]]
            outcome.skipped.append(Finding(key[0], address, key[2], result.get("check_name", ""), reason))
            count(key[0], "skipped")
            continue
        if comment == BASELINE_SKIPPED:
            note = "Checkov skipped it for a skip on a same-named resource in another stack; this one has none"
        else:
            note = f"Checkov skipped it ({comment or 'no reason'}), but only skips declared on the resource count"
        failed.add(key)
        outcome.failed.append(Finding(key[0], address, key[2], result.get("check_name", ""), note))
        count(key[0], "failed")
    if baselined is not None and failed | used_skips != failed_without_baseline:
        outcome.errors.append(
            "the runs with and without the baseline disagree on which checks fail: "
            + ", ".join(sorted(" ".join(k) for k in (failed | used_skips) ^ failed_without_baseline))
        )

    for path in results.get("parsing_errors", []):
        outcome.errors.append(f"{path}: Checkov could not parse it, so none of its resources was checked")

    crashed: set[Key] = set()
    for line in dict.fromkeys(log.splitlines()):
        if "[ERROR]" not in line:
            continue
        message = line.split("[ERROR]", 1)[1].strip()
        if message.startswith("Failed to parse template") and results.get("parsing_errors"):
            continue  # reported above
        match = _CRASH.search(message)
        if match is None:
            outcome.errors.append(f"Checkov logged an error, so its report may be incomplete: {message}")
            continue
        key = (locate.stack_of_path(match["file"]), match["name"], match["check"])
        if key in crashed:
            continue
        crashed.add(key)
        hint = f" ({LOG4J_HINT})" if key[2] == LOG4J_CHECK else ""
        outcome.errors.append(
            f"{key[0]}: {match['type']}.{key[1]}: check {key[2]} crashed{hint}; "
            "Checkov then drops later results without a word, so the report is incomplete"
        )

    for stack in stacks:
        for resource in stack.resources:
            key = (stack.name, resource.name, LOG4J_CHECK)
            if resource.type == SECURITY_POLICY and not ({key} & (passed | failed | used_skips | crashed)):
                outcome.errors.append(
                    f"{stack.name}: {resource.address}: no {LOG4J_CHECK} result (Log4j rule); {LOG4J_HINT}, "
                    "and silently drops the check otherwise"
                )
            for check_id in sorted(resource.skips):
                key = (stack.name, resource.name, check_id)
                if key in used_skips:
                    continue
                if key in passed:
                    why = "the check passes, so remove the skip"
                else:
                    why = "Checkov reported no such check here (wrong check ID, or one that does not run on this type)"
                outcome.errors.append(f"{stack.name}: {resource.address}: unused skip of {check_id}: {why}")

    outcome.resources_checked = len(checked)
    if not checked:
        outcome.errors.append(f"Checkov checked no resource in {len(stacks)} stack(s): the scan proves nothing")
    return outcome


# --- output ----------------------------------------------------------------------------------


def render(outdir: Path, outcome: Outcome) -> str:
    width = max([len("stack"), *(len(name) for name in outcome.counts)])
    total = {kind: sum(c[kind] for c in outcome.counts.values()) for kind in ("passed", "failed", "skipped")}
    lines = [
        f"checkov {outcome.checkov_version} on {len(outcome.counts)} stack(s) in {outdir}: "
        f"{outcome.resources_checked} resource(s) checked",
        f"  {'stack':<{width}}  passed  failed  skipped",
    ]
    for name, counts in sorted(outcome.counts.items()):
        lines.append(f"  {name:<{width}}  {counts['passed']:>6}  {counts['failed']:>6}  {counts['skipped']:>7}")
    for finding in outcome.failed:
        note = f" -- {finding.note}" if finding.note else ""
        lines.append(f"FAILED   {finding.stack}  {finding.address}  {finding.check_id}  {finding.check_name}{note}")
    for finding in outcome.skipped:
        lines.append(f"SKIPPED  {finding.stack}  {finding.address}  {finding.check_id}  reason: {finding.note}")
    for error in outcome.errors:
        lines.append(f"ERROR    {error}")
    if outcome.ok:
        lines.append(f"security scan passed: {total['passed']} passed, {total['skipped']} skipped on their resource")
    else:
        lines.append(
            f"security scan FAILED: {len(outcome.failed)} failed check(s), {len(outcome.errors)} scan error(s)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", metavar="OUTDIR", help="cdktf output directory (holds manifest.json)")
    args = parser.parse_args(argv)
    outdir = Path(args.outdir)
    checkov = os.environ.get("CHECKOV") or str(DEFAULT_CHECKOV)
    try:
        stacks = load_stacks(outdir)
        reports = run_checkov(checkov, stacks)
    except ScanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    outcome = evaluate(stacks, reports.full, reports.baselined, reports.log)
    print(render(outdir, outcome))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
