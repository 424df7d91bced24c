#!/usr/bin/env python3
"""Review two cdktf synth outputs: a readable diff plus a Mermaid picture of the topology.

Why this exists: a pull request that changes the CDKTF app changes Terraform JSON
that nobody reads in full (thousands of lines, full of cdktf metadata).  Reviewers
need to see *what the change does to the infrastructure*: which resources appear,
disappear or change, which attribute moved from what to what (for example a region
drained with ``backend[1].capacity_scaler`` going 1 -> 0), and what the serving
topology looks like afterwards.

Usage::

    tools/review.py OLD_OUTDIR NEW_OUTDIR [--output FILE]

Each OUTDIR is a cdktf output directory (``manifest.json`` plus
``stacks/<name>/cdk.tf.json``).  The Markdown goes to stdout (or FILE).  Bad input
(missing directory, missing or invalid manifest or stack JSON) exits with status 2
and a single ``error: <path>: <what is wrong>`` line on stderr, so CI logs stay
readable.

The review fits one GitHub comment at any size (``--limit``, default
``COMMENT_LIMIT``): the summary, the call-outs, the capacity table and the
Mermaid picture always come first and whole; per-stack detail is folded, repeated
per-region changes are told once, and detail that does not fit is left out at a
section boundary, never inside a code fence.  Runs in the project's virtualenv
(deepdiff for the structural diff, ``constructs_lib`` for the Terraform JSON
helpers the synth-time rules use).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: constructs_lib

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from constructs_lib.capacity import format_rps, worst_loss_of
from constructs_lib.gpu_catalog import machine_gpus
from constructs_lib.validation.forwarding_rule_scheme_matches_backend import backend_services_behind
from constructs_lib.validation.gcp_vocabulary import INSTANCE_GROUP_MANAGERS, INSTANCE_TEMPLATES
from constructs_lib.validation.terraform_json import (
    Resource,
    StackJson,
    blocks,
    fmt_number,
    literal,
    number,
    references,
)

META_KEY = "//"
"""cdktf metadata key: holds versions and construct paths, never infrastructure."""

MAX_VALUE_CHARS = 80
"""Longer values are shortened: a table cell must stay readable in a PR comment."""

GLOBAL_STACK = "global-frontend"
REGION_PREFIX = "region-"

REMOTE_STATE_RE = re.compile(r"data\.terraform_remote_state\.([^\s}]+?)\.outputs\b")
"""How global-frontend reads a region stack's outputs (the id is the stack name)."""

PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+(\[[A-Za-z0-9_.\-]+\])?$")
"""Keys shown unquoted in attribute paths, including keyed backends (``backend[region-x]``)."""

COMMENT_LIMIT = 65536 - 1024
"""GitHub refuses comment bodies over 65,536 characters; the margin holds the sticky marker."""


class ReviewError(Exception):
    """Bad input, reported as one ``error: <path>: <message>`` line and exit status 2.

    A dedicated exception (instead of letting ``OSError``/``JSONDecodeError`` escape)
    is what guarantees that CI shows one readable line rather than a traceback.
    """

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message

    def line(self) -> str:
        """The single stderr line; newlines are flattened so it really is one line."""
        text = f"error: {self.path}: {self.message}"
        return " ".join(text.split("\n"))


# --------------------------------------------------------------------------- loading


@dataclass
class Synth:
    """One cdktf output directory, reduced to what matters for review.

    ``stacks`` maps stack name -> Terraform JSON with every ``//`` key removed, so
    that cdktf version bumps or construct path changes never show up as changes.
    """

    outdir: Path
    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Stack -> the stacks it must follow (``manifest.json``), as `cdktf deploy` orders them."""


def strip_meta(value: Any) -> Any:
    """Return ``value`` without any ``//`` key at any depth (cdktf metadata is noise)."""
    if isinstance(value, dict):
        return {k: strip_meta(v) for k, v in value.items() if k != META_KEY}
    if isinstance(value, list):
        return [strip_meta(v) for v in value]
    return value


