#!/usr/bin/env python3
"""Scan the synthesized stacks with Checkov; fail on any failed check.

Usage: ``python tools/security_scan.py OUTDIR`` (OUTDIR holds manifest.json and
stacks/<stack>/cdk.tf.json, as written by ``python main.py``).

Checkov runs once, offline (``--skip-download``), from its own locked
environment (tools/checkov/.venv; set CHECKOV to use another executable), on
exactly the stack files the manifest lists, with ``--framework terraform_json``.
It runs in an empty working directory and home, without CKV_*/BC_* variables,
so no .checkov.yaml or CKV_SKIP_CHECK can switch a check off: nothing is skipped.

Exit status: 0 when every check passed; 1 when a check failed, a stack could
not be parsed or no resource was checked (a scan that saw nothing proves
nothing); 2, with one ``error:`` line, when the output is missing or Checkov
cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHECKOV = REPO / "tools" / "checkov" / ".venv" / "bin" / "checkov"
INSTALL_HINT = "install it with: cd tools/checkov && PIPENV_VENV_IN_PROJECT=1 pipenv sync"
_DROPPED_ENV_PREFIXES = ("CKV_", "BC_", "PRISMA_")


class ScanError(Exception):
    """Missing or malformed output, or Checkov could not run: one ``error:`` line, exit 2."""


def stack_files(outdir: Path) -> dict[str, Path]:
    """Each stack's ``cdk.tf.json`` by stack name, as OUTDIR/manifest.json lists them."""
    if not outdir.is_dir():
        raise ScanError(f"{outdir}: no such directory (synthesize first: python main.py)")
    manifest_path = outdir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise ScanError(f"{manifest_path}: no manifest (synthesize first: python main.py)") from None
    except json.JSONDecodeError as error:
        raise ScanError(f"{manifest_path}: not valid JSON: {error}") from None
    entries = manifest.get("stacks") if isinstance(manifest, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ScanError(f"{manifest_path}: lists no stacks")
    files = {}
    for name, entry in sorted(entries.items()):
        relative = entry.get("synthesizedStackPath") if isinstance(entry, dict) else None
        if not isinstance(relative, str) or not (outdir / relative).is_file():
            raise ScanError(f"{manifest_path}: stack {name!r} has no synthesized file")
        files[name] = (outdir / relative).resolve()
    return files


def checkov_command(checkov: str, files: Sequence[Path]) -> list[str]:
    command = [checkov, "--framework", "terraform_json", "--skip-download", "--output", "json"]
    for path in files:
        command += ["--file", str(path)]
    return command


def run_checkov(checkov: str, files: Sequence[Path]) -> dict[str, Any]:
    """Checkov's JSON report (several frameworks' reports merged into one)."""
    with tempfile.TemporaryDirectory(prefix="security-scan-") as scratch:
        env = {key: value for key, value in os.environ.items() if not key.startswith(_DROPPED_ENV_PREFIXES)}
        env.update(HOME=scratch, LOG_LEVEL="WARNING")
        try:
            done = subprocess.run(checkov_command(checkov, files), cwd=scratch, env=env, capture_output=True, text=True)
        except FileNotFoundError:
            raise ScanError(f"{checkov}: not found ({INSTALL_HINT})") from None
        except PermissionError:
            raise ScanError(f"{checkov}: not executable") from None
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no output")
        raise ScanError(f"{checkov}: exited {done.returncode} without a JSON report: {last.strip()}") from None
    return merge_reports(report)


def merge_reports(report: Any) -> dict[str, Any]:
    """Checkov prints a bare summary when nothing was checked, and a list for several frameworks."""
    merged: dict[str, Any] = {
        "results": {"passed_checks": [], "failed_checks": [], "parsing_errors": []},
        "checkov_version": "?",
    }
    for part in report if isinstance(report, list) else [report]:
        if not isinstance(part, dict):
            raise ScanError(f"unexpected Checkov report: {str(part)[:80]}")
        summary = part.get("summary", part)
        merged["checkov_version"] = summary.get("checkov_version", merged["checkov_version"])
        for key, values in (part.get("results") or {}).items():
            merged["results"].setdefault(key, []).extend(values or [])
    return merged


def address_of(result: dict[str, Any], stack_json: dict[str, Any]) -> str:
    """``<type>.<name>``: Checkov's Python checks name a terraform_json finding ``resource.<name>``."""
    finding = str(result.get("resource", "?"))
    prefix, _, name = finding.partition(".")
    if prefix != "resource":
        return finding
    types = [type_ for type_, named in (stack_json.get("resource") or {}).items() if name in (named or {})]
    return " or ".join(f"{type_}.{name}" for type_ in types) or finding


def judge(files: dict[str, Path], report: dict[str, Any]) -> tuple[list[str], bool]:
    """The report's lines and whether the scan passed."""
    stack_of = {str(path): name for name, path in files.items()}
    documents = {name: json.loads(path.read_text()) for name, path in files.items()}
    results = report["results"]
    failed = []
    for result in results["failed_checks"]:
        stack = stack_of.get(str(result.get("file_abs_path", "")), str(result.get("file_path", "?")))
        address = address_of(result, documents.get(stack, {}))
        failed.append(f"FAILED   {stack}  {address}  {result.get('check_id', '?')}  {result.get('check_name', '')}")
    checked = {
        (str(r.get("file_abs_path", r.get("file_path"))), str(r.get("resource")))
        for r in results["passed_checks"] + results["failed_checks"]
    }
    errors = [f"ERROR    {path}: Checkov could not parse it" for path in results["parsing_errors"]]
    if not checked:
        errors.append("ERROR    Checkov checked no resource")
    lines = [
        f"checkov {report['checkov_version']} on {len(files)} stack(s): {len(checked)} resource(s) checked, "
        f"{len(results['passed_checks'])} passed, {len(failed)} failed",
        *sorted(failed),
        *errors,
    ]
    ok = not failed and not errors
    lines.append("security scan passed" if ok else "security scan FAILED")
    return lines, ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("outdir", metavar="OUTDIR", help="cdktf output directory (holds manifest.json)")
    args = parser.parse_args(argv)
    checkov = os.environ.get("CHECKOV") or str(DEFAULT_CHECKOV)
    try:
        files = stack_files(Path(args.outdir))
        report = run_checkov(checkov, list(files.values()))
    except ScanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    lines, ok = judge(files, report)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
