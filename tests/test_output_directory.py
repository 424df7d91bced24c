"""Publishing a synth: one atomic swap under a lock, nothing removed that no earlier synth wrote."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from constructs_lib.jsii_kernel_process import cached_runtime
from constructs_lib.output_directory import OutputDirectoryError, replace_on_success
from tests.conftest import MAIN, REPO
from tests.test_main import run_main, tree_digest


def write_synth(root: Path, stacks: dict[str, str]) -> None:
    """What a synth writes: the manifest and one cdk.tf.json per stack (content tags the synth)."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"version": "0.21.0", "stacks": {}}
    for name, content in stacks.items():
        (root / "stacks" / name).mkdir(parents=True, exist_ok=True)
        (root / "stacks" / name / "cdk.tf.json").write_text(content)
        manifest["stacks"][name] = {"synthesizedStackPath": f"stacks/{name}/cdk.tf.json"}
    (root / "manifest.json").write_text(json.dumps(manifest))


def assert_one_complete_synth(outdir: Path) -> dict[str, str]:
    """The manifest and the stack folders agree, and every listed stack has its JSON."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    listed = set(manifest["stacks"])
    folders = {path.name for path in (outdir / "stacks").iterdir()}
    assert folders == listed, (folders, listed)
    return {name: (outdir / "stacks" / name / "cdk.tf.json").read_text() for name in sorted(listed)}


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    outdir = tmp_path / "cdktf.out"
    write_synth(outdir, {"network": "old", "region-a": "old"})
    (outdir / "stacks" / "region-a" / ".terraform").mkdir()
    (outdir / "stacks" / "region-a" / ".terraform" / "providers").write_text("plugins")
    (outdir / "stacks" / "network" / ".terraform.lock.hcl").write_text("# lock")
    return outdir


def test_terraform_files_follow_their_stack_and_go_with_it(earlier: Path) -> None:
    with replace_on_success(str(earlier)) as staging:
        write_synth(Path(staging), {"network": "new", "region-b": "new"})
    assert assert_one_complete_synth(earlier) == {"network": "new", "region-b": "new"}
    assert (earlier / "stacks" / "network" / ".terraform.lock.hcl").read_text() == "# lock"
    assert not (earlier / "stacks" / "region-a").exists()
    assert not (earlier.parent / ".cdktf.out.staging").exists()


def test_under_the_cdktf_cli_a_removed_stack_folder_is_left_for_the_cli(earlier: Path) -> None:
    """cdktf synth removes the folders it listed before the app ran, and fails if one is gone."""
    with replace_on_success(str(earlier), keep_removed_stacks=True) as staging:
        write_synth(Path(staging), {"network": "new"})
    assert (earlier / "stacks" / "region-a" / ".terraform" / "providers").read_text() == "plugins"
    assert json.loads((earlier / "manifest.json").read_text())["stacks"].keys() == {"network"}


def test_folders_no_manifest_listed_are_kept(earlier: Path) -> None:
    (earlier / "stacks" / "notes").mkdir()
    (earlier / "stacks" / "notes" / "todo.txt").write_text("mine")
    (earlier / "README.txt").write_text("mine too")
    with replace_on_success(str(earlier)) as staging:
        write_synth(Path(staging), {"network": "new"})
    assert (earlier / "stacks" / "notes" / "todo.txt").read_text() == "mine"
    assert (earlier / "README.txt").read_text() == "mine too"


def test_a_folder_that_is_not_an_earlier_synth_is_refused_untouched(tmp_path: Path) -> None:
    """CDKTF_OUTDIR=. in this repository: its stacks/ package must survive."""
    project = tmp_path / "project"
    (project / "stacks" / "__pycache__").mkdir(parents=True)
    (project / "stacks" / "app.py").write_text("code")
    (project / "stacks" / "__pycache__" / "app.pyc").write_text("bytecode")
    before = tree_digest(project)
    with (
        pytest.raises(OutputDirectoryError, match="is not empty and holds no earlier synth"),
        replace_on_success(str(project)) as staging,
    ):
        write_synth(Path(staging), {"network": "new"})
    assert tree_digest(project) == before


def test_main_refuses_the_project_folder_as_output(tmp_path: Path) -> None:
    before = tree_digest(REPO / "stacks")
    result = run_main({"CDKTF_OUTDIR": "."})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: .: is not empty and holds no earlier synth"), result.stderr
    assert tree_digest(REPO / "stacks") == before


def test_an_output_directory_it_may_not_replace_is_refused_before_the_cdk_loads() -> None:
    """The refusal comes first: with a toolkit this venv lacks, loading the CDK would fail instead."""
    result = run_main({"CDKTF_OUTDIR": ".", "LLM_CDK_TOOLKIT": "cdktn"})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: .: is not empty and holds no earlier synth"), result.stderr


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_other_kinds_of_output_path_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "out"
    if kind == "file":
        path.write_text("x")
    else:
        (tmp_path / "real").mkdir()
        path.symlink_to(tmp_path / "real")
    with pytest.raises(OutputDirectoryError) as caught, replace_on_success(str(path)):
        pass
    assert "\n" not in str(caught.value)


def test_a_failed_write_leaves_the_earlier_synth(earlier: Path) -> None:
    before = tree_digest(earlier)
    with pytest.raises(OSError), replace_on_success(str(earlier)) as staging:
        write_synth(Path(staging), {"network": "half"})
        raise OSError(errno.ENOSPC, "No space left on device")
    assert tree_digest(earlier) == before
    assert not (earlier.parent / ".cdktf.out.staging").exists()


def test_a_second_synth_waits_then_stops_with_one_line(earlier: Path) -> None:
    lock = os.open(earlier.parent / ".cdktf.out.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with (
            pytest.raises(OutputDirectoryError, match="another synth has been writing it"),
            replace_on_success(str(earlier), lock_wait_seconds=0.3),
        ):
            pass
    finally:
        os.close(lock)
    with replace_on_success(str(earlier)) as staging:  # free again
        write_synth(Path(staging), {"network": "new"})
    assert assert_one_complete_synth(earlier) == {"network": "new"}


KILLER = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from constructs_lib import output_directory
from tests.test_output_directory import write_synth
moment = sys.argv[2]
exchange, carry = output_directory._exchange, output_directory._carry_over
def exchange_then_die(first, second):
    if moment == "before-swap":
        os.kill(os.getpid(), signal.SIGKILL)
    result = exchange(first, second)
    if moment == "after-swap":
        os.kill(os.getpid(), signal.SIGKILL)
    return result
def carry_then_die(*args):
    carry(*args)
    if moment == "while-carrying":
        os.kill(os.getpid(), signal.SIGKILL)
output_directory._exchange = exchange_then_die
output_directory._carry_over = carry_then_die
with output_directory.replace_on_success(sys.argv[1]) as staging:
    write_synth(Path(staging), {{"network": "new", "region-b": "new"}})
"""


