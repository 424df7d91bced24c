#!/usr/bin/env python
"""Synthesis time and peak memory against the number of regions: ours vs the plain import path.

For each N in --regions (default 2,10,40: the first N of REGIONS), writes a
deployment file with N regions to a temporary directory and runs
``python main.py`` on it --runs times (default 5) per variant, the two variants
interleaved (ours, baseline, baseline, ours, ...) so that drift in machine load
hits both alike:

* ours:     python -O, LLM_FAST_PROVIDER_IMPORT=1 (as cdktf.json runs the app)
* baseline: python, LLM_FAST_PROVIDER_IMPORT=0 (the plain way a CDKTF Python app imports)

Each run's wall time, and its peak memory: the sum of the RSS of main.py's
process and all its descendants (the jsii kernel's node processes), sampled
from /proc every 20 ms.  First the jsii package cache is indexed
(constructs_lib.provider_import.warm_jsii_cache) and one untimed run of each
variant warms the OS page cache.  Reports medians, the resources
synthesized (over every stack's cdk.tf.json), whether both variants wrote
byte-identical files, the marginal cost of one more region, ours/baseline, and
the CPU time (user + system) of the process tree.

Writes docs/bench/results.md and docs/bench/synth-time-memory.png; prints the table.

    .venv/bin/python tools/bench.py [--runs K] [--regions 2,10,40] [--quick]
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
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from constructs_lib import gcp_regions

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "docs" / "bench"
ENV_VAR = "LLM_FAST_PROVIDER_IMPORT"
SAMPLE_SECONDS = 0.02
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

REGIONS = tuple(gcp_regions.ZONES)
"""Real GCP regions, in the app's own (append-only) list; a run takes the first N."""

VARIANTS = {"ours": "1", "baseline": "0"}
"""Variant -> LLM_FAST_PROVIDER_IMPORT."""
PYTHON_FLAGS = {"ours": ("-O",), "baseline": ()}
"""Variant -> interpreter flags: ours runs as cdktf.json runs the app (``python -O``, no
runtime type checks in the provider bindings; the test suite keeps them); the baseline
is plain ``python main.py``."""


def deployment(regions: int) -> dict[str, object]:
    return {
        "project_id": "acme-llm-prod",
        "name": "llm",
        "domains": ["llm.example.com"],
        "state": {"backend": "local"},
        "regions": [
            {
                "region": region,
                "machine_type": "g2-standard-8",
                "min_replicas": 1,
                "max_replicas": 4,
                "capacity_scaler": 1.0,
            }
            for region in REGIONS[:regions]
        ],
    }


# --- measuring one run -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and all its descendants now."""
    total, pending, seen = 0, [root], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
        pending.extend(_children(pid))
    return total


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    peak_bytes: int
    resources: int
    digest: str


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


def synth_once(config: Path, outdir: Path, variant: str) -> Run:
    mode = VARIANTS[variant]
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "DEPLOYMENT_CONFIG", "CDKTF_OUTDIR")}
    env.update({ENV_VAR: mode, "DEPLOYMENT_CONFIG": str(config), "CDKTF_OUTDIR": str(outdir)})
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *PYTHON_FLAGS[variant], str(REPO / "main.py")],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss(process.pid))
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            sys.exit(f"bench: main.py failed ({ENV_VAR}={mode}, {config}):\n{stderr.read().decode(errors='replace')}")
    # CPU time of main.py and the descendants it waited for (the jsii kernel).
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, peak, count_resources(outdir), tree_digest(outdir))


# --- the whole bench -----------------------------------------------------------------------------


@dataclass
class Point:
    regions: int
    runs: dict[str, list[Run]] = field(default_factory=lambda: {name: [] for name in VARIANTS})

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
        return self.runs["ours"][0].resources

    def identical(self) -> bool:
        digests = {run.digest for runs in self.runs.values() for run in runs}
        counts = {run.resources for runs in self.runs.values() for run in runs}
        return len(digests) == 1 and len(counts) == 1


WARM_JSII_CACHE = "from constructs_lib.provider_import import warm_jsii_cache; exit(not warm_jsii_cache())"


