"""constructs_lib.jsii_kernel_process: the kernel runs as Python's direct child, and nothing is lost.

Each case runs in a fresh interpreter (the kernel is started once per process).
That the synthesized files are byte-identical with it is tests/test_provider_import.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

START_KERNEL = """
    import os, sys
    from constructs_lib import jsii_kernel_process, provider_import
    provider_import.install()
    import jsii
    import cdktf  # loads an assembly: starts the kernel
    kernel = jsii.kernel.provider._process
    pid = kernel._process.pid
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        script = os.path.basename(cmdline.read().split(b"\\0")[-2].decode())
    print(jsii_kernel_process.is_installed(), type(kernel).__name__, pid, script, flush=True)
"""


def run(code: str, tmp_path: Path, *, say: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter whose node loads ``say.js`` (a line on its stdout and stderr).

    Not on the plain path: jsii's relay would load it too, into the channel it answers on."""
    environ = {k: v for k, v in os.environ.items() if k not in ("LLM_FAST_PROVIDER_IMPORT", "NODE_OPTIONS")}
    if say:
        script = tmp_path / "say.js"
        script.write_text("console.log('kernel stdout line'); console.error('kernel stderr line');\n")
        environ["NODE_OPTIONS"] = f"--require {script}"
    environ.update(TMPDIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def reported(result: subprocess.CompletedProcess[str]) -> list[str]:
    """START_KERNEL's line: installed, the process class, the pid of Python's node child and the script it runs."""
    return next(line.split() for line in result.stdout.splitlines() if line.startswith(("True ", "False ")))


def gone(pid: int) -> bool:
    """The process ``pid`` has exited (or is a zombie of a parent that has exited)."""
    for _ in range(100):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_the_kernel_is_a_direct_child_and_its_output_reaches_ours(tmp_path: Path) -> None:
    result = run(START_KERNEL, tmp_path)
    assert result.returncode == 0, result.stderr
    installed, kind, kernel_pid, script = reported(result)
    assert (installed, kind, script) == ("True", "DirectNodeProcess", "program.js")
    assert "kernel stdout line" in result.stdout.splitlines()
    assert result.stderr.splitlines() == ["kernel stderr line"]
    assert gone(int(kernel_pid))
    assert not [p for p in tmp_path.iterdir() if p.name != "say.js"], "jsii's temporary directory was left behind"


def test_the_kernel_exits_when_python_dies_without_stopping_it(tmp_path: Path) -> None:
    result = run(START_KERNEL + "    os._exit(0)\n", tmp_path)
    assert result.returncode == 0, result.stderr
    kernel_pid = int(reported(result)[2])
    assert gone(kernel_pid), "the kernel outlived Python"


def test_the_plain_path_keeps_jsiis_relay(tmp_path: Path) -> None:
    result = run(START_KERNEL, tmp_path, say=False, LLM_FAST_PROVIDER_IMPORT="0")
    assert result.returncode == 0, result.stderr
    installed, kind, _, script = reported(result)
    assert (installed, kind, script) == ("False", "_NodeProcess", "jsii-runtime.js")


def test_another_jsii_runtime_is_left_to_jsii(tmp_path: Path) -> None:
    code = """
        import os
        os.environ["JSII_RUNTIME"] = "/nonexistent/jsii-runtime.js"
        from constructs_lib import jsii_kernel_process
        print(jsii_kernel_process.install(), jsii_kernel_process.is_installed())
    """
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
