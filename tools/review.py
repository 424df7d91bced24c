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
readable.  Standard library only, so it runs anywhere a Python 3.11 exists,
without the project's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

META_KEY = "//"
"""cdktf metadata key: holds versions and construct paths, never infrastructure."""

MAX_VALUE_CHARS = 80
"""Longer values are shortened: a table cell must stay readable in a PR comment."""

GLOBAL_STACK = "global-frontend"
REGION_PREFIX = "region-"

REF_RE = re.compile(r"\$\{\s*([A-Za-z0-9_\-]+)\.([A-Za-z0-9_\-]+)")
"""A Terraform reference inside an interpolation: ``${type.name...}``."""

REMOTE_STATE_RE = re.compile(r"data\.terraform_remote_state\.([^\s}]+?)\.outputs\b")
"""How global-frontend reads a region stack's outputs (the id is the stack name)."""

PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


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
    return synth


# --------------------------------------------------------------------------- diffing


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
            out[f"{rtype}.{name}"] = config
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


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested JSON to ``{"backend[1].capacity_scaler": 0, ...}``.

    Dotted paths are what a reviewer can scan in a table; empty containers are
    kept as leaves so that "became empty" is still visible.
    """
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, child in value.items():
            if key == META_KEY:
                continue
            out.update(flatten(child, _key_path(prefix, str(key))))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, child in enumerate(value):
            out.update(flatten(child, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def same(a: Any, b: Any) -> bool:
    """JSON equality that does not treat ``true`` as equal to ``1``."""
    return (type(a) is type(b) and a == b) or (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


_ABSENT = object()


@dataclass
class AttrChange:
    """One leaf attribute that differs; ``_ABSENT`` marks a side where it is missing."""

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


def diff_attrs(old: Any, new: Any) -> list[AttrChange]:
    """Attribute-level differences between two versions of one block."""
    a, b = flatten(old), flatten(new)
    changes = []
    for path in sorted(set(a) | set(b), key=_natural_key):
        va, vb = a.get(path, _ABSENT), b.get(path, _ABSENT)
        if va is _ABSENT or vb is _ABSENT or not same(va, vb):
            changes.append(AttrChange(path or "(value)", va, vb))
    return changes


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


def render_stack_diff(diff: StackDiff) -> list[str]:
    """Markdown for one changed stack: added/removed lists, then a table per change."""
    lines = [f"### Stack {code(diff.name)}: changed", ""]
    if diff.added:
        lines += [f"**Added ({len(diff.added)})**", ""]
        lines += [f"- {code(a)}" for a in diff.added] + [""]
    if diff.removed:
        lines += [f"**Removed ({len(diff.removed)})**", ""]
        lines += [f"- {code(a)}" for a in diff.removed] + [""]
    if diff.changed:
        lines.append(f"**Changed ({len(diff.changed)})**")
        lines.append("")
        for address, changes in diff.changed.items():
            lines += [f"{code(address)}", "", "| attribute | old | new |", "| --- | --- | --- |"]
            for ch in changes:
                old, new = render_pair(ch.old, ch.new)
                lines.append(f"| {code(ch.path)} | {old} | {new} |")
            lines.append("")
    return lines


def render_whole_stack(name: str, stack: dict[str, Any], verb: str) -> list[str]:
    """Markdown for a stack that exists on one side only: every address it holds."""
    addresses = sorted(blocks_by_address(stack))
    lines = [f"### Stack {code(name)}: {verb} ({plural(len(addresses), 'block')})", ""]
    sign = "+" if verb == "added" else "-"
    lines += [f"- {sign} {code(a)}" for a in addresses]
    return [*lines, ""]


def render_diff(old: Synth, new: Synth, old_label: str, new_label: str) -> list[str]:
    """The diff part of the review, with a one-line summary first for skimming."""
    lines = ["## Synth review", "", f"Comparing {code(old_label)} → {code(new_label)}.", ""]
    added = sorted(set(new.stacks) - set(old.stacks))
    removed = sorted(set(old.stacks) - set(new.stacks))
    diffs = [diff_stack(n, old.stacks[n], new.stacks[n]) for n in sorted(set(old.stacks) & set(new.stacks))]
    changed = [d for d in diffs if not d.empty]
    unchanged = [d.name for d in diffs if d.empty]

    if not (added or removed or changed):
        return [*lines, "No changes.", ""]

    n_add = sum(len(d.added) for d in changed) + sum(len(blocks_by_address(new.stacks[n])) for n in added)
    n_del = sum(len(d.removed) for d in changed) + sum(len(blocks_by_address(old.stacks[n])) for n in removed)
    n_chg = sum(len(d.changed) for d in changed)
    lines += [
        f"**Stacks:** {len(added)} added, {len(removed)} removed, {len(changed)} changed, "
        f"{len(unchanged)} unchanged. **Blocks:** {n_add} added, {n_chg} changed, {n_del} removed.",
        "",
    ]
    for name in added:
        lines += render_whole_stack(name, new.stacks[name], "added")
    for name in removed:
        lines += render_whole_stack(name, old.stacks[name], "removed")
    for diff in changed:
        lines += render_stack_diff(diff)
    if unchanged:
        lines += ["Unchanged stacks: " + ", ".join(code(n) for n in unchanged) + ".", ""]
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


def refs_in(value: Any) -> set[tuple[str, str]]:
    """All ``(type, name)`` references found in the string values of a config."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        for child in value.values():
            found |= refs_in(child)
    elif isinstance(value, list):
        for child in value:
            found |= refs_in(child)
    elif isinstance(value, str) and "${" in value:
        found |= set(REF_RE.findall(value))
    return found