def warm_jsii_cache() -> None:
    """Have jsii index the provider in its package cache, as a long-lived run would (see provider_import)."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "NODE_OPTIONS")}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if subprocess.run([sys.executable, "-c", WARM_JSII_CACHE], cwd=REPO, env=env).returncode != 0:
        print("  warning: the jsii package cache is disabled or not indexed", file=sys.stderr)


def bench(region_counts: list[int], runs: int, work: Path) -> list[Point]:
    points = []
    print("  warm-up: jsii package cache", file=sys.stderr, flush=True)
    warm_jsii_cache()
    for index, regions in enumerate(region_counts):
        config = work / f"regions-{regions}.yaml"
        config.write_text(yaml.safe_dump(deployment(regions), sort_keys=False))
        point = Point(regions)
        if index == 0:
            for name in VARIANTS:
                print(f"  warm-up: {name}, {regions} regions", file=sys.stderr, flush=True)
                synth_once(config, work / f"warmup-{name}", name)
                shutil.rmtree(work / f"warmup-{name}")
        for attempt in range(runs):
            order = list(VARIANTS) if attempt % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                outdir = work / f"out-{name}-{regions}-{attempt}"
                run = synth_once(config, outdir, name)
                shutil.rmtree(outdir)
                point.runs[name].append(run)
                print(
                    f"  {regions:>2} regions, run {attempt + 1}/{runs}, {name:<8}: "
                    f"{run.seconds:6.2f} s, {run.peak_bytes / 2**20:6.0f} MB, {run.resources} resources",
                    file=sys.stderr,
                    flush=True,
                )
        points.append(point)
    return points


def marginal_ms(points: list[Point], variant: str, cpu: bool = False) -> float | None:
    """Time one more region adds: (t(max N) - t(min N)) / (max N - min N), in ms."""
    low, high = points[0], points[-1]
    if high.regions == low.regions:
        return None
    measure = Point.cpu_seconds if cpu else Point.seconds
    return (measure(high, variant) - measure(low, variant)) / (high.regions - low.regions) * 1000


# --- reporting -----------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        node = "not found"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, {platform.system()} {platform.release()}",
        "versions": (
            f"Python {platform.python_version()}, cdktf {_version('cdktf')}, "
            f"cdktf-cdktf-provider-google {_version('cdktf-cdktf-provider-google')}, "
            f"jsii {_version('jsii')}, node {node}"
        ),
    }


def table(points: list[Point]) -> str:
    rows = [
        "| regions | resources | ours time (s) | baseline time (s) | time ours/baseline "
        "| ours peak memory (MB) | baseline peak memory (MB) | memory ours/baseline | identical output |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for point in points:
        ours, base = point.seconds("ours"), point.seconds("baseline")
        ours_mb, base_mb = point.megabytes("ours"), point.megabytes("baseline")
        (ours_lo, ours_hi), (base_lo, base_hi) = point.spread("ours"), point.spread("baseline")
        rows.append(
            f"| {point.regions} | {point.resources()} "
            f"| {ours:.2f} ({ours_lo:.2f}–{ours_hi:.2f}) | {base:.2f} ({base_lo:.2f}–{base_hi:.2f}) | {ours / base:.2f} "
            f"| {ours_mb:.0f} | {base_mb:.0f} | {ours_mb / base_mb:.2f} | {'yes' if point.identical() else 'NO'} |"
        )
    return "\n".join(rows)


def cpu_table(points: list[Point]) -> str:
    rows = [
        "| regions | ours CPU time (s) | baseline CPU time (s) | CPU ours/baseline |",
        "|---:|---:|---:|---:|",
    ]
    for point in points:
        ours, base = point.cpu_seconds("ours"), point.cpu_seconds("baseline")
        rows.append(f"| {point.regions} | {ours:.2f} | {base:.2f} | {ours / base:.2f} |")
    return "\n".join(rows)


def summary(points: list[Point]) -> list[str]:
    lines = []
    ours_ms, base_ms = marginal_ms(points, "ours"), marginal_ms(points, "baseline")
    low, high = points[0], points[-1]
    if ours_ms is not None and base_ms is not None:
        ours_cpu, base_cpu = marginal_ms(points, "ours", cpu=True), marginal_ms(points, "baseline", cpu=True)
        lines.append(
            f"- Marginal cost of one region ((t{high.regions} − t{low.regions}) / {high.regions - low.regions}): "
            f"ours {ours_ms:.0f} ms, baseline {base_ms:.0f} ms of wall time "
            f"(CPU time: ours {ours_cpu:.0f} ms, baseline {base_cpu:.0f} ms)."
        )
    ratio = high.seconds("ours") / high.seconds("baseline")
    memory = high.megabytes("ours") / high.megabytes("baseline")
    lines.append(
        f"- At {high.regions} regions: time ours/baseline {ratio:.2f}, peak memory ours/baseline {memory:.2f}."
    )
    if high.regions == 40:
        checks = [
            ("40-region synth at most 0.6× the plain path's time", ratio <= 0.6),
            (
                "peak memory no higher than the plain path's",
                all(p.megabytes("ours") <= p.megabytes("baseline") for p in points),
            ),
            ("byte-identical output", all(p.identical() for p in points)),
        ]
        if ours_ms is not None and low.regions == 2:
            checks.insert(1, ("marginal cost per region at most 60 ms", ours_ms <= 60))
        lines.extend(f"- Target: {text}: {'met' if ok else 'NOT met'}." for text, ok in checks)
    return lines


def plot(points: list[Point], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = [point.regions for point in points]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for name, style in (("ours", "o-"), ("baseline", "s--")):
        label = f"{name} ({ENV_VAR}={VARIANTS[name]})"
        left.plot(regions, [point.seconds(name) for point in points], style, label=label)
        right.plot(regions, [point.megabytes(name) for point in points], style, label=label)
    left.set(title="Synthesis wall time (median)", xlabel="regions", ylabel="seconds")
    right.set(title="Peak memory, python + jsii kernel (median)", xlabel="regions", ylabel="MB (sum of RSS)")
    for axis in (left, right):
        axis.set_xticks(regions)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def report(points: list[Point], runs: int, command: str) -> str:
    facts = machine()
    return "\n".join(
        [
            "# Synthesis time and memory against regions",
            "",
            f"- Date: {facts['date']}",
            f"- Machine: {facts['machine']}",
            f"- Versions: {facts['versions']}",
            f"- Command: `{command}`; medians of {runs} run(s) per cell, (min–max) after the time, "
            "ours and baseline interleaved, after one untimed warm-up run of each.",
            f"- ours: `python -O main.py` with `{ENV_VAR}=1` (constructs_lib/provider_import.py), as cdktf.json runs it; "
            f"baseline: `python main.py` with `{ENV_VAR}=0`, the plain import path.",
            "- Peak memory: the largest sum of RSS over `python main.py` and its descendants (the jsii kernel's "
            "node processes), sampled every 20 ms.",
            "",
            table(points),
            "",
            "CPU time, medians: user + system time of `main.py` and of the jsii kernel it waited for "
            "(node's GC and compiler threads included, so it can exceed wall time):",
            "",
            cpu_table(points),
            "",
            *summary(points),
            "",
            "![Synthesis time and peak memory against regions](synth-time-memory.png)",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per variant and region count (default 5)")
    parser.add_argument("--regions", default="2,10,40", help="comma-separated region counts, 1-40 (default 2,10,40)")
    parser.add_argument("--quick", action="store_true", help="one run each (same as --runs 1)")
    parser.add_argument(
        "--out", type=Path, default=OUT_DIR, help="where results.md and the PNG go (default docs/bench)"
    )
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

    command = "tools/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="llm-bench-") as work:
        points = bench(region_counts, runs, Path(work))

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(report(points, runs, command.strip()))
    plot(points, args.out / "synth-time-memory.png")
    print(table(points))
    print()
    print(cpu_table(points))
    print()
    print("\n".join(summary(points)))
    print(f"\nwrote {args.out / 'results.md'} and {args.out / 'synth-time-memory.png'}")
    return 0 if all(point.identical() for point in points) else 1


if __name__ == "__main__":
    sys.exit(main())
