#!/usr/bin/env python
"""Synthesis time and peak memory against the number of regions: ours, the plain CDKTF Python path, TypeScript.

For each N in --regions (default 2,10,30: the first N of REGIONS, those offering a GPU), writes a
deployment file with N regions to a temporary directory and synthesizes it
--runs times (default 5) with each variant, the variants interleaved (the order
rotates every run) so that drift in machine load hits all alike:

* ours:       ``python -O main.py`` with LLM_FAST_PROVIDER_IMPORT=1, as cdktf.json runs the app;
* plain:      ``python main.py`` with LLM_FAST_PROVIDER_IMPORT=0, the plain way a CDKTF Python app runs;
* typescript: ``node tools/ts-baseline/dist/main.js``, a plain CDKTF TypeScript app that builds
  the same stacks, resources and outputs with the typed TypeScript classes
  (tools/ts-baseline/src/main.ts says how; ``make bench`` compiles it once);
* against:    with ``--against DIR``, ours run from another checkout (e.g. ``git worktree add
  /tmp/main main``), to measure a change and prove its output byte-identical.

Then, for the default deployment file, ``make synth`` (into a temporary CDKTF_OUTDIR) and the
pinned CLI (``npx --no-install cdktf synth``, into a temporary --output) against ours run directly.

Each run's wall time, CPU time (user + system of the process tree, from wait4)
and peak memory: the largest sum of RSS over the process and all its
descendants (the jsii kernel's node processes), sampled with psutil every
20 ms.  All variants run their node processes on the same node: ``--node``, by
default the project's pinned ``node_modules/.bin/node`` when there is one, else
``node`` on PATH.  First the jsii package cache is indexed
(constructs_lib.provider_import.warm_jsii_cache) and untimed runs warm the OS
page cache.  Reports medians, (min-max), ratios, the marginal cost of one more
region, and whether the outputs agree: ours, plain and against byte for byte;
typescript in everything but cdktf's ``"//"`` metadata (construct paths).

Writes results.md and synth-time-memory.png into --out (default bench.out/,
untracked: the README is updated by hand from a run); prints the tables.

    .venv/bin/python tools/bench.py [--runs K] [--regions 2,10,30] [--quick] [--against DIR] [--node PATH]
    make bench ARGS='--quick'
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from constructs_lib import gcp_regions, gpu_catalog

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "bench.out"
DEFAULT_CONFIG = REPO / "config" / "default.yaml"
TS_APP = REPO / "tools" / "ts-baseline" / "dist" / "main.js"
ENV_VAR = "LLM_FAST_PROVIDER_IMPORT"
SAMPLE_SECONDS = 0.02
CLEARED = (ENV_VAR, "DEPLOYMENT_CONFIG", "CDKTF_OUTDIR", "NODE_OPTIONS")

MACHINES: tuple[tuple[str, dict[str, object]], ...] = (
    ("nvidia-l4", {"machine_type": "g2-standard-8"}),
    ("nvidia-tesla-t4", {"machine_type": "n1-standard-8", "accelerator": {"type": "nvidia-tesla-t4", "count": 1}}),
    ("nvidia-tesla-a100", {"machine_type": "a2-highgpu-1g"}),
    ("nvidia-h100-80gb", {"machine_type": "a3-edgegpu-8g"}),
)
"""Per region the first of these GPUs it offers (gpu_zones.yaml), with a machine type that carries it."""


def _machine(region: str) -> dict[str, object] | None:
    for gpu, machine in MACHINES:
        if gpu_catalog.gpu_zones_in(region, gpu):
            return machine
    return None


REGION_MACHINES = {region: m for region in gcp_regions.ZONES if (m := _machine(region)) is not None}
"""Real GCP regions that offer one of MACHINES' GPUs, in the app's own (append-only) list; a run
takes the first N.  Since the GPU zone catalog, that is 30 regions, not 40 (the other 12 offer none of them)."""
REGIONS = tuple(REGION_MACHINES)

TARGETS = {"plain": 0.25, "typescript": 3.0, "marginal_ms": 40.0, "make_synth": 1.5}
"""Issue #16's and #10's budgets: ours/plain and ours/typescript at the most regions (the issue says 40), ms per extra region,
make synth / python main.py on the default file."""


def deployment(regions: int) -> dict[str, object]:
    return {
        "project_id": "acme-llm-prod",
        "name": "llm",
        "domains": ["llm.example.com"],
        "state": {"backend": "local"},
        "regions": [
            {
                "region": region,
                **REGION_MACHINES[region],
                "min_replicas": 1,
                "max_replicas": 4,
                "capacity_scaler": 1.0,
            }
            for region in REGIONS[:regions]
        ],
    }


# --- the variants ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    describe: str
    command: Callable[[Path, Path, Path], list[str]]
    """(deployment file, outdir, TypeScript input: ours' output for the same file) -> argv."""
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = REPO
    exact: bool = True
    """Byte-identical to ours is expected (else: equal JSON without cdktf's "//" metadata)."""


def python_variant(name: str, describe: str, tree: Path, flags: tuple[str, ...], mode: str) -> Variant:
    return Variant(
        name, describe, lambda config, outdir, _: [sys.executable, *flags, str(tree / "main.py")], {ENV_VAR: mode}, tree
    )


def variants(against: Path | None) -> list[Variant]:
    chosen = [
        python_variant("ours", f"`python -O main.py`, {ENV_VAR}=1 (as cdktf.json runs it)", REPO, ("-O",), "1"),
        python_variant("plain", f"`python main.py`, {ENV_VAR}=0: the plain CDKTF Python path", REPO, (), "0"),
        Variant(
            "typescript",
            "`node tools/ts-baseline/dist/main.js`: the same stacks built by a CDKTF TypeScript app",
            lambda config, outdir, source: ["node", str(TS_APP), str(source), str(outdir)],
            exact=False,
        ),
    ]
    if against is not None:
        chosen.append(python_variant("against", f"ours from `{against}`", against, ("-O",), "1"))
    return chosen


CLI_VARIANTS = [
    Variant(
        "make synth",
        "`make -s synth` with CDKTF_OUTDIR=<tmp>: the verb users type (it runs `python -O main.py`)",
        lambda config, outdir, _: ["make", "-s", "synth"],
    ),
    Variant(
        "cdktf synth",
        "`npx --no-install cdktf synth --output <tmp>`: the pinned CLI, which runs cdktf.json's app",
        lambda config, outdir, _: ["npx", "--no-install", "cdktf", "synth", "--output", str(outdir)],
        {"CHECKPOINT_DISABLE": "1"},
    ),
    python_variant("python main.py", "`python -O main.py` (ours, run directly)", REPO, ("-O",), "1"),
]


def node_environment(node: Path | None) -> dict[str, str]:
    """os.environ for the runs: the chosen node first on PATH (the jsii kernel and npx find it there)."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    if node is not None:
        env["PATH"] = f"{node.parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    return env


# --- measuring one run -------------------------------------------------------------------------


def tree_rss(process: psutil.Process) -> int:
    """Bytes resident in ``process`` and all its descendants now."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    peak_bytes: int
    resources: int
    digest: str
    """sha256 over the output tree's paths and bytes."""
    json_digest: str
    """sha256 over each stack's JSON without cdktf's "//" metadata."""


def count_resources(outdir: Path) -> int:
    count = 0
    for stack in outdir.glob("stacks/*/cdk.tf.json"):
        for instances in json.loads(stack.read_text()).get("resource", {}).values():
            count += len(instances)
    return count


def tree_digest(outdir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in outdir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(outdir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _without_metadata(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_metadata(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [_without_metadata(item) for item in value]
    return value


def json_digest(outdir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(outdir.glob("stacks/*/cdk.tf.json")):
        content = json.dumps(_without_metadata(json.loads(path.read_text())), sort_keys=True)
        digest.update(str(path.relative_to(outdir)).encode() + b"\0" + content.encode() + b"\0")
    return digest.hexdigest()


class VariantFailed(Exception):
    """A run exited non-zero or wrote no manifest.json; the message has its output."""


def run_once(variant: Variant, config: Path, outdir: Path, source: Path, env: dict[str, str]) -> Run:
    env = {**env, **variant.env, "DEPLOYMENT_CONFIG": str(config), "CDKTF_OUTDIR": str(outdir)}
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            variant.command(config, outdir, source), cwd=variant.cwd, env=env, stdout=output, stderr=output
        )
        watched = psutil.Process(process.pid)
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss(watched))
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0 or not (outdir / "manifest.json").is_file():
            output.seek(0)
            text = output.read().decode(errors="replace").strip()
            raise VariantFailed(f"{variant.name} failed on {config} (exit {process.returncode}): {text}")
    # CPU time of the process and the descendants it waited for (the jsii kernel).
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, peak, count_resources(outdir), tree_digest(outdir), json_digest(outdir))


# --- the whole bench -----------------------------------------------------------------------------


@dataclass
class Point:
    label: str
    regions: int
    names: list[str]
    runs: dict[str, list[Run]] = field(default_factory=dict)
    exact: dict[str, bool] = field(default_factory=dict)

    def seconds(self, variant: str) -> float:
        return statistics.median(run.seconds for run in self.runs[variant])

    def cpu_seconds(self, variant: str) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs[variant])

    def spread(self, variant: str) -> tuple[float, float]:
        times = [run.seconds for run in self.runs[variant]]
        return min(times), max(times)

    def megabytes(self, variant: str) -> float:
        return statistics.median(run.peak_bytes for run in self.runs[variant]) / 2**20

    def resources(self) -> int:
        return self.runs[self.names[0]][0].resources

    def agrees(self, variant: str) -> bool:
        """Every run of ``variant`` wrote what every run of the first variant wrote (exactly, or in JSON)."""
        key = "digest" if self.exact[variant] else "json_digest"
        reference = {getattr(run, key) for run in self.runs[self.names[0]]}
        mine = {getattr(run, key) for run in self.runs[variant]}
        return len(reference) == 1 and mine == reference

    def identical(self) -> bool:
        return all(self.agrees(name) for name in self.names)


WARM_JSII_CACHE = "from constructs_lib.provider_import import warm_jsii_cache; exit(not warm_jsii_cache())"


def warm_jsii_cache(env: dict[str, str]) -> None:
    """Have jsii index the provider in its package cache, as a long-lived run would (see provider_import)."""
    if subprocess.run([sys.executable, "-c", WARM_JSII_CACHE], cwd=REPO, env=env).returncode != 0:
        print("  warning: the jsii package cache is disabled or not indexed", file=sys.stderr)


def measure(
    label: str,
    regions: int,
    config: Path,
    chosen: list[Variant],
    runs: int,
    work: Path,
    env: dict[str, str],
    warm: bool,
) -> Point:
    """``runs`` interleaved runs of each variant on ``config``; ours' untimed first run is the TypeScript app's input."""
    point = Point(
        label,
        regions,
        [variant.name for variant in chosen],
        {v.name: [] for v in chosen},
        {v.name: v.exact for v in chosen},
    )
    source = work / f"input-{regions}-{len(chosen)}"
    shutil.rmtree(source, ignore_errors=True)
    run_once(chosen[0], config, source, source, env)
    for variant in chosen[1:] if warm else []:
        print(f"  warm-up: {variant.name}, {label}", file=sys.stderr, flush=True)
        run_once(variant, config, work / "warm-up", source, env)
        shutil.rmtree(work / "warm-up")
    for attempt in range(runs):
        shift = attempt % len(chosen)
        for variant in chosen[shift:] + chosen[:shift]:
            outdir = work / "out"
            run = run_once(variant, config, outdir, source, env)
            shutil.rmtree(outdir)
            point.runs[variant.name].append(run)
            print(
                f"  {label}, run {attempt + 1}/{runs}, {variant.name:<14}: "
                f"{run.seconds:6.2f} s, {run.peak_bytes / 2**20:6.0f} MB, {run.resources} resources",
                file=sys.stderr,
                flush=True,
            )
    return point


def bench(
    region_counts: list[int], runs: int, work: Path, env: dict[str, str], against: Path | None
) -> tuple[list[Point], Point | str]:
    print("  warm-up: jsii package cache", file=sys.stderr, flush=True)
    warm_jsii_cache(env)
    chosen = variants(against)
    points = []
    for index, regions in enumerate(region_counts):
        config = work / f"regions-{regions}.yaml"
        config.write_text(yaml.safe_dump(deployment(regions), sort_keys=False))
        points.append(measure(f"{regions:>2} regions", regions, config, chosen, runs, work, env, warm=index == 0))
    try:
        cli: Point | str = measure("default file", 2, DEFAULT_CONFIG, CLI_VARIANTS, runs, work, env, warm=True)
    except VariantFailed as failure:  # the region sweep stands on its own: report it, and this failure
        print(f"  {failure}", file=sys.stderr, flush=True)
        cli = str(failure).splitlines()[0] if str(failure) else "failed"
    return points, cli


def marginal_ms(points: list[Point], variant: str, cpu: bool = False) -> float | None:
    """Time one more region adds: (t(max N) - t(min N)) / (max N - min N), in ms."""
    low, high = points[0], points[-1]
    if high.regions == low.regions:
        return None
    measure_of = Point.cpu_seconds if cpu else Point.seconds
    return (measure_of(high, variant) - measure_of(low, variant)) / (high.regions - low.regions) * 1000


# --- reporting -----------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(env: dict[str, str]) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30, env=env).stdout.strip()
        where = shutil.which("node", path=env.get("PATH"))
    except OSError:
        node, where = "not found", None
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, {platform.system()} {platform.release()}; "
        f"load average at the end {load}",
        "versions": (
            f"Python {platform.python_version()}, cdktf {_version('cdktf')}, "
            f"cdktf-cdktf-provider-google {_version('cdktf-cdktf-provider-google')}, "
            f"jsii {_version('jsii')}, node {node} ({where})"
        ),
    }


def _ratio(point: Point, variant: str, base: str) -> str:
    return f"{point.seconds(variant) / point.seconds(base):.2f}"


def table(points: list[Point]) -> str:
    names = points[0].names
    header = [
        "regions",
        "resources",
        *(f"{name} (s)" for name in names),
        *(f"{names[0]}/{name}" for name in names[1:]),
        *(f"{name} MB" for name in names),
        "same output",
    ]
    rows = ["| " + " | ".join(header) + " |", "|" + "---:|" * (len(header) - 1) + ":---:|"]
    for point in points:
        cells = [point.label.strip(), str(point.resources())]
        for name in names:
            low, high = point.spread(name)
            cells.append(f"{point.seconds(name):.2f} ({low:.2f}–{high:.2f})")
        cells.extend(_ratio(point, names[0], name) for name in names[1:])
        cells.extend(f"{point.megabytes(name):.0f}" for name in names)
        cells.append("yes" if point.identical() else "NO: " + ", ".join(n for n in names if not point.agrees(n)))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def cpu_table(points: list[Point]) -> str:
    names = points[0].names
    rows = ["| regions | " + " | ".join(f"{name} CPU (s)" for name in names) + " |", "|" + "---:|" * (len(names) + 1)]
    for point in points:
        rows.append(
            f"| {point.label.strip()} | " + " | ".join(f"{point.cpu_seconds(name):.2f}" for name in names) + " |"
        )
    return "\n".join(rows)


def summary(points: list[Point], cli: Point | str) -> list[str]:
    lines = []
    low, high = points[0], points[-1]
    ours_ms = marginal_ms(points, "ours")
    if ours_ms is not None:
        per_variant = ", ".join(f"{name} {marginal_ms(points, name):.0f} ms" for name in high.names)
        cpu = ", ".join(f"{name} {marginal_ms(points, name, cpu=True):.0f} ms" for name in high.names)
        lines.append(
            f"- Marginal cost of one region ((t{high.regions} − t{low.regions}) / {high.regions - low.regions}), wall time: "
            f"{per_variant}; CPU time: {cpu}."
        )
    plain, typescript = float(_ratio(high, "ours", "plain")), float(_ratio(high, "ours", "typescript"))
    memory = high.megabytes("ours") / high.megabytes("plain")
    lines.append(
        f"- At {high.regions} regions: time ours/plain {plain:.2f}, ours/typescript {typescript:.2f}, "
        f"peak memory ours/plain {memory:.2f}."
    )
    if isinstance(cli, Point):
        make_synth = cli.seconds("make synth") / cli.seconds("python main.py")
        cdktf_synth = cli.seconds("cdktf synth") / cli.seconds("python main.py")
        lines.append(
            f"- Default file: make synth {cli.seconds('make synth'):.2f} s ({make_synth:.2f}×), "
            f"npx cdktf synth {cli.seconds('cdktf synth'):.2f} s ({cdktf_synth:.2f}×), "
            f"python main.py {cli.seconds('python main.py'):.2f} s; same output: {'yes' if cli.identical() else 'NO'}."
        )
        cli_met = make_synth <= TARGETS["make_synth"]
    else:
        lines.append(f"- Default file: not measured: {cli}")
        cli_met = False
    checks = [
        (f"make synth at most {TARGETS['make_synth']}× python main.py (default file)", cli_met),
        ("peak memory below the plain path's", all(p.megabytes("ours") < p.megabytes("plain") for p in points)),
        (
            "same output (ours, plain and against byte-identical; TypeScript equal but for metadata)",
            all(p.identical() for p in points),
        ),
    ]
    if high.regions == len(REGIONS):
        most = f"{high.regions} regions (the most with a GPU; the issue's 40)"
        checks[:0] = [
            (f"{most} at most {TARGETS['plain']}× the plain path", plain <= TARGETS["plain"]),
            (f"{most} at most {TARGETS['typescript']}× the TypeScript app", typescript <= TARGETS["typescript"]),
        ]
    if ours_ms is not None:
        checks.insert(
            2, (f"each extra region at most {TARGETS['marginal_ms']:.0f} ms", ours_ms <= TARGETS["marginal_ms"])
        )
    lines.extend(f"- Target: {text}: {'met' if ok else 'NOT met'}." for text, ok in checks)
    return lines


def plot(points: list[Point], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = [point.regions for point in points]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for name, style in zip(points[0].names, ("o-", "s--", "^:", "d-."), strict=False):
        left.plot(regions, [point.seconds(name) for point in points], style, label=name)
        right.plot(regions, [point.megabytes(name) for point in points], style, label=name)
    left.set(title="Synthesis wall time (median)", xlabel="regions", ylabel="seconds")
    right.set(title="Peak memory of the process tree (median)", xlabel="regions", ylabel="MB (sum of RSS)")
    for axis in (left, right):
        axis.set_xticks(regions)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def report(
    points: list[Point], cli: Point | str, runs: int, command: str, env: dict[str, str], against: Path | None
) -> str:
    facts = machine(env)
    described = [f"  - {variant.name}: {variant.describe}" for variant in variants(against)]
    return "\n".join(
        [
            "# Synthesis time and memory against regions",
            "",
            f"- Date: {facts['date']}",
            f"- Machine: {facts['machine']}",
            f"- Versions: {facts['versions']}",
            f"- Command: `{command}`; medians of {runs} run(s) per cell, (min–max) after the time, "
            "the variants interleaved, after untimed warm-up runs.",
            "- Variants:",
            *described,
            "- Peak memory: the largest sum of RSS over the process and its descendants (the jsii kernel's "
            "node processes), sampled every 20 ms with psutil.",
            "",
            table(points),
            "",
            "CPU time, medians: user + system time of the process tree (node's GC and compiler threads "
            "included, so it can exceed wall time):",
            "",
            cpu_table(points),
            "",
            "The pinned CLI against the app run directly, default deployment file:",
            "",
            *(f"- {variant.name}: {variant.describe}" for variant in CLI_VARIANTS),
            "",
            cli_table(cli),
            "",
            *summary(points, cli),
            "",
            "![Synthesis time and peak memory against regions](synth-time-memory.png)",
            "",
        ]
    )


def cli_table(cli: Point | str) -> str:
    return table([cli]).replace("| regions |", "| file |", 1) if isinstance(cli, Point) else f"Not measured: {cli}"


def default_node() -> Path | None:
    """The project's pinned node (package.json's ``node`` devDependency), if installed."""
    pinned = REPO / "node_modules" / ".bin" / "node"
    return pinned if pinned.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per variant and region count (default 5)")
    parser.add_argument(
        "--regions",
        default=f"2,10,{len(REGIONS)}",
        help=f"comma-separated region counts, 1-{len(REGIONS)} (default 2,10,{len(REGIONS)}: all with a GPU)",
    )
    parser.add_argument("--quick", action="store_true", help="one run each (same as --runs 1)")
    parser.add_argument(
        "--out", type=Path, default=OUT_DIR, help="where results.md and the PNG go (default bench.out/)"
    )
    parser.add_argument("--against", type=Path, help="another checkout whose main.py to measure as a fourth variant")
    parser.add_argument("--node", type=Path, help="the node to run on (default: node_modules/.bin/node, else PATH's)")
    args = parser.parse_args(argv)

    try:
        region_counts = sorted({int(part) for part in args.regions.split(",") if part.strip()})
    except ValueError:
        parser.error(f"--regions: comma-separated integers, got {args.regions!r}")
    if not region_counts or not all(1 <= n <= len(REGIONS) for n in region_counts):
        parser.error(f"--regions: each between 1 and {len(REGIONS)}")
    runs = 1 if args.quick else args.runs
    if runs < 1:
        parser.error("--runs: at least 1")
    if not TS_APP.is_file():
        parser.error(
            f"{TS_APP.relative_to(REPO)} is missing: `make bench` builds it (npm ci and tsc in tools/ts-baseline)"
        )
    against = args.against.resolve() if args.against else None
    if against is not None and not (against / "main.py").is_file():
        parser.error(f"--against: no main.py in {against}")
    node = args.node.resolve() if args.node else default_node()
    if node is not None and not node.is_file():
        parser.error(f"--node: {node} is not a file")
    env = node_environment(node)

    command = "tools/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="llm-bench-") as work:
        try:
            points, cli = bench(region_counts, runs, Path(work), env, against)
        except VariantFailed as failure:
            print(f"bench: {failure}", file=sys.stderr)
            return 1

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(report(points, cli, runs, command.strip(), env, against))
    plot(points, args.out / "synth-time-memory.png")
    print(table(points))
    print()
    print(cpu_table(points))
    print()
    print(cli_table(cli))
    print()
    print("\n".join(summary(points, cli)))
    print(f"\nwrote {args.out / 'results.md'} and {args.out / 'synth-time-memory.png'}")
    return 0 if isinstance(cli, Point) and all(point.identical() for point in [*points, cli]) else 1


if __name__ == "__main__":
    sys.exit(main())