def read_json(path: Path) -> Any:
    """Parse one JSON file, turning every way it can fail into a ``ReviewError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReviewError(path, "not found") from None
    except IsADirectoryError:
        raise ReviewError(path, "is a directory, expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise ReviewError(path, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ReviewError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReviewError(path, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ReviewError(path, "invalid JSON: nested too deeply") from None


def check_stack_json(path: Path, data: Any) -> dict[str, Any]:
    """Validate the shape of a ``cdk.tf.json`` just enough that the diff cannot crash.

    Missing sections are fine (a stack may have no outputs); sections of the wrong
    JSON type mean the file is not Terraform JSON and are reported as bad input.
    """
    if not isinstance(data, dict):
        raise ReviewError(path, "invalid stack JSON: top level is not an object")
    for section in ("resource", "data"):
        blocks = data.get(section, {})
        if not isinstance(blocks, dict):
            raise ReviewError(path, f"invalid stack JSON: '{section}' is not an object")
        for rtype, items in blocks.items():
            if rtype == META_KEY:
                continue
            if not isinstance(items, dict):
                raise ReviewError(path, f"invalid stack JSON: '{section}.{rtype}' is not an object")
    for section in ("output", "locals", "provider"):
        if not isinstance(data.get(section, {}), dict):
            raise ReviewError(path, f"invalid stack JSON: '{section}' is not an object")
    return data


def load_synth(outdir: Path) -> Synth:
    """Load an outdir through its manifest, the same way ``cdktf`` itself finds stacks."""
    if not outdir.exists():
        raise ReviewError(outdir, "no such directory")
    if not outdir.is_dir():
        raise ReviewError(outdir, "not a directory")
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise ReviewError(manifest_path, "not found (is this a cdktf output directory?)")
    manifest = read_json(manifest_path)
    if not isinstance(manifest, dict):
        raise ReviewError(manifest_path, "invalid manifest: top level is not an object")
    stacks_meta = manifest.get("stacks", {})
    if not isinstance(stacks_meta, dict):
        raise ReviewError(manifest_path, "invalid manifest: 'stacks' is not an object")

    synth = Synth(outdir=outdir)
    for name, meta in stacks_meta.items():
        if not isinstance(meta, dict):
            raise ReviewError(manifest_path, f"invalid manifest: stack '{name}' is not an object")
        rel = meta.get("synthesizedStackPath") or f"stacks/{name}/cdk.tf.json"
        if not isinstance(rel, str):
            raise ReviewError(manifest_path, f"invalid manifest: synthesizedStackPath of '{name}' is not a string")
        stack_path = outdir / rel
        data = check_stack_json(stack_path, read_json(stack_path))
        synth.stacks[str(name)] = strip_meta(data)
        needs = meta.get("dependencies") or []
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            raise ReviewError(manifest_path, f"invalid manifest: dependencies of '{name}' is not a list of names")
        synth.dependencies[str(name)] = list(needs)
    return synth


# --------------------------------------------------------------------------- diffing


def backend_key(index: int, backend: Any) -> str:
    """A backend entry's name: the region stack its group comes from, else its list position.

    Keyed by region, draining, adding or removing a region reads as that region's entry
    changing, appearing or going, not as every later ``backend[i]`` being renamed.
    """
    group = backend.get("group") if isinstance(backend, dict) else None
    match = REMOTE_STATE_RE.search(group) if isinstance(group, str) else None
    return match.group(1) if match else str(index)


def keyed_backends(config: Any) -> Any:
    """A backend service's config with ``backend: [...]`` as ``backend[<region stack>]`` entries."""
    if not isinstance(config, dict) or not isinstance(config.get("backend"), list):
        return config
    out = {k: v for k, v in config.items() if k != "backend"}
    for index, backend in enumerate(config["backend"]):
        out[f"backend[{backend_key(index, backend)}]"] = backend
    return out


def blocks_by_address(stack: dict[str, Any]) -> dict[str, Any]:
    """Index a stack's blocks by Terraform address, the unit reviewers think in.

    Resources are ``type.name``, data sources ``data.type.name``, outputs
    ``output.name``, locals ``local.name``; provider configurations and the
    ``terraform`` settings block (backend, provider versions) are included too,
    because changing them is as consequential as changing a resource.
    """
    out: dict[str, Any] = {}
    for rtype, items in (stack.get("resource") or {}).items():
        for name, config in (items or {}).items():
            out[f"{rtype}.{name}"] = keyed_backends(config) if rtype.endswith("backend_service") else config
    for dtype, items in (stack.get("data") or {}).items():
        for name, config in (items or {}).items():
            out[f"data.{dtype}.{name}"] = config
    for name, config in (stack.get("output") or {}).items():
        out[f"output.{name}"] = config
    for name, value in (stack.get("locals") or {}).items():
        out[f"local.{name}"] = value
    for pname, configs in (stack.get("provider") or {}).items():
        for config in configs if isinstance(configs, list) else [configs]:
            alias = config.get("alias") if isinstance(config, dict) else None
            out[f"provider.{pname}" + (f".{alias}" if alias else "")] = config
    if stack.get("terraform"):
        out["terraform"] = stack["terraform"]
    return out


