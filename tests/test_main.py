"""`python main.py` as a user runs it: one-line errors, and nothing already on disk lost."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.output_directory import replace_on_success
from tests.conftest import MAIN, REPO


def run_main(env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEPLOYMENT_CONFIG", "CDKTF_OUTDIR")}
    environment.update(env)
    return subprocess.run(
        MAIN,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def good_outdir(tmp_path: Path) -> Path:
    """An output directory as an earlier good synth (and a deploy) left it."""
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "network").mkdir(parents=True)
    (outdir / "manifest.json").write_text('{"stacks": {"network": {}}}')
    (outdir / "stacks" / "network" / "cdk.tf.json").write_text('{"resource": {}}')
    (outdir / "stacks" / "network" / ".terraform.lock.hcl").write_text("# lock")
    return outdir


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("project_id: acme-llm-prod\nname: llm\n", "error: {file}: domains: required key is missing"),
        ("name: [unclosed\n", "error: {file}: line 2: invalid YAML"),
        ("", "error: {file}: the file is empty"),
        (
            "project_id: acme-llm-prod\nname: llm\ndomains: [llm.example.com]\nstate: {backend: local}\n"
            "server: {args: ['--api-key=letmein']}\nregions: [{region: us-central1, machine_type: g2-standard-8, "
            "min_replicas: 1, max_replicas: 2, capacity_scaler: 1.0}]\n",
            "error: {file}: server.args[0]: looks like a credential (--api-key); keep secrets out of the deployment file",
        ),
    ],
    ids=["missing-key", "invalid-yaml", "empty", "secret-in-args"],
)
def test_bad_deployment_file_prints_one_line_and_keeps_output(
    tmp_path: Path, good_outdir: Path, yaml_text: str, expected: str
) -> None:
    config = tmp_path / "deploy.yaml"
    config.write_text(yaml_text)
    before = tree_digest(good_outdir)

    result = run_main({"DEPLOYMENT_CONFIG": str(config), "CDKTF_OUTDIR": str(good_outdir)})

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(expected.format(file=config)), result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(good_outdir) == before


def test_missing_deployment_file(tmp_path: Path, good_outdir: Path) -> None:
    result = run_main({"DEPLOYMENT_CONFIG": str(tmp_path / "absent.yaml"), "CDKTF_OUTDIR": str(good_outdir)})
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'absent.yaml'}: no such file (set DEPLOYMENT_CONFIG to a deployment file)"


def test_bad_environment_variable(good_outdir: Path) -> None:
    result = run_main({"DEPLOYMENT_CONFIG": ""})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: environment: DEPLOYMENT_CONFIG: is empty")


def test_failed_synthesis_leaves_output_untouched(good_outdir: Path) -> None:
    before = tree_digest(good_outdir)
    with pytest.raises(RuntimeError, match="rule broken"), replace_on_success(str(good_outdir)) as staging:
        (Path(staging) / "manifest.json").write_text("{}")
        raise RuntimeError("rule broken half-way")
    assert tree_digest(good_outdir) == before
    assert not (good_outdir.parent / ".cdktf.out.staging").exists()


def test_successful_synthesis_publishes_and_keeps_terraform_files(good_outdir: Path) -> None:
    with replace_on_success(str(good_outdir)) as staging:
        stack = Path(staging) / "stacks" / "region-us-east1"
        stack.mkdir(parents=True)
        (stack / "cdk.tf.json").write_text("{}")
        (Path(staging) / "manifest.json").write_text(json.dumps({"stacks": {"network": {}, "region-us-east1": {}}}))
    assert (good_outdir / "stacks" / "region-us-east1" / "cdk.tf.json").read_text() == "{}"
    assert (good_outdir / "stacks" / "network" / ".terraform.lock.hcl").read_text() == "# lock"
    assert json.loads((good_outdir / "manifest.json").read_text())["stacks"].keys() == {"network", "region-us-east1"}


def test_removed_stack_folder_is_dropped(good_outdir: Path) -> None:
    with replace_on_success(str(good_outdir)) as staging:
        (Path(staging) / "manifest.json").write_text(json.dumps({"stacks": {"global-frontend": {}}}))
    assert not (good_outdir / "stacks" / "network").exists()


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python main.py` on the default deployment with hash seed 1: shared by the two tests below."""
    outdir = tmp_path_factory.mktemp("main") / "seed-1"
    result = run_main({"CDKTF_OUTDIR": str(outdir), "PYTHONHASHSEED": "1"})
    assert result.returncode == 0, result.stderr
    return outdir


def test_main_synthesizes_the_default_deployment(default_run: Path) -> None:
    """The real entry point, end to end: every contract stack, relative paths only."""
    outdir, tmp_path = default_run, default_run.parent
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert set(manifest["stacks"]) == {"network", "region-us-central1", "region-europe-west4", "global-frontend"}
    for stack in manifest["stacks"].values():
        text = (outdir / stack["synthesizedStackPath"]).read_text()
        assert str(REPO) not in text and str(tmp_path) not in text


def test_rule_violation_fails_synth_with_one_line_per_finding_and_keeps_output(good_outdir: Path) -> None:
    """A code change that breaks a GCP rule (here: HTTP balanced by connection) stops the synth."""
    breaking_change = "\n".join(
        (
            "import sys",
            "from constructs_lib import provider_import",
            "provider_import.install()",
            "import constructs_lib.backend_service as backend_service",
            "backend_service.BALANCING_MODE = 'CONNECTION'",
            "import main",
            "sys.exit(main.main())",
        )
    )
    before = tree_digest(good_outdir)
    environment = {k: v for k, v in os.environ.items() if k != "DEPLOYMENT_CONFIG"}
    environment["CDKTF_OUTDIR"] = str(good_outdir)
    result = subprocess.run(
        [sys.executable, "-O", "-c", breaking_change], cwd=REPO, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: config/default.yaml: ") for line in lines), result.stderr
    assert any("google_compute_backend_service.global_backend: [GCP-LB-009" in line for line in lines), result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(good_outdir) == before


def test_unwritable_output_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_main({"CDKTF_OUTDIR": str(blocker / "cdktf.out")})
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {blocker}"), result.stderr
    assert "cannot write the output" in result.stderr and "Traceback" not in result.stderr


def test_separate_runs_write_identical_bytes(default_run: Path, tmp_path: Path) -> None:
    """Determinism across processes, not only within one: different hash seeds, same files."""
    outdir = tmp_path / "seed-2"
    result = run_main({"CDKTF_OUTDIR": str(outdir), "PYTHONHASHSEED": "2"})
    assert result.returncode == 0, result.stderr
    assert tree_digest(default_run) == tree_digest(outdir)