@pytest.mark.parametrize("moment", ["while-carrying", "before-swap", "after-swap"])
def test_sigkill_during_publish_leaves_one_complete_synth(earlier: Path, moment: str) -> None:
    script = KILLER.format(repo=str(REPO))
    result = subprocess.run([sys.executable, "-c", script, str(earlier), moment], cwd=REPO, timeout=60)
    assert result.returncode == -signal.SIGKILL
    stacks = assert_one_complete_synth(earlier)
    expected_new = moment == "after-swap"
    assert stacks == ({"network": "new", "region-b": "new"} if expected_new else {"network": "old", "region-a": "old"})
    # The next synth cleans up what the killed one left beside the output directory.
    with replace_on_success(str(earlier)) as staging:
        write_synth(Path(staging), {"network": "next"})
    assert assert_one_complete_synth(earlier) == {"network": "next"}
    assert sorted(path.name for path in earlier.parent.iterdir()) == [".cdktf.out.lock", "cdktf.out"]


def test_two_synths_racing_into_one_directory_publish_one_after_the_other(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    environment = {k: v for k, v in os.environ.items() if k not in ("DEPLOYMENT_CONFIG", "CDKTF_OUTDIR")}
    configs = ["config/default.yaml", "config/examples/three-regions.yaml"]
    processes = [
        subprocess.Popen(
            MAIN,
            cwd=REPO,
            env={**environment, "DEPLOYMENT_CONFIG": config, "CDKTF_OUTDIR": str(outdir)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in configs
    ]
    results = [(process.wait(timeout=300), process.stderr.read()) for process in processes]
    assert [code for code, _ in results] == [0, 0], results
    stacks = assert_one_complete_synth(outdir)
    default = {"global-frontend", "network", "region-europe-west4", "region-us-central1"}
    three = {"global-frontend", "network", "region-asia-southeast1", "region-europe-west4", "region-us-east4"}
    assert set(stacks) in (default, three)
    backends = json.loads(stacks["global-frontend"])["resource"]["google_compute_backend_service"]
    groups = {backend["group"] for service in backends.values() for backend in service["backend"]}
    assert len(groups) == len(set(stacks)) - 2  # the global backend serves exactly this synth's regions


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "none", str(mount)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_one_line_and_keeps_the_earlier_synth(tiny_filesystem: Path) -> None:
    outdir = tiny_filesystem / "cdktf.out"
    write_synth(outdir, {"network": "old"})
    before = tree_digest(outdir)
    result = run_main({"CDKTF_OUTDIR": str(outdir)})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and ("No space left on device" in lines[0] or "ENOSPC" in lines[0]), result.stderr
    assert tree_digest(outdir) == before
    assert sorted(path.name for path in tiny_filesystem.iterdir()) == [".cdktf.out.lock", "cdktf.out"]


def test_an_output_directory_that_is_a_mount_point_is_refused(tiny_filesystem: Path) -> None:
    with pytest.raises(OutputDirectoryError, match="is a mount point"), replace_on_success(str(tiny_filesystem)):
        pass


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_mid_synth_is_one_line_and_keeps_the_earlier_synth(
    earlier: Path, signum: signal.Signals, status: int
) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEPLOYMENT_CONFIG", "CDKTF_OUTDIR")}
    scratch = earlier.parent / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        MAIN,
        cwd=REPO,
        env={**environment, "CDKTF_OUTDIR": str(earlier), "TMPDIR": str(scratch)},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # like a terminal's Ctrl-C: the whole process group gets it
    )
    before = tree_digest(earlier)
    staging = earlier.parent / ".cdktf.out.staging"
    deadline = time.monotonic() + 120
    while not staging.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signum)
    code = process.wait(timeout=60)
    stderr = process.stderr.read()
    assert code == status, stderr
    assert stderr.strip().splitlines() == [f"error: interrupted ({signum.name}); {earlier} holds the last complete synth"], stderr
    assert tree_digest(earlier) == before
    assert not staging.exists()
    if cached_runtime() is not None:  # else they are in a temporary directory, which the signal leaves
        # Only the kernel's own directory (node stops at the signal, before removing it): no runtime files of ours.
        assert not [path for path in scratch.iterdir() if not path.name.startswith("jsii-kernel-")]