def _key_path(prefix: str, key: str) -> str:
    """Join a dict key onto a dotted path, quoting keys that contain dots or spaces."""
    if PLAIN_KEY_RE.match(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def format_path(parts: list[Any]) -> str:
    """``['backend[region-x]', 'capacity_scaler']`` -> ``backend[region-x].capacity_scaler``."""
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _key_path(path, str(part))
    return path or "(value)"


_ABSENT = object()


@dataclass
class AttrChange:
    """One attribute that differs; ``_ABSENT`` marks a side where it is missing."""

    path: str
    old: Any
    new: Any


@dataclass
class StackDiff:
    """Everything that changed in one stack present on both sides."""

    name: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[AttrChange]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _same_number(a: Any, b: Any) -> bool:
    """``1`` and ``1.0`` are the same Terraform number; ``true`` and ``1`` are not."""
    return (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def diff_attrs(old: Any, new: Any) -> list[AttrChange]:
    """Attribute-level differences between two versions of one block (deepdiff's tree view)."""
    # threshold_to_diff_deeper=0: always compare key by key, never report a whole block as replaced.
    tree = DeepDiff(old, new, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    changes = []
    for report, levels in tree.items():
        for level in levels:
            a = _ABSENT if level.t1 is notpresent else level.t1
            b = _ABSENT if level.t2 is notpresent else level.t2
            if report == "type_changes" and _same_number(a, b):
                continue
            path = level.path(output_format="list")
            if a is _ABSENT or b is _ABSENT:
                present, sign = (b, 1) if a is _ABSENT else (a, -1)
                for leaf, value in _leaves(present, path):
                    pair = (_ABSENT, value) if sign > 0 else (value, _ABSENT)
                    changes.append(AttrChange(format_path(leaf), *pair))
            else:
                changes.append(AttrChange(format_path(path), a, b))
    return sorted(changes, key=lambda change: _natural_key(change.path))


def _leaves(value: Any, path: list[Any]) -> Iterable[tuple[list[Any], Any]]:
    """An added or removed block, one row per attribute: ``backend[region-x].capacity_scaler``."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(child, [*path, key])
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, child in enumerate(value):
            yield from _leaves(child, [*path, index])
    else:
        yield path, value


def _natural_key(text: str) -> list[Any]:
    """Sort ``backend[10]`` after ``backend[2]``: numeric runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def diff_stack(name: str, old: dict[str, Any], new: dict[str, Any]) -> StackDiff:
    """Compare one stack's blocks by address."""
    a, b = blocks_by_address(old), blocks_by_address(new)
    result = StackDiff(name)
    result.added = sorted(set(b) - set(a))
    result.removed = sorted(set(a) - set(b))
    for address in sorted(set(a) & set(b)):
        changes = diff_attrs(a[address], b[address])
        if changes:
            result.changed[address] = changes
    return result


@dataclass
class Comparison:
    """Both synths and what differs between them, computed once for every part of the review."""

    old: Synth
    new: Synth
    added: list[str]
    removed: list[str]
    changed: list[StackDiff]
    unchanged: list[str]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def compare(old: Synth, new: Synth) -> Comparison:
    both = sorted(set(old.stacks) & set(new.stacks))
    diffs = [diff_stack(n, old.stacks[n], new.stacks[n]) for n in both]
    return Comparison(
        old=old,
        new=new,
        added=sorted(set(new.stacks) - set(old.stacks)),
        removed=sorted(set(old.stacks) - set(new.stacks)),
        changed=[d for d in diffs if not d.empty],
        unchanged=[d.name for d in diffs if d.empty],
    )


def deploy_order(synth: Synth, names: Iterable[str]) -> list[str]:
    """``names`` in dependency order (network, regions, global-frontend), ties broken by name.

    Dependencies come from the manifest, so the order is the one `cdktf deploy '*'` uses;
    a stack absent from ``synth`` (removed by the change) is left out.
    """
    wanted = set(names) & set(synth.stacks)
    order: list[str] = []
    done: set[str] = set()
    pending = set(synth.stacks)
    while pending:
        ready = sorted(
            n for n in pending if all(d in done or d not in synth.stacks for d in synth.dependencies.get(n, []))
        )
        if not ready:
            raise ReviewError(synth.outdir / "manifest.json", f"dependency cycle among {', '.join(sorted(pending))}")
        for name in ready:
            pending.discard(name)
            done.add(name)
            if name in wanted:
                order.append(name)
    return order


# --------------------------------------------------------------------------- markdown


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Cut long values with an ellipsis: a startup script must not flood the review."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, noun: str) -> str:
    """``1 block`` / ``2 blocks``: the summary is read by people, so grammar matters."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def render_value(value: Any, start: int = 0) -> str:
    """Show a JSON value compactly, as it appears in Terraform JSON, from ``start`` on."""
    if value is _ABSENT:
        return "_(absent)_"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if start > 0:
        text = "…" + text[start:]
    return code(shorten(text))


def render_pair(old: Any, new: Any) -> tuple[str, str]:
    """Old and new cells; long values that share a long prefix start near the difference.

    Otherwise two long strings differing after character 80 (a startup script, a
    path) would both be cut to the same text and the row would show no change.
    """
    if old is _ABSENT or new is _ABSENT:
        return render_value(old), render_value(new)
    a = json.dumps(old, ensure_ascii=False, sort_keys=True)
    b = json.dumps(new, ensure_ascii=False, sort_keys=True)
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    context = 20
    start = common - context if max(len(a), len(b)) > MAX_VALUE_CHARS and common > MAX_VALUE_CHARS // 2 else 0
    return render_value(old, start), render_value(new, start)


def code(text: str) -> str:
    """An inline code span that survives backticks and table pipes in the content."""
    text = text.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def folded(summary: str, body: list[str]) -> list[str]:
    """A ``<details>`` block: GitHub renders the Markdown inside when blank lines surround it."""
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def change_table(diff: StackDiff, *, with_stack: bool = False) -> list[str]:
    """One table row per changed attribute of a stack."""
    lines = []
    for address, changes in diff.changed.items():
        for ch in changes:
            old, new = render_pair(ch.old, ch.new)
            stack = f"{code(diff.name)} | " if with_stack else ""
            lines.append(f"| {stack}{code(address)} | {code(ch.path)} | {old} | {new} |")
    header = ("| stack " if with_stack else "") + "| block | attribute | old | new |"
    rule = ("| --- " if with_stack else "") + "| --- | --- | --- | --- |"
    return [header, rule, *lines] if lines else []


def render_stack_diff(diff: StackDiff) -> list[str]:
    """Markdown for one changed stack: added/removed lists, then its attribute changes."""
    lines = [f"### Stack {code(diff.name)}: changed", ""]
    for title, addresses in (("Added", diff.added), ("Removed", diff.removed)):
        if addresses:
            listing = [f"- {code(a)}" for a in addresses]
            lines += [f"**{title} ({len(addresses)})**", ""]
            lines += (
                folded(f"{plural(len(addresses), 'block')}", listing) if len(listing) > FOLD_OVER else [*listing, ""]
            )
    if diff.changed:
        table = change_table(diff)
        lines += [f"**Changed ({len(diff.changed)})**", ""]
        lines += folded(f"{plural(len(table) - 2, 'attribute')}", table) if len(table) - 2 > FOLD_OVER else [*table, ""]
    return lines


FOLD_OVER = 10
"""Lists and tables longer than this are folded into ``<details>``."""


def _shape(stack: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(blocks_by_address(stack)))


def render_whole_stacks(names: list[str], stacks: dict[str, dict[str, Any]], verb: str) -> list[list[str]]:
    """Sections for stacks that exist on one side only; region stacks of one shape are told once."""
    sign = "+" if verb == "added" else "-"
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        key = _shape(stacks[name]) if name.startswith(REGION_PREFIX) else (name,)
        groups.setdefault(key, []).append(name)
    sections = []
    for members in groups.values():
        first = members[0]
        addresses = sorted(blocks_by_address(stacks[first]))
        listing = [f"- {sign} {code(a)}" for a in addresses]
        if len(members) == 1:
            head = [f"### Stack {code(first)}: {verb} ({plural(len(addresses), 'block')})", ""]
            sections.append(head + folded(f"{plural(len(addresses), 'block')} {verb}", listing))
        else:
            head = [
                f"### {sign}{len(members)} region stacks {verb} like {code(first)}, "
                f"{plural(len(addresses), 'block')} each",
                "",
                ", ".join(code(m) for m in members),
                "",
            ]
            sections.append(head + folded(f"the blocks of each ({code(first)} shown)", listing))
    return sections


def _change_shape(diff: StackDiff) -> tuple[Any, ...]:
    return (
        tuple(diff.added),
        tuple(diff.removed),
        tuple((address, tuple(c.path for c in changes)) for address, changes in diff.changed.items()),
    )


def render_changed_stacks(diffs: list[StackDiff]) -> list[list[str]]:
    """Sections for changed stacks; region stacks changing the same attributes are told once."""
    groups: dict[tuple[Any, ...], list[StackDiff]] = {}
    for diff in diffs:
        key = _change_shape(diff) if diff.name.startswith(REGION_PREFIX) else (diff.name,)
        groups.setdefault(key, []).append(diff)
    sections = []
    for members in groups.values():
        if len(members) == 1:
            sections.append(render_stack_diff(members[0]))
            continue
        first = members[0]
        blocks_changed = len(first.added) + len(first.removed) + len(first.changed)
        lines = [
            f"### {len(members)} region stacks changed alike, like {code(first.name)}, "
            f"{plural(blocks_changed, 'block')} each",
            "",
            ", ".join(code(d.name) for d in members),
            "",
        ]
        if first.added or first.removed:
            lines += [
                f"Blocks added: {', '.join(code(a) for a in first.added) or 'none'}; "
                f"removed: {', '.join(code(a) for a in first.removed) or 'none'}.",
                "",
            ]
        rows = [row for d in members for row in change_table(d, with_stack=True)[2:]]
        if rows:
            lines += folded("old and new values per region", change_table(first, with_stack=True)[:2] + rows)
        sections.append(lines)
    return sections


# --------------------------------------------------------------------------- call-outs


def _lifecycle(config: Any) -> dict[str, Any]:
    found = blocks(config.get("lifecycle")) if isinstance(config, dict) else []
    return dict(found[0]) if found else {}


REPLACING_ATTRIBUTES = (
    "name",
    "project",
    "region",
    "network",
    "auto_create_subnetworks",
    "address_type",
    "ip_version",
    "purpose",
    "routing_mode",
)
"""Attributes of the protected resources (VPC, global address) Google cannot change in place."""


def state_backend(stack: dict[str, Any]) -> tuple[str, Any] | None:
    """(kind, settings) of a stack's state backend: ``cloud`` or the ``backend`` block's type."""
    settings = stack.get("terraform") or {}
    if settings.get("cloud") is not None:
        return "cloud", settings["cloud"]
    for kind, config in (settings.get("backend") or {}).items():
        return kind, config
    return None


def callouts(c: Comparison) -> list[str]:
    """What a reviewer must not miss, one bullet each."""
    out: list[str] = []
    for name in sorted(set(c.old.stacks) & set(c.new.stacks)):
        before, after = state_backend(c.old.stacks[name]), state_backend(c.new.stacks[name])
        if before != after:
            kinds = f"{before[0] if before else 'none'} → {after[0] if after else 'none'}"
            out.append(
                f"🔁 **State backend** of {code(name)} changes ({kinds}): run `terraform init -migrate-state` "
                f"in `cdktf.out/stacks/{name}` before its next plan, or Terraform starts from empty state."
            )
    for diff in c.changed:
        for address, changes in diff.changed.items():
            if address.split(".")[0] in INSTANCE_TEMPLATES:
                what = ", ".join(code(ch.path) for ch in changes[:4]) + (" …" if len(changes) > 4 else "")
                out.append(
                    f"♻️ **New instance template** in {code(diff.name)} ({what}): every VM of that region "
                    "is replaced by a rolling update of its instance group."
                )
        for address in diff.added:
            if address.split(".")[0] in INSTANCE_TEMPLATES:
                out.append(
                    f"♻️ **New instance template** {code(address)} in {code(diff.name)}: every VM of that region "
                    "is replaced by a rolling update of its instance group."
                )
    for name, stack in sorted(c.old.stacks.items()):
        remaining = blocks_by_address(c.new.stacks[name]) if name in c.new.stacks else {}
        for address, config in sorted(blocks_by_address(stack).items()):
            if not _lifecycle(config).get("prevent_destroy"):
                continue
            if address not in remaining:
                out.append(
                    f"⛔ **Protected resource removed**: {code(address)} of {code(name)} has "
                    "`prevent_destroy`; the apply fails unless it is removed on purpose (see "
                    '"Changing regions safely").'
                )
            elif not _lifecycle(remaining[address]).get("prevent_destroy"):
                out.append(f"⛔ **Protection dropped**: {code(address)} of {code(name)} loses `prevent_destroy`.")
            else:
                forced = [k for k in REPLACING_ATTRIBUTES if config.get(k) != remaining[address].get(k)]
                if forced:
                    out.append(
                        f"⛔ **Protected resource replaced**: {code(address)} of {code(name)} changes "
                        f"{', '.join(code(k) for k in forced)}, which replaces it; `prevent_destroy` "
                        "makes the apply fail."
                    )
    return out


# --------------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class RegionCapacity:
    """What one region can serve: its GPU, GPUs per VM, and the autoscaler's VM bounds."""

    stack: str
    machine_type: str | None
    gpu: str | None
    gpus_per_vm: int | None
    min_vms: float | None
    max_vms: float | None
    serving: bool = True
    """False when global-frontend drains the region (``capacity_scaler`` 0) or has no backend for it."""

    def gpus(self, vms: float | None) -> float | None:
        return None if vms is None or self.gpus_per_vm is None else vms * self.gpus_per_vm

    @property
    def gpu_text(self) -> str:
        if self.gpu is None or self.gpus_per_vm is None:
            return "GPU ?"
        return f"{self.gpus_per_vm}× {self.gpu}"


def region_capacity(name: str, stack: dict[str, Any]) -> RegionCapacity:
    """Machine type, GPU (from the catalog, or N1's ``guest_accelerator``) and replica bounds of a region stack."""
    json_stack = StackJson(stack)
    machine_type = gpu = None
    per_vm: int | None = None
    for template in json_stack.of_type(*INSTANCE_TEMPLATES):
        machine_type = literal(template.get("machine_type"))
        bundled = machine_gpus(machine_type) if machine_type else None
        attached = blocks(template.get("guest_accelerator"))
        if bundled is not None:
            gpu, per_vm = bundled
        elif attached:
            gpu = literal(attached[0].get("type"))
            counts = [number(a.get("count")) for a in attached]
            per_vm = int(sum(c for c in counts if c is not None)) if None not in counts else None
        break
    low = high = None
    for autoscaler in json_stack.of_type("google_compute_region_autoscaler", "google_compute_autoscaler"):
        policies = blocks(autoscaler.get("autoscaling_policy"))
        if policies:
            low, high = number(policies[0].get("min_replicas")), number(policies[0].get("max_replicas"))
            break
    else:
        for manager in json_stack.of_type(*INSTANCE_GROUP_MANAGERS):
            low = high = number(manager.get("target_size"))
            break
    return RegionCapacity(name, machine_type, gpu, per_vm, low, high)


def capacities(synth: Synth) -> dict[str, RegionCapacity]:
    """Every region stack's capacity, and whether the global load balancer sends it traffic."""
    global_stack = synth.stacks.get(GLOBAL_STACK)
    backends = global_backends(global_stack, synth.stacks) if global_stack is not None else []
    out = {}
    for name, stack in sorted(synth.stacks.items()):
        if name.startswith(REGION_PREFIX):
            capacity = region_capacity(name, stack)
            if global_stack is not None:
                mine = [b for b in backends if b.stack == name]
                serving = bool(mine) and not capacity_text(mine)[1]
                capacity = dataclasses.replace(capacity, serving=serving)
            out[name] = capacity
    return out


def _bounds(capacity: RegionCapacity | None) -> str:
    if capacity is None:
        return "—"
    low, high = capacity.gpus(capacity.min_vms), capacity.gpus(capacity.max_vms)
    text = "?" if low is None or high is None else f"{fmt_number(low)}..{fmt_number(high)}"
    return text if capacity.serving else f"{text} (not serving)"


def _total(caps: dict[str, RegionCapacity]) -> str:
    """GPUs behind the global endpoint: drained regions' GPUs run but serve no traffic."""
    serving = [c for c in caps.values() if c.serving]
    lows = [c.gpus(c.min_vms) for c in serving]
    highs = [c.gpus(c.max_vms) for c in serving]
    if None in lows or None in highs:
        return "?"
    return f"{fmt_number(sum(lows))}..{fmt_number(sum(highs))}"  # type: ignore[arg-type]


def request_capacity(synth: Synth) -> dict[str, float]:
    """Requests per second each region takes at full scale-out, as the global load balancer counts it:
    the autoscaler's maximum VMs x ``max_rate_per_instance`` x ``capacity_scaler`` (drained: 0)."""
    global_stack = synth.stacks.get(GLOBAL_STACK)
    if global_stack is None:
        return {}
    regions = capacities(synth)
    out: dict[str, float] = {}
    for backend in global_backends(global_stack, synth.stacks):
        region = regions.get(backend.stack or "")
        rate, scaler = number(backend.max_rate_per_instance), number(backend.capacity)
        if region is None or region.max_vms is None or rate is None:
            continue
        out[region.stack] = out.get(region.stack, 0.0) + region.max_vms * rate * (1.0 if scaler is None else scaler)
    return out


def _failover_text(synth: Synth) -> str:
    capacity = request_capacity(synth)
    worst = worst_loss_of(capacity)
    if worst is None:
        return "no serving region"
    lost, remaining = worst
    if len(capacity) == 1:
        return f"one region ({code(lost)}): its loss leaves nothing"
    return f"losing {code(lost)} leaves {format_rps(remaining)} req/s"


def failover_headroom(c: Comparison) -> str | None:
    """The N-1 line of the capacity summary: what the fleet still takes after losing its largest region,
    before and after the change (synth refuses a fleet below ``frontend.peak_requests_per_second``).
    None when the change moves neither figure."""
    before, after = _failover_text(c.old), _failover_text(c.new)
    if before == after:
        return None
    return f"**Failover (N-1), at full scale-out:** before: {before}; after: {after}."


def capacity_summary(c: Comparison) -> list[str]:
    """GPUs at min and max replicas per region and in total, before and after; unchanged regions are counted."""
    before, after = capacities(c.old), capacities(c.new)
    if not before and not after:
        return []
    rows, same = [], 0
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if b == a:
            same += 1
            continue
        gpu = a.gpu_text if a else b.gpu_text if b else "?"
        if b and a and b.gpu_text != a.gpu_text:
            gpu = f"{b.gpu_text} → {a.gpu_text}"
        rows.append(f"| {code(name)} | {gpu} | {_bounds(b)} | {_bounds(a)} |")
    lines = ["### GPU capacity (GPUs at min..max replicas)", ""]
    if not rows:
        return [*lines, f"Unchanged: {_total(after)} GPUs serving in {plural(len(after), 'region')}.", ""]
    lines += ["| region | GPU per VM | before | after |", "| --- | --- | --- | --- |", *rows]
    lines.append(f"| **total serving** | | **{_total(before)}** | **{_total(after)}** |")
    lines.append("")
    if same:
        lines += [f"{plural(same, 'region')} unchanged.", ""]
    if (headroom := failover_headroom(c)) is not None:
        lines += [headroom, ""]
    return lines


# --------------------------------------------------------------------------- topology


def mermaid_id(*parts: str) -> str:
    """A Mermaid-safe node id: only ``[A-Za-z0-9_]``, never starting with a digit.

    Stack and region names contain dashes, logical ids may contain dots; both break
    Mermaid's parser, and a bare ``end`` is a keyword, hence the kind prefix.
    """
    raw = "_".join(parts)
    ident = re.sub(r"[^A-Za-z0-9_]", "_", raw)
    return ident if ident[:1].isalpha() else f"n_{ident}"


def label(*lines: str) -> str:
    """A quoted Mermaid label; quotes are escaped as entities so the label never ends early."""
    text = "<br/>".join(line for line in lines if line)
    return '"' + text.replace('"', "#quot;") + '"'


def replicas_text(capacity: RegionCapacity) -> str:
    """``replicas 1..4`` from the autoscaler, else the MIG's fixed size, else ``?``."""
    if capacity.min_vms is None and capacity.max_vms is None:
        return "replicas ?"
    if capacity.min_vms == capacity.max_vms:
        return f"replicas {fmt_number(capacity.min_vms)}"  # type: ignore[arg-type]
    low = "?" if capacity.min_vms is None else fmt_number(capacity.min_vms)
    high = "?" if capacity.max_vms is None else fmt_number(capacity.max_vms)
    return f"replicas {low}..{high}"


def _norm(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).lower()


@dataclass
class BackendEntry:
    """One ``backend`` entry of the global backend service, resolved to a stack."""

    service: str
    stack: str | None
    group: str
    capacity: Any
    balancing_mode: Any
    max_rate_per_instance: Any


def global_backends(stack: dict[str, Any], stack_names: Iterable[str]) -> list[BackendEntry]:
    """Resolve each global ``backend[].group`` to the region stack it reads.

    The group is ``${data.terraform_remote_state.<stack>.outputs.instance_group}``;
    the id is matched exactly first, then loosely (dashes vs underscores) in case a
    future cdktf sanitizes ids.
    """
    names = list(stack_names)
    loose = {_norm(n): n for n in names}
    entries = []
    for service in StackJson(stack).of_type("google_compute_backend_service"):
        for backend in blocks(service.get("backend")):
            group = str(backend.get("group", ""))
            match = REMOTE_STATE_RE.search(group)
            target = None
            if match:
                rid = match.group(1)
                target = rid if rid in names else loose.get(_norm(rid))
            entries.append(
                BackendEntry(
                    service.name,
                    target,
                    group,
                    backend.get("capacity_scaler"),
                    backend.get("balancing_mode"),
                    backend.get("max_rate_per_instance"),
                )
            )
    return entries


def capacity_text(entries: list[BackendEntry]) -> tuple[str, bool]:
    """Capacity wording for a region node and whether the region is drained.

    ``capacity_scaler`` 0 means the global load balancer sends it no traffic, which
    is the state a reviewer most needs to notice; a missing scaler is the provider
    default of 1.
    """
    if not entries:
        return "not in global backend", False
    parts, drained = [], True
    for entry in entries:
        value = number(entry.capacity)
        if entry.capacity is None:
            parts.append("capacity 1 (default)")
            drained = False
        elif value == 0:
            parts.append("capacity 0 (drained)")
        else:
            parts.append(f"capacity {fmt_number(value) if value is not None else entry.capacity}")
            drained = False
    return ", ".join(parts), drained


GLOBAL_KINDS: dict[str, str] = {
    "google_compute_global_address": "global address",
    "google_compute_global_forwarding_rule": "forwarding rule",
    "google_compute_target_https_proxy": "HTTPS proxy",
    "google_compute_target_http_proxy": "HTTP proxy",
    "google_compute_url_map": "URL map",
    "google_compute_backend_service": "global backend service",
    "google_compute_health_check": "health check",
    "google_compute_security_policy": "security policy",
    "google_compute_managed_ssl_certificate": "managed SSL certificate",
}
"""Global resource types drawn, with the words used in their node labels."""

TRAFFIC_REVERSED = {"google_compute_global_address"}
"""Referenced by forwarding rules but traffic flows *from* them: arrow is reversed."""

ATTACHED = {
    "google_compute_health_check",
    "google_compute_security_policy",
    "google_compute_managed_ssl_certificate",
}
"""Attached to a node rather than on the traffic path: drawn as dotted links."""

MERMAID_DETAIL_LIMIT = 24_000
"""Above this many characters the picture leaves out each region's own entry point: GitHub's
Mermaid refuses diagrams over 50,000 characters, and the comment has other parts to hold."""


def node_detail(resource: Resource) -> str:
    """A short, useful second label line (port, scheme, ...) when the config has it."""
    bits = []
    if resource.type.endswith("forwarding_rule"):
        if resource.get("port_range"):
            bits.append(f":{resource.get('port_range')}")
        if resource.get("load_balancing_scheme"):
            bits.append(str(resource.get("load_balancing_scheme")))
    if resource.type.endswith("backend_service") and resource.get("protocol"):
        bits.append(str(resource.get("protocol")))
    return " ".join(bits)


def draw_global(
    stack: dict[str, Any], lines: list[str], edge_lines: list[str], region_nodes: dict[str, str], stack_names: list[str]
) -> None:
    """Global frontend: address/forwarding rules → proxy → URL map → backend service → groups."""
    json_stack = StackJson(stack)
    nodes: dict[tuple[str, str], str] = {}
    lines.append(f"  subgraph {mermaid_id('sg', GLOBAL_STACK)}[{label(GLOBAL_STACK)}]")
    for rtype, kind in GLOBAL_KINDS.items():
        for resource in json_stack.of_type(rtype):
            nid = mermaid_id("g", rtype.removeprefix("google_compute_"), resource.name)
            nodes[(rtype, resource.name)] = nid
            shown = str(resource.get("name") or resource.name)
            lines.append(f"    {nid}[{label(kind, shown, node_detail(resource))}]")
    lines.append("  end")

    edges: list[str] = []
    for (rtype, name), nid in nodes.items():
        config = dict(json_stack.get(rtype, name).config)  # type: ignore[union-attr]
        if rtype == "google_compute_backend_service":
            config.pop("backend", None)  # drawn from the resolved region groups below
        for ref in sorted(references(config)):
            target = nodes.get(ref)
            if not target or target == nid:
                continue
            if ref[0] in TRAFFIC_REVERSED:
                edges.append(f"  {target} --> {nid}")
            elif ref[0] in ATTACHED:
                edges.append(f"  {nid} -.- {target}")
            else:
                edges.append(f"  {nid} --> {target}")

    for entry in global_backends(stack, stack_names):
        source = nodes.get(("google_compute_backend_service", entry.service))
        target = region_nodes.get(entry.stack or "")
        if not source:
            continue
        if not target:
            target = mermaid_id("ig_unknown", entry.service, str(len(edges)))
            what = shorten(entry.group, 60) if entry.group else "no group set"
            lines.append(f"  {target}[{label('backend group not from a region stack', what)}]")
        text, drained = capacity_text([entry])
        mode = f"{entry.balancing_mode}, " if entry.balancing_mode else ""
        arrow = "-.->" if drained else "-->"
        edges.append(f"  {source} {arrow}|{label(mode + text)}| {target}")
    edge_lines.extend(dict.fromkeys(edges))  # drop duplicates, keep order


def draw_region(
    name: str,
    stack: dict[str, Any],
    ig_node: str,
    ig_label: str,
    drained: bool,
    lines: list[str],
    edge_lines: list[str],
    *,
    entry_points: bool,
) -> None:
    """One region: its instance group, and (unless compact) its own entry point."""
    json_stack = StackJson(stack)
    lines.append(f"  subgraph {mermaid_id('sg', name)}[{label(name)}]")
    lines.append(f"    {ig_node}[{ig_label}]")
    if entry_points:
        services = {
            bs.name: mermaid_id("r", name, "bs", bs.name)
            for bs in json_stack.of_type("google_compute_region_backend_service")
        }
        for rule in json_stack.of_type("google_compute_forwarding_rule"):
            nid = mermaid_id("r", name, "fr", rule.name)
            shown = str(rule.get("name") or rule.name)
            lines.append(f"    {nid}[{label('regional forwarding rule', shown, node_detail(rule))}]")
            # Forwarding rule → (proxy → URL map →) backend service; a stack's only
            # backend service is still its entry point's target when no reference says so.
            reached = [bs.name for bs in backend_services_behind(rule, json_stack) if bs.name in services]
            for target in [services[b] for b in reached] or list(services.values()):
                edge_lines.append(f"  {nid} --> {target}")
        for bs in json_stack.of_type("google_compute_region_backend_service"):
            nid = services[bs.name]
            lines.append(
                f"    {nid}[{label('region backend service', str(bs.get('name') or bs.name), node_detail(bs))}]"
            )
            edge_lines.append(f"  {nid} {'-.->' if drained else '-->'} {ig_node}")
    lines.append("  end")
    if drained:
        edge_lines.append(f"  class {ig_node} drained")


def render_topology(synth: Synth, *, entry_points: bool = True) -> list[str]:
    """A Mermaid flowchart of the serving path in ``synth`` (the new side of the review).

    Drawn from whatever stacks exist: without global-frontend the regions are still
    shown with their own entry points, so a partial app is still reviewable.
    """
    lines = [
        "```mermaid",
        "flowchart LR",
        "  classDef drained fill:#eeeeee,stroke:#999999,stroke-dasharray: 5 5,color:#666666",
    ]
    stack_names = list(synth.stacks)
    regions = [n for n in stack_names if n.startswith(REGION_PREFIX)]
    others = [n for n in stack_names if n not in regions and n != GLOBAL_STACK]
    global_stack = synth.stacks.get(GLOBAL_STACK)
    backends = global_backends(global_stack, stack_names) if global_stack else []

    # Nodes first (global frontend on the left of an LR chart), then every edge,
    # so each node is declared inside its own stack's subgraph before it is linked.
    region_nodes = {name: mermaid_id("ig", name) for name in regions}
    edge_lines: list[str] = []
    if global_stack is not None:
        draw_global(global_stack, lines, edge_lines, region_nodes, stack_names)

    for name in sorted(regions):
        capacity = region_capacity(name, synth.stacks[name])
        mine = [b for b in backends if b.stack == name]
        cap, drained = capacity_text(mine) if global_stack else ("", False)
        ig_label = label(
            "instance group",
            name.removeprefix(REGION_PREFIX),
            capacity.machine_type or "machine type ?",
            capacity.gpu_text,
            replicas_text(capacity),
            cap,
        )
        draw_region(
            name,
            synth.stacks[name],
            region_nodes[name],
            ig_label,
            drained,
            lines,
            edge_lines,
            entry_points=entry_points,
        )

    for name in sorted(others):
        json_stack = StackJson(synth.stacks[name])
        firewalls = json_stack.of_type("google_compute_firewall")
        networks = json_stack.of_type("google_compute_network")
        if not networks:
            continue
        lines.append(f"  subgraph {mermaid_id('sg', name)}[{label(name)}]")
        for network in networks:
            detail = plural(len(firewalls), "firewall rule") if firewalls else ""
            shown = str(network.get("name") or network.name)
            lines.append(f"    {mermaid_id('net', name, network.name)}[{label('VPC network', shown, detail)}]")
        lines.append("  end")

    if not synth.stacks:
        lines.append(f"  empty[{label('no stacks synthesized')}]")
    lines += edge_lines
    lines.append("```")
    return lines


def topology(synth: Synth, room: int | None = None) -> list[str]:
    """The picture; compact (no regional entry points) when the full one is too large or ``room`` is short."""
    full = render_topology(synth)
    size = comment_length("\n".join(full))
    if size <= MERMAID_DETAIL_LIMIT and (room is None or size <= room):
        return ["### Topology after this change", "", *full]
    compact = render_topology(synth, entry_points=False)
    return [
        "### Topology after this change",
        "",
        "_Each region's own entry point is left out at this size._",
        "",
        *compact,
    ]


# --------------------------------------------------------------------------- the document


def comment_length(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def build_review(
    old: Synth, new: Synth, old_label: str, new_label: str, *, limit: int | None = None, appendix: str = ""
) -> str:
    """The whole Markdown document, within ``limit`` characters when given.

    Always whole: the summary, the call-outs, the capacity summary, ``appendix`` (the
    plan summary from CI) and the picture. Then per-stack detail, most important
    first (global-frontend and network, removed, added, regions), as many whole
    sections as fit; the rest is named, not cut.
    """
    c = compare(old, new)
    head = ["## Synth review", "", f"Comparing {code(old_label)} → {code(new_label)}.", ""]
    if c.empty:
        head += ["No changes.", ""]
        details: list[list[str]] = []
    else:
        n_add = sum(len(d.added) for d in c.changed) + sum(len(blocks_by_address(new.stacks[n])) for n in c.added)
        n_del = sum(len(d.removed) for d in c.changed) + sum(len(blocks_by_address(old.stacks[n])) for n in c.removed)
        n_chg = sum(len(d.changed) for d in c.changed)
        head += [
            f"**Stacks:** {len(c.added)} added, {len(c.removed)} removed, {len(c.changed)} changed, "
            f"{len(c.unchanged)} unchanged. **Blocks:** {n_add} added, {n_chg} changed, {n_del} removed.",
            "",
        ]
        if notes := callouts(c):
            head += ["### Reviewers must not miss", "", *[f"- {note}" for note in notes], ""]
        head += capacity_summary(c)
        others = [d for d in c.changed if not d.name.startswith(REGION_PREFIX)]
        regional = [d for d in c.changed if d.name.startswith(REGION_PREFIX)]
        details = (
            render_changed_stacks(others)
            + render_whole_stacks(c.removed, old.stacks, "removed")
            + render_whole_stacks(c.added, new.stacks, "added")
            + render_changed_stacks(regional)
        )
    if appendix:
        head += [appendix.rstrip(), ""]
    tail = (
        ["Unchanged stacks: " + ", ".join(code(n) for n in c.unchanged) + ".", ""]
        if c.unchanged and not c.empty
        else []
    )
    room = None if limit is None else limit - comment_length("\n".join(head + tail)) - 2000
    tail += topology(new, room)

    body: list[str] = []
    fixed = comment_length("\n".join(head + tail)) + 200
    left_out = 0
    for section in details:
        room = None if limit is None else limit - fixed - comment_length("\n".join(body))
        if room is None or comment_length("\n".join(section)) + 1 <= room:
            body += section
        elif comment_length(section[0]) + 200 <= room:
            body += [section[0], "", "_Detail left out to fit one comment._", ""]
            left_out += 1
        else:
            left_out += 1
    if left_out:
        body += [
            f"_{plural(left_out, 'section')} of detail shortened or left out to fit one comment: the full "
            "review is in the job summary and the `synth-review` artifact._",
            "",
        ]
    return "\n".join(head + body + tail) + "\n"


def build_comment(old: Synth, new: Synth, old_label: str, new_label: str, *, appendix: str = "") -> str:
    """The review as one GitHub comment: never over ``COMMENT_LIMIT``."""
    return build_review(old, new, old_label, new_label, limit=COMMENT_LIMIT, appendix=appendix)


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line; argparse gives ``--help`` and usage errors for free."""
    parser = argparse.ArgumentParser(
        prog="review.py",
        description="Compare two cdktf synth output directories and print a Markdown review "
        "(call-outs, GPU capacity, per-stack diff by Terraform address, a Mermaid diagram of the new topology).",
    )
    parser.add_argument("old_outdir", type=Path, metavar="OLD_OUTDIR", help="synth of the base (e.g. merge base)")
    parser.add_argument("new_outdir", type=Path, metavar="NEW_OUTDIR", help="synth of the change")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the Markdown to FILE instead of stdout"
    )
    parser.add_argument("--old-label", help="name shown for OLD_OUTDIR (default: its path)")
    parser.add_argument("--new-label", help="name shown for NEW_OUTDIR (default: its path)")
    parser.add_argument(
        "--limit",
        type=int,
        default=COMMENT_LIMIT,
        metavar="CHARS",
        help=f"fit the review in CHARS characters (default {COMMENT_LIMIT}; 0: no limit)",
    )
    return parser.parse_args(argv)


def write_markdown(text: str, output: Path | None) -> None:
    """``text`` to ``output``, or to stdout without one; a file that cannot be written is a ReviewError."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReviewError(output, f"cannot write: {exc.strerror or exc}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the review; bad input becomes exit status 2 and one ``error:`` line."""
    args = parse_args(argv)
    try:
        old = load_synth(args.old_outdir)
        new = load_synth(args.new_outdir)
        text = build_review(
            old,
            new,
            args.old_label or str(args.old_outdir),
            args.new_label or str(args.new_outdir),
            limit=args.limit or None,
        )
        write_markdown(text, args.output)
    except ReviewError as exc:
        print(exc.line(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
