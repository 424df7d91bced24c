"""Behaviour of tools/review.py on small, hand-built cdktf output directories.

The fixtures mimic what `cdktf synth` writes (manifest.json plus
stacks/<name>/cdk.tf.json, with "//" metadata everywhere) without importing cdktf,
so these tests run in milliseconds and pin down what a reviewer sees.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REVIEW = Path(__file__).resolve().parents[1] / "tools" / "review.py"

DEFAULT_REGIONS: dict[str, dict[str, Any]] = {
    "us-central1": {"machine_type": "a2-highgpu-1g", "min": 1, "max": 4, "capacity": 1},
    "europe-west4": {"machine_type": "g2-standard-8", "min": 2, "max": 6, "capacity": 1},
}


def meta(path: str, version: str = "0.21.0") -> dict[str, Any]:
    """cdktf-style metadata; tests vary it to prove it is ignored."""
    return {"metadata": {"path": path, "uniqueId": path.replace("/", "_"), "cdktfVersion": version}}


def region_stack(region: str, spec: dict[str, Any], version: str) -> dict[str, Any]:
    """A region stack: instance template + MIG + autoscaler + regional entry point."""
    s = f"region-{region}"
    return {
        "//": {"metadata": {"backend": "local", "stackName": s, "version": version}},
        "provider": {"google": [{"project": "demo", "region": region}]},
        "resource": {
            "google_compute_subnetwork": {
                "subnet": {"//": meta(f"{s}/subnet", version), "name": f"llm-{region}", "region": region,
                           "ip_cidr_range": "10.0.0.0/20"}
            },
            "google_compute_instance_template": {
                "tmpl": {"//": meta(f"{s}/tmpl", version), "name_prefix": "llm-",
                         "machine_type": spec["machine_type"],
                         "guest_accelerator": [{"type": "nvidia-tesla-a100", "count": 1}]}
            },
            "google_compute_region_instance_group_manager": {
                "mig": {"//": meta(f"{s}/mig", version), "name": f"llm-{region}", "region": region,
                        "version": [{"instance_template": "${google_compute_instance_template.tmpl.id}"}]}
            },
            "google_compute_region_autoscaler": {
                "as": {"//": meta(f"{s}/as", version), "target": "${google_compute_region_instance_group_manager.mig.id}",
                       "autoscaling_policy": {"min_replicas": spec["min"], "max_replicas": spec["max"]}}
            },
            "google_compute_region_backend_service": {
                "rbs": {"//": meta(f"{s}/rbs", version), "name": f"llm-{region}", "protocol": "HTTP",
                        "backend": [{"group": "${google_compute_region_instance_group_manager.mig.instance_group}"}]}
            },
            "google_compute_region_url_map": {
                "rum": {"//": meta(f"{s}/rum", version), "default_service": "${google_compute_region_backend_service.rbs.id}"}
            },
            "google_compute_region_target_http_proxy": {
                "rproxy": {"//": meta(f"{s}/rproxy", version), "url_map": "${google_compute_region_url_map.rum.id}"}
            },
            "google_compute_forwarding_rule": {
                "fr": {"//": meta(f"{s}/fr", version), "name": f"llm-{region}", "port_range": "80",
                       "load_balancing_scheme": "EXTERNAL_MANAGED",
                       "target": "${google_compute_region_target_http_proxy.rproxy.id}"}
            },
        },
        "output": {
            "instance_group": {"value": "${google_compute_region_instance_group_manager.mig.instance_group}"}
        },
    }


def global_stack(regions: dict[str, dict[str, Any]], version: str) -> dict[str, Any]:
    """global-frontend: the HTTPS LB whose backend list has one entry per region."""
    g = "global-frontend"
    return {
        "//": {"metadata": {"backend": "local", "stackName": g, "version": version}},
        "data": {
            "terraform_remote_state": {
                f"region-{r}": {"//": meta(f"{g}/rs-{r}", version), "backend": "local",
                                "config": {"path": f"terraform.region-{r}.tfstate"}}
                for r in regions
            }
        },
        "resource": {
            "google_compute_global_address": {"ip": {"//": meta(f"{g}/ip", version), "name": "llm-ip"}},
            "google_compute_managed_ssl_certificate": {
                "cert": {"//": meta(f"{g}/cert", version), "managed": {"domains": ["llm.example.com"]}}
            },
            "google_compute_health_check": {
                "hc": {"//": meta(f"{g}/hc", version), "http_health_check": {"port": 8080, "request_path": "/health"}}
            },
            "google_compute_security_policy": {"armor": {"//": meta(f"{g}/armor", version), "name": "llm-armor"}},
            "google_compute_backend_service": {
                "llm": {
                    "//": meta(f"{g}/llm", version),
                    "name": "llm-backend",
                    "protocol": "HTTP",
                    "health_checks": ["${google_compute_health_check.hc.id}"],
                    "security_policy": "${google_compute_security_policy.armor.id}",
                    "backend": [
                        {"group": f"${{data.terraform_remote_state.region-{r}.outputs.instance_group}}",
                         "balancing_mode": "UTILIZATION", "capacity_scaler": spec["capacity"]}
                        for r, spec in regions.items()
                    ],
                }
            },
            "google_compute_url_map": {
                "urlmap": {"//": meta(f"{g}/urlmap", version), "default_service": "${google_compute_backend_service.llm.id}"},
                "redirect": {"//": meta(f"{g}/redirect", version),
                             "default_url_redirect": {"https_redirect": True, "strip_query": False}},
            },
            "google_compute_target_https_proxy": {
                "https": {"//": meta(f"{g}/https", version), "url_map": "${google_compute_url_map.urlmap.id}",
                          "ssl_certificates": ["${google_compute_managed_ssl_certificate.cert.id}"]}
            },
            "google_compute_target_http_proxy": {
                "http": {"//": meta(f"{g}/http", version), "url_map": "${google_compute_url_map.redirect.id}"}
            },
            "google_compute_global_forwarding_rule": {
                "https": {"//": meta(f"{g}/fr443", version), "port_range": "443",
                          "ip_address": "${google_compute_global_address.ip.address}",
                          "target": "${google_compute_target_https_proxy.https.id}"},
                "http": {"//": meta(f"{g}/fr80", version), "port_range": "80",
                         "ip_address": "${google_compute_global_address.ip.address}",
                         "target": "${google_compute_target_http_proxy.http.id}"},
            },
        },
        "output": {"ip": {"value": "${google_compute_global_address.ip.address}"}},
    }


def network_stack(version: str) -> dict[str, Any]:
    return {
        "//": {"metadata": {"backend": "local", "stackName": "network", "version": version}},
        "resource": {
            "google_compute_network": {"vpc": {"//": meta("network/vpc", version), "name": "llm-vpc",
                                               "auto_create_subnetworks": False}},
            "google_compute_firewall": {"hc": {"//": meta("network/fw", version), "network": "llm-vpc",
                                               "source_ranges": ["130.211.0.0/22", "35.191.0.0/16"]}},
        },
    }


def write_outdir(root: Path, stacks: dict[str, dict[str, Any]], version: str = "0.21.0",
                 dependencies: dict[str, list[str]] | None = None) -> Path:
    """Write manifest.json + stacks/<name>/cdk.tf.json the way cdktf lays them out."""
    root.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"version": version, "stacks": {}}
    for name, body in stacks.items():
        rel = f"stacks/{name}/cdk.tf.json"
        (root / "stacks" / name).mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(body, indent=2))
        manifest["stacks"][name] = {
            "name": name, "constructPath": name, "synthesizedStackPath": rel,
            "workingDirectory": f"stacks/{name}", "annotations": [],
            "dependencies": (dependencies or {}).get(name, []),
        }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root


def make_app(root: Path, regions: dict[str, dict[str, Any]] | None = None, *, version: str = "0.21.0",
             with_global: bool = True) -> Path:
    """A whole app synth: network, one stack per region, global-frontend."""
    regions = DEFAULT_REGIONS if regions is None else regions
    stacks = {"network": network_stack(version)}
    stacks.update({f"region-{r}": region_stack(r, spec, version) for r, spec in regions.items()})
    if with_global:
        stacks["global-frontend"] = global_stack(regions, version)
    dependencies = {f"region-{r}": ["network"] for r in regions}
    dependencies["global-frontend"] = [f"region-{r}" for r in regions]
    return write_outdir(root, stacks, version, dependencies)


def run_review(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """tools/review.py as CI runs it: its own interpreter, exit status, stdout and stderr."""
    return subprocess.run([sys.executable, str(REVIEW), *map(str, args)],
                          capture_output=True, text=True, timeout=60)


@functools.cache
def review_module() -> Any:
    """tools/review.py as a module, imported once (the script's own directory is not a package)."""
    spec = importlib.util.spec_from_file_location("tools_review", REVIEW)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_review_in_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The same `main(argv)` the script runs, in this process: no interpreter and deepdiff import
    per call. The command-line contract (exit status, one-line errors, --output, --help) is
    tested through run_review."""
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = list(map(str, args))
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        returncode = review_module().main(argv)
    return subprocess.CompletedProcess([str(REVIEW), *argv], returncode, stdout.getvalue(), stderr.getvalue())


def review(old: Path, new: Path) -> str:
    result = run_review_in_process(old, new)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_the_script_prints_the_same_review_as_its_main(tmp_path: Path) -> None:
    """The in-process calls below see what a user of the script sees."""
    old = make_app(tmp_path / "old")
    drained = {**DEFAULT_REGIONS, "europe-west4": {**DEFAULT_REGIONS["europe-west4"], "capacity": 0}}
    new = make_app(tmp_path / "new", drained)
    result = run_review(old, new)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == review(old, new)
    assert "`backend[region-europe-west4].capacity_scaler`" in result.stdout


def diff_part(markdown: str) -> str:
    return markdown.split("```mermaid")[0]


def mermaid_part(markdown: str) -> list[str]:
    match = re.search(r"```mermaid\n(.*?)\n```", markdown, re.S)
    assert match, "no mermaid block"
    return match.group(1).splitlines()


NODE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\[\"(.*)\"\]\s*$")
EDGE_RE = re.compile(r"^\s*(\S+)\s+(-->|-\.->|-\.-)(?:\|\"(.*)\"\|)?\s+(\S+)\s*$")


def nodes_and_edges(lines: list[str]) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    nodes, edges = {}, []
    for line in lines:
        if m := NODE_RE.match(line):
            nodes[m.group(1)] = m.group(2)
        elif m := EDGE_RE.match(line):
            edges.append((m.group(1), m.group(4), m.group(3) or ""))
    return nodes, edges


def group_nodes(nodes: dict[str, str]) -> dict[str, str]:
    return {nid: text for nid, text in nodes.items() if text.startswith("instance group")}


# ------------------------------------------------------------------------- diff cases


def test_identical_inputs_say_no_changes_even_if_cdktf_metadata_differs(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old", version="0.20.0")
    new = make_app(tmp_path / "new", version="0.21.0")
    out = review(old, new)
    assert "No changes." in diff_part(out)
    assert "0.20.0" not in out and "metadata" not in out


def test_added_region_shows_new_stack_and_new_backend_entry(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    regions = {**DEFAULT_REGIONS, "asia-southeast1": {"machine_type": "g2-standard-8", "min": 1, "max": 2, "capacity": 1}}
    new = make_app(tmp_path / "new", regions)
    diff = diff_part(review(old, new))
    assert "No changes." not in diff
    assert re.search(r"region-asia-southeast1`?: added", diff)
    assert "google_compute_region_instance_group_manager.mig" in diff
    assert "data.terraform_remote_state.region-asia-southeast1" in diff
    assert "google_compute_backend_service.llm" in diff
    # Backends are named by region: the new one appears, no other is renamed.
    assert "backend[region-asia-southeast1].group" in diff
    assert "backend[region-asia-southeast1].capacity_scaler" in diff
    assert "backend[region-us-central1]" not in diff and "backend[2]" not in diff
    assert re.search(r"Unchanged stacks:.*network.*region-europe-west4.*region-us-central1", diff)


def test_removed_region_shows_removed_stack_and_backend_entry(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new = make_app(tmp_path / "new", {"us-central1": DEFAULT_REGIONS["us-central1"]})
    diff = diff_part(review(old, new))
    assert re.search(r"region-europe-west4`?: removed", diff)
    assert "data.terraform_remote_state.region-europe-west4" in diff
    row = next(line for line in diff.splitlines() if "backend[region-europe-west4].group" in line)
    assert "(absent)" in row


def test_drained_region_changes_only_capacity_scaler(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    drained = {**DEFAULT_REGIONS, "europe-west4": {**DEFAULT_REGIONS["europe-west4"], "capacity": 0}}
    new = make_app(tmp_path / "new", drained)
    out = review(old, new)
    diff = diff_part(out)
    rows = [line for line in diff.splitlines() if line.startswith("| `google_")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells == ["`google_compute_backend_service.llm`", "`backend[region-europe-west4].capacity_scaler`", "`1`", "`0`"]
    assert "global-frontend" in diff
    assert re.search(r"Unchanged stacks:.*network.*region-europe-west4.*region-us-central1", diff)

    nodes, _ = nodes_and_edges(mermaid_part(out))
    labels = {text for text in group_nodes(nodes).values()}
    west = next(t for t in labels if "europe-west4" in t)
    central = next(t for t in labels if "us-central1" in t)
    assert "drained" in west and "capacity 0" in west
    assert "drained" not in central
    assert "| `region-europe-west4` | 1× nvidia-l4 | 2..6 | 2..6 (not serving) |" in out
    assert "| **total serving** | | **3..10** | **1..4** |" in out


def test_long_values_are_shortened_with_ellipsis(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new_dir = make_app(tmp_path / "new")
    path = new_dir / "stacks" / "region-us-central1" / "cdk.tf.json"
    stack = json.loads(path.read_text())
    stack["resource"]["google_compute_instance_template"]["tmpl"]["metadata"] = {"startup-script": "x" * 500}
    path.write_text(json.dumps(stack))
    diff = diff_part(review(old, new_dir))
    row = next(line for line in diff.splitlines() if line.startswith("| ") and "startup-script" in line)
    assert "…" in row and "x" * 100 not in row


def test_output_file_option_writes_the_markdown(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new = make_app(tmp_path / "new")
    target = tmp_path / "review.md"
    result = run_review(old, new, "--output", target)
    assert result.returncode == 0 and result.stdout == ""
    assert "No changes." in target.read_text()


def test_help_works() -> None:
    result = run_review("--help")
    assert result.returncode == 0
    assert "OLD_OUTDIR" in result.stdout and "--output" in result.stdout


# ------------------------------------------------------------------------- topology


def test_mermaid_structure(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new = make_app(tmp_path / "new")
    lines = mermaid_part(review(old, new))
    assert lines[0].strip() == "flowchart LR"
    nodes, edges = nodes_and_edges(lines)

    ids = set(nodes) | {e[0] for e in edges} | {e[1] for e in edges}
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", i) for i in ids), ids

    groups = group_nodes(nodes)
    assert len(groups) == len(DEFAULT_REGIONS)
    for region, spec in DEFAULT_REGIONS.items():
        text = next(t for t in groups.values() if region in t)
        assert spec["machine_type"] in text
        assert f"{spec['min']}..{spec['max']}" in text
        assert "capacity 1" in text

    backend = next(n for n, t in nodes.items() if t.startswith("global backend service"))
    assert {dst for src, dst, _ in edges if src == backend} >= set(groups)
    # Global chain: address -> forwarding rule -> HTTPS proxy -> URL map -> backend service.
    kind = {n: t.split("<br/>")[0] for n, t in nodes.items()}
    flow = {(kind[s], kind[d]) for s, d, _ in edges if s in kind and d in kind}
    assert {("global address", "forwarding rule"), ("forwarding rule", "HTTPS proxy"),
            ("HTTPS proxy", "URL map"), ("URL map", "global backend service")} <= flow
    assert any(kind.get(a) == "health check" or kind.get(b) == "health check"
               for a, b, _ in edges if backend in (a, b))
    # Each region's own entry point reaches the same instance group node.
    for gid in groups:
        rbs = [s for s, d, _ in edges if d == gid and kind.get(s) == "region backend service"]
        assert rbs
        assert any(kind.get(s) == "regional forwarding rule" for s, d, _ in edges if d in rbs)


def test_mermaid_without_global_frontend_still_draws_regions(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new = make_app(tmp_path / "new", with_global=False)
    out = review(old, new)
    assert re.search(r"global-frontend`?: removed", diff_part(out))
    lines = mermaid_part(out)
    assert lines[0].strip() == "flowchart LR"
    nodes, _ = nodes_and_edges(lines)
    assert len(group_nodes(nodes)) == len(DEFAULT_REGIONS)


def test_missing_attributes_do_not_crash(tmp_path: Path) -> None:
    bare = {
        "region-us-east1": {"resource": {"google_compute_region_instance_group_manager": {"mig": {}}}},
        "global-frontend": {"resource": {"google_compute_backend_service": {"b": {"backend": [{}]}}}},
    }
    old = write_outdir(tmp_path / "old", {})
    new = write_outdir(tmp_path / "new", bare)
    out = review(old, new)
    assert re.search(r"region-us-east1`?: added", out)
    assert len(group_nodes(nodes_and_edges(mermaid_part(out))[0])) == 1


# ------------------------------------------------------------------------- bad input


def assert_one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_directory_is_exit_2(tmp_path: Path) -> None:
    """Through the script: its exit status and stderr (the other bad inputs call its main)."""
    good = make_app(tmp_path / "good")
    missing = tmp_path / "nope"
    assert_one_line_error(run_review(missing, good), str(missing))
    assert_one_line_error(run_review(good, missing), str(missing))


def test_directory_without_manifest_is_exit_2(tmp_path: Path) -> None:
    good = make_app(tmp_path / "good")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run_review_in_process(empty, good), "manifest.json")


@pytest.mark.parametrize("broken", ["manifest.json", "stacks/global-frontend/cdk.tf.json"])
def test_invalid_json_is_exit_2(tmp_path: Path, broken: str) -> None:
    good = make_app(tmp_path / "good")
    bad = make_app(tmp_path / "bad")
    (bad / broken).write_text('{"stacks": ')
    assert_one_line_error(run_review_in_process(good, bad), broken)


def test_stack_listed_in_manifest_but_missing_is_exit_2(tmp_path: Path) -> None:
    good = make_app(tmp_path / "good")
    bad = make_app(tmp_path / "bad")
    (bad / "stacks" / "network" / "cdk.tf.json").unlink()
    assert_one_line_error(run_review_in_process(good, bad), "network")


# ------------------------------------------------------------------------- checkouts


def test_merge_base_script_reviews_working_tree_against_base(tmp_path: Path) -> None:
    """tools/review-merge-base.sh in a scratch repo whose fake app writes a cdktf-like outdir."""
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    for name in ("review.py", "review-merge-base.sh"):
        (repo / "tools" / name).write_text((REVIEW.parent / name).read_text())
    shutil.copytree(REVIEW.parents[1] / "constructs_lib", repo / "constructs_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    fixtures = Path(__file__).resolve()
    (repo / "main.py").write_text(
        "import os, sys, pathlib\n"
        f"sys.path.insert(0, {str(fixtures.parent)!r})\n"
        "import test_review as t\n"
        "print('synth chatter that must not reach the review')\n"
        "CAPACITY = 1\n"
        "regions = {**t.DEFAULT_REGIONS, 'europe-west4': {**t.DEFAULT_REGIONS['europe-west4'], 'capacity': CAPACITY}}\n"
        "t.make_app(pathlib.Path(os.environ['CDKTF_OUTDIR']), regions)\n"
    )
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    subprocess.run([*git, "checkout", "-q", "-b", "drain-europe"], check=True)
    main_py = repo / "main.py"
    main_py.write_text(main_py.read_text().replace("CAPACITY = 1", "CAPACITY = 0"))

    env = {k: v for k, v in os.environ.items() if k != "REVIEW_BASE"}
    env["PYTHON"] = sys.executable
    env["REVIEW_OUTDIRS"] = str(tmp_path / "synths")  # kept for CI's plans and applies
    result = subprocess.run(["bash", str(repo / "tools" / "review-merge-base.sh")], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "chatter" not in result.stdout
    row = next(line for line in result.stdout.splitlines() if "capacity_scaler" in line)
    assert "backend[region-europe-west4].capacity_scaler" in row and "`1`" in row and "`0`" in row
    worktrees = subprocess.run([*git, "worktree", "list"], capture_output=True, text=True, check=True)
    assert len(worktrees.stdout.splitlines()) == 1  # the temporary worktree is gone
    for side in ("old", "new"):
        assert (tmp_path / "synths" / side / "stacks" / "global-frontend" / "cdk.tf.json").is_file()


# ------------------------------------------------------------------------- the real app


def test_review_of_a_real_drain(synthesize: Any, default_document: dict[str, Any], default_synth: Any) -> None:
    """On the app's own synth: draining europe-west4 is one attribute of global-frontend."""
    drained_document = json.loads(json.dumps(default_document))
    drained_document["regions"][1]["capacity_scaler"] = 0
    drained = synthesize(drained_document)
    markdown = review(default_synth.outdir, drained.outdir)
    assert "### Stack `global-frontend`: changed" in markdown
    assert "| `google_compute_backend_service.global_backend` | `backend[region-europe-west4].capacity_scaler` | `1` | `0` |" in markdown
    assert "Unchanged stacks: `network`, `region-europe-west4`, `region-us-central1`." in markdown
    nodes, _ = nodes_and_edges(mermaid_part(markdown))
    assert "capacity 0 (drained)" in group_nodes(nodes)["ig_region_europe_west4"]
    assert "capacity 1" in group_nodes(nodes)["ig_region_us_central1"]
    # 4 VMs x 8 req/s in each region; drained, europe-west4 no longer covers us-central1's loss.
    assert (
        "**Failover (N-1), at full scale-out:** before: losing `region-us-central1` leaves 32 req/s; "
        "after: losing `region-us-central1` leaves 0 req/s."
    ) in markdown


# ------------------------------------------------------------------------- at any size


def many_regions(count: int, **overrides: Any) -> dict[str, dict[str, Any]]:
    spec = {"machine_type": "g2-standard-24", "min": 1, "max": 3, "capacity": 1, **overrides}
    return {f"zz-test{index:02d}": dict(spec) for index in range(count)}


def assert_fits_with_intact_picture(markdown: str, limit: int = 65536) -> None:
    assert len(markdown.encode("utf-16-le")) // 2 <= limit
    fences = [line for line in markdown.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0 and fences[-2:] == ["```mermaid", "```"], "the picture is whole and last"
    assert markdown.count("<details>") == markdown.count("</details>")
    assert markdown.startswith("## Synth review") and "**Stacks:**" in markdown


@pytest.mark.parametrize("count", [2, 10, 40])
def test_added_regions_are_told_once_and_the_comment_fits(tmp_path: Path, count: int) -> None:
    old = make_app(tmp_path / "old", {})
    new = make_app(tmp_path / "new", many_regions(count))
    out = review(old, new)
    assert_fits_with_intact_picture(out)
    assert f"### +{count} region stacks added like `region-zz-test00`, 10 blocks each" in out
    groups = group_nodes(nodes_and_edges(mermaid_part(out))[0])
    assert len(groups) == count
    assert all("2× nvidia-l4" in text for text in groups.values()), "each region shows its GPU model and count"
    assert f"| **total serving** | | **0..0** | **{2 * count}..{6 * count}** |" in out


@pytest.mark.parametrize("count", [2, 40])
def test_the_same_change_in_every_region_is_told_once_with_values_folded(tmp_path: Path, count: int) -> None:
    old = make_app(tmp_path / "old", many_regions(count))
    new = make_app(tmp_path / "new", many_regions(count, max=5))
    out = review(old, new)
    assert_fits_with_intact_picture(out)
    heading = f"### {count} region stacks changed alike, like `region-zz-test00`, 1 block each"
    assert heading in out
    folded_rows = [line for line in out.splitlines() if "`autoscaling_policy.max_replicas` | `3` | `5` |" in line]
    assert len(folded_rows) == count


def test_a_review_too_large_for_one_comment_leaves_detail_out_between_sections(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old", {})
    regions = {f"zz-test{i:02d}": {"machine_type": f"g2-standard-{(4, 8, 12, 16)[i % 4]}", "min": 1 + i % 3,
                                   "max": 9, "capacity": 1} for i in range(40)}
    new = make_app(tmp_path / "new", regions)
    result = run_review_in_process(old, new, "--limit", "25000")
    assert result.returncode == 0, result.stderr
    assert_fits_with_intact_picture(result.stdout, 25000)
    assert "entry point is left out at this size" in result.stdout
    assert "shortened or left out to fit one comment" in result.stdout
    assert "### Stack `global-frontend`: changed\n\n_Detail left out to fit one comment._" in result.stdout
    assert len(group_nodes(nodes_and_edges(mermaid_part(result.stdout))[0])) == 40


# ------------------------------------------------------------------------- call-outs


def callout_lines(markdown: str) -> list[str]:
    section = markdown.split("### Reviewers must not miss", 1)
    assert len(section) == 2, "no call-outs"
    return [line for line in section[1].split("\n### ", 1)[0].splitlines() if line.startswith("- ")]


def edit(outdir: Path, stack: str, change: Any) -> None:
    path = outdir / "stacks" / stack / "cdk.tf.json"
    body = json.loads(path.read_text())
    change(body)
    path.write_text(json.dumps(body))


def test_state_backend_change_calls_for_migrate_state(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new = make_app(tmp_path / "new")
    edit(new, "network", lambda b: b.setdefault("terraform", {}).update(
        {"cloud": {"organization": "acme", "workspaces": {"name": "llm-prod-network"}}}))
    edit(old, "network", lambda b: b.setdefault("terraform", {}).update(
        {"backend": {"local": {"path": "../../../terraform-state/network.tfstate"}}}))
    [line] = callout_lines(review(old, new))
    assert "`network`" in line and "local → cloud" in line and "terraform init -migrate-state" in line


def test_new_instance_template_calls_out_the_rolling_replacement(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")
    new = make_app(tmp_path / "new")
    edit(new, "region-europe-west4", lambda b: b["resource"]["google_compute_instance_template"]["tmpl"].update(
        {"machine_type": "g2-standard-12"}))
    [line] = callout_lines(review(old, new))
    assert "New instance template" in line and "`region-europe-west4`" in line and "`machine_type`" in line
    assert "every VM of that region is replaced by a rolling update" in line


def test_protected_resources_removed_replaced_or_unprotected_are_called_out(tmp_path: Path) -> None:
    def protect(body: dict[str, Any]) -> None:
        body["resource"]["google_compute_network"]["vpc"]["lifecycle"] = {"prevent_destroy": True}
        body["resource"]["google_compute_firewall"]["hc"]["lifecycle"] = {"prevent_destroy": True}

    old = make_app(tmp_path / "old")
    edit(old, "network", protect)
    renamed = make_app(tmp_path / "renamed")
    edit(renamed, "network", protect)
    edit(renamed, "network", lambda b: b["resource"]["google_compute_network"]["vpc"].update({"name": "llm-vpc-2"}))
    edit(renamed, "network", lambda b: b["resource"]["google_compute_firewall"]["hc"].pop("lifecycle"))
    lines = callout_lines(review(old, renamed))
    assert any("Protected resource replaced" in line and "google_compute_network.vpc" in line and "`name`" in line for line in lines)
    assert any("Protection dropped" in line and "google_compute_firewall.hc" in line for line in lines)

    gone = make_app(tmp_path / "gone")
    edit(gone, "network", protect)
    edit(gone, "network", lambda b: b["resource"].pop("google_compute_network"))
    lines = callout_lines(review(old, gone))
    assert any("Protected resource removed" in line and "google_compute_network.vpc" in line for line in lines)
    assert not any("firewall" in line for line in lines)


def test_capacity_summary_counts_gpus_before_and_after_including_n1(tmp_path: Path) -> None:
    old = make_app(tmp_path / "old")  # us-central1 a2-highgpu-1g 1..4, europe-west4 g2-standard-8 2..6
    regions = {
        "us-central1": {**DEFAULT_REGIONS["us-central1"], "machine_type": "a2-highgpu-2g"},
        "europe-west4": DEFAULT_REGIONS["europe-west4"],
        "us-west1": {"machine_type": "n1-standard-8", "min": 1, "max": 2, "capacity": 1},
    }
    new = make_app(tmp_path / "new", regions)
    out = review(old, new)
    assert "| `region-us-central1` | 1× nvidia-tesla-a100 → 2× nvidia-tesla-a100 | 1..4 | 2..8 |" in out
    assert "| `region-us-west1` | 1× nvidia-tesla-a100 | — | 1..2 |" in out  # N1: the template's accelerator
    assert "| **total serving** | | **3..10** | **5..16** |" in out
    assert "1 region unchanged." in out
    assert "### Reviewers must not miss" in out  # the new template of us-central1


def test_review_of_every_gpu_region_of_the_real_app_fits_one_comment(
    synthesize: Any, default_document: dict[str, Any], default_synth: Any
) -> None:
    """The app's own synth, from 2 regions to every region the catalog offers an L4 or a T4 in
    (fewer than 40: the fixtures above go to 40): summary, capacity and the picture in one comment."""
    from constructs_lib import gcp_regions, gpu_catalog

    grown = json.loads(json.dumps(default_document))
    template = {k: v for k, v in grown["regions"][0].items() if k not in ("region", "zones", "machine_type")}
    kept = [r["region"] for r in grown["regions"]]
    t4 = {"machine_type": "n1-standard-8", "accelerator": {"type": "nvidia-tesla-t4", "count": 1}}
    for region in gcp_regions.ZONES:
        if region in kept:
            continue
        if gpu_catalog.gpu_zones_in(region, "nvidia-l4"):
            grown["regions"].append({**template, "region": region, "machine_type": "g2-standard-8"})
        elif gpu_catalog.gpu_zones_in(region, "nvidia-tesla-t4"):
            grown["regions"].append({**template, "region": region, **t4})
    count = len(grown["regions"])
    assert count >= 20
    markdown = review(default_synth.outdir, synthesize(grown).outdir)
    assert_fits_with_intact_picture(markdown)
    assert re.search(r"### \+\d+ region stacks added like `region-", markdown)
    groups = group_nodes(nodes_and_edges(mermaid_part(markdown))[0])
    assert len(groups) == count
    assert all("1× nvidia-l4" in text or "1× nvidia-tesla-t4" in text for text in groups.values())
    assert f"| **total serving** | | **2..8** | **{count}..{4 * count}** |" in markdown
