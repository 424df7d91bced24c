"""What a synth needs from the machine: the pinned Node for jsii, a usable TMPDIR."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from constructs_lib import run_environment
from constructs_lib.config import ConfigError
from tests.test_main import run_main, tree_digest


def test_jsii_runs_on_the_pinned_node_22() -> None:
    environ = {"PATH": "/usr/bin:/bin"}
    run_environment.prepare(environ)
    assert environ["JSII_NODE"] == str(run_environment.PINNED_NODE)
    version = subprocess.run([environ["JSII_NODE"], "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22."), version


def test_an_explicit_jsii_node_is_kept() -> None:
    environ = {"JSII_NODE": "/opt/node/bin/node"}
    run_environment.prepare(environ)
    assert environ["JSII_NODE"] == "/opt/node/bin/node"


def test_no_node_anywhere_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(run_environment, "PINNED_NODE", tmp_path / "absent" / "node")
    with pytest.raises(ConfigError, match=r"^error: environment: node: not found \(run `make install`"):
        run_environment.prepare({"PATH": str(tmp_path)})


def test_missing_tmpdir_is_one_line_and_keeps_the_output(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    outdir.mkdir()
    (outdir / "manifest.json").write_text('{"stacks": {}}')
    before = tree_digest(outdir)
    result = run_main({"CDKTF_OUTDIR": str(outdir), "TMPDIR": str(tmp_path / "gone")})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: environment: TMPDIR: '{tmp_path / 'gone'}' is not a writable directory; create it or unset TMPDIR"
    )
    assert tree_digest(outdir) == before