def resources_of(stack: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """The resources of one type in a stack, tolerating absent or odd sections."""
    items = (stack.get("resource") or {}).get(rtype) or {}
    return {k: v if isinstance(v, dict) else {} for k, v in items.items()}


def first_block(value: Any) -> dict[str, Any]:
    """A nested block as a dict: cdktf may emit a single block as an object or a list."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def fmt_number(value: Any) -> str:
    """``1.0`` -> ``1``: capacity and replica numbers read better without a decimal tail."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_float(value: Any) -> float | None:
    """A number from a JSON value, or None when it is an expression or missing."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class RegionInfo:
    """What the instance-group node of one region shows."""

    stack: str
    region: str
    machine_type: str | None = None
    min_replicas: Any = None
    max_replicas: Any = None
    target_size: Any = None


def region_info(name: str, stack: dict[str, Any]) -> RegionInfo:
    """Pull machine type and replica bounds out of a region stack, whatever is present."""
    region = name[len(REGION_PREFIX) :] if name.startswith(REGION_PREFIX) else name
    info = RegionInfo(stack=name, region=region)
    for tmpl in resources_of(stack, "google_compute_instance_template").values():
        if tmpl.get("machine_type"):
            info.machine_type = str(tmpl["machine_type"])
            break
    for autoscaler in resources_of(stack, "google_compute_region_autoscaler").values():
        policy = first_block(autoscaler.get("autoscaling_policy"))
        if policy:
            info.min_replicas = policy.get("min_replicas")
            info.max_replicas = policy.get("max_replicas")
            break
    for igm in resources_of(stack, "google_compute_region_instance_group_manager").values():
        if igm.get("target_size") is not None:
            info.target_size = igm.get("target_size")
            break
    return info


def replicas_text(info: RegionInfo) -> str:
    """``replicas 1..4`` from the autoscaler, else the MIG's fixed size, else ``?``."""
    if info.min_replicas is None and info.max_replicas is None:
        if info.target_size is not None:
            return f"replicas {fmt_number(info.target_size)}"
        return "replicas ?"
    low = "?" if info.min_replicas is None else fmt_number(info.min_replicas)
    high = "?" if info.max_replicas is None else fmt_number(info.max_replicas)
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


def global_backends(stack: dict[str, Any], stack_names: Iterable[str]) -> list[BackendEntry]:
    """Resolve each global ``backend[].group`` to the region stack it reads.

    The group is ``${data.terraform_remote_state.<stack>.outputs.instance_group}``;
    the id is matched exactly first, then loosely (dashes vs underscores) in case a
    future cdktf sanitizes ids.
    """
    names = list(stack_names)
    loose = {_norm(n): n for n in names}
    entries = []
    for sname, svc in resources_of(stack, "google_compute_backend_service").items():
        backends = svc.get("backend") or []
        for backend in backends if isinstance(backends, list) else [backends]:
            if not isinstance(backend, dict):
                continue
            group = str(backend.get("group", ""))
            match = REMOTE_STATE_RE.search(group)
            target = None
            if match:
                rid = match.group(1)
                target = rid if rid in names else loose.get(_norm(rid))
            entries.append(
                BackendEntry(sname, target, group, backend.get("capacity_scaler"), backend.get("balancing_mode"))
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
        value = to_float(entry.capacity)
        if entry.capacity is None:
            parts.append("capacity 1 (default)")
            drained = False
        elif value == 0:
            parts.append("capacity 0 (drained)")
        else:
            parts.append(f"capacity {fmt_number(entry.capacity)}")
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

REGIONAL_HOPS = {
    "google_compute_region_target_https_proxy",
    "google_compute_region_target_http_proxy",
    "google_compute_region_url_map",
    "google_compute_forwarding_rule",
}
"""Regional resources walked through from a forwarding rule to its backend service."""


def node_detail(rtype: str, config: dict[str, Any]) -> str:
    """A short, useful second label line (port, scheme, ...) when the config has it."""
    bits = []
    if rtype.endswith("forwarding_rule"):
        if config.get("port_range"):
            bits.append(f":{config['port_range']}")
        if config.get("load_balancing_scheme"):
            bits.append(str(config["load_balancing_scheme"]))
    if rtype.endswith("backend_service") and config.get("protocol"):
        bits.append(str(config["protocol"]))
    return " ".join(bits)


def draw_global(
    stack: dict[str, Any], lines: list[str], edge_lines: list[str], region_nodes: dict[str, str], stack_names: list[str]
) -> None:
    """Global frontend: address/forwarding rules → proxy → URL map → backend service → groups."""
    nodes: dict[tuple[str, str], str] = {}
    lines.append(f"  subgraph {mermaid_id('sg', GLOBAL_STACK)}[{label(GLOBAL_STACK)}]")
    for rtype, kind in GLOBAL_KINDS.items():
        for name, config in resources_of(stack, rtype).items():
            nid = mermaid_id("g", rtype.removeprefix("google_compute_"), name)
            nodes[(rtype, name)] = nid
            shown = str(config.get("name") or name)
            lines.append(f"    {nid}[{label(kind, shown, node_detail(rtype, config))}]")
    lines.append("  end")

    edges: list[str] = []
    for (rtype, name), nid in nodes.items():
        config = resources_of(stack, rtype).get(name, {})
        if rtype == "google_compute_backend_service":
            # backend[] is drawn from the resolved region groups below, not from refs.
            config = {k: v for k, v in config.items() if k != "backend"}
        for ref in sorted(refs_in(config)):
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
) -> None:
    """One region: its instance group, and its own entry point (forwarding rule → backend service)."""
    sg = mermaid_id("sg", name)
    lines.append(f"  subgraph {sg}[{label(name)}]")
    lines.append(f"    {ig_node}[{ig_label}]")
    fr_nodes: dict[str, str] = {}
    for fr_name, config in resources_of(stack, "google_compute_forwarding_rule").items():
        nid = mermaid_id("r", name, "fr", fr_name)
        fr_nodes[fr_name] = nid
        lines.append(
            f"    {nid}[{label('regional forwarding rule', str(config.get('name') or fr_name), node_detail('google_compute_forwarding_rule', config))}]"
        )
    bs_nodes: dict[str, str] = {}
    for bs_name, config in resources_of(stack, "google_compute_region_backend_service").items():
        nid = mermaid_id("r", name, "bs", bs_name)
        bs_nodes[bs_name] = nid
        lines.append(
            f"    {nid}[{label('region backend service', str(config.get('name') or bs_name), node_detail('google_compute_region_backend_service', config))}]"
        )
    lines.append("  end")

    # Forwarding rule → (proxy → URL map →) backend service: follow references
    # through the intermediate hops; if the config carries no references, a region
    # stack's only backend service is still its entry point's target.
    for fr_name, fr_nid in fr_nodes.items():
        reached = _reachable_backends(stack, ("google_compute_forwarding_rule", fr_name))
        targets = [bs_nodes[b] for b in reached if b in bs_nodes] or list(bs_nodes.values())
        for target in targets:
            edge_lines.append(f"  {fr_nid} --> {target}")
    for bs_nid in bs_nodes.values():
        edge_lines.append(f"  {bs_nid} {'-.->' if drained else '-->'} {ig_node}")
    if drained:
        edge_lines.append(f"  class {ig_node} drained")


def _reachable_backends(stack: dict[str, Any], start: tuple[str, str]) -> list[str]:
    """Region backend services reachable by references from ``start`` via proxies/URL maps."""
    seen, queue, found = {start}, [start], []
    while queue:
        rtype, name = queue.pop(0)
        for ref in sorted(refs_in(resources_of(stack, rtype).get(name, {}))):
            if ref in seen:
                continue
            seen.add(ref)
            if ref[0] == "google_compute_region_backend_service":
                found.append(ref[1])
            elif ref[0] in REGIONAL_HOPS:
                queue.append(ref)
    return found


def render_topology(synth: Synth) -> list[str]:
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
        info = region_info(name, synth.stacks[name])
        ig_node = region_nodes[name]
        mine = [b for b in backends if b.stack == name]
        cap, drained = capacity_text(mine) if global_stack else ("", False)
        ig_label = label("instance group", info.region, info.machine_type or "machine type ?", replicas_text(info), cap)
        draw_region(name, synth.stacks[name], ig_node, ig_label, drained, lines, edge_lines)

    for name in sorted(others):
        networks = resources_of(synth.stacks[name], "google_compute_network")
        firewalls = resources_of(synth.stacks[name], "google_compute_firewall")
        if not networks:
            continue
        lines.append(f"  subgraph {mermaid_id('sg', name)}[{label(name)}]")
        for net_name, config in networks.items():
            detail = plural(len(firewalls), "firewall rule") if firewalls else ""
            lines.append(
                f"    {mermaid_id('net', name, net_name)}[{label('VPC network', str(config.get('name') or net_name), detail)}]"
            )
        lines.append("  end")

    if not synth.stacks:
        lines.append(f"  empty[{label('no stacks synthesized')}]")
    lines += edge_lines
    lines.append("```")
    return lines


# --------------------------------------------------------------------------- CLI


def build_review(old: Synth, new: Synth, old_label: str, new_label: str) -> str:
    """The whole Markdown document: diff first (what changes), then the new topology."""
    lines = render_diff(old, new, old_label, new_label)
    lines += ["### Topology after this change", ""]
    lines += render_topology(new)
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line; argparse gives ``--help`` and usage errors for free."""
    parser = argparse.ArgumentParser(
        prog="review.py",
        description="Compare two cdktf synth output directories and print a Markdown review "
        "(per-stack diff by Terraform address, then a Mermaid diagram of the new topology).",
    )
    parser.add_argument("old_outdir", type=Path, metavar="OLD_OUTDIR", help="synth of the base (e.g. merge base)")
    parser.add_argument("new_outdir", type=Path, metavar="NEW_OUTDIR", help="synth of the change")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the Markdown to FILE instead of stdout"
    )
    parser.add_argument("--old-label", help="name shown for OLD_OUTDIR (default: its path)")
    parser.add_argument("--new-label", help="name shown for NEW_OUTDIR (default: its path)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the review; bad input becomes exit status 2 and one ``error:`` line."""
    args = parse_args(argv)
    try:
        old = load_synth(args.old_outdir)
        new = load_synth(args.new_outdir)
        text = build_review(old, new, args.old_label or str(args.old_outdir), args.new_label or str(args.new_outdir))
        if args.output:
            try:
                args.output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise ReviewError(args.output, f"cannot write: {exc.strerror or exc}") from None
        else:
            sys.stdout.write(text)
    except ReviewError as exc:
        print(exc.line(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
