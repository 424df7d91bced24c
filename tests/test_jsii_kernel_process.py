"""constructs_lib.jsii_kernel_process: the kernel runs as Python's direct child, and nothing is lost.

Each case runs in a fresh interpreter (the kernel is started once per process).
That the synthesized files are byte-identical with it is `make fast-path-check`'s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

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


START_EARLY = """
    import os, sys
    from constructs_lib import jsii_kernel_process, provider_import
    provider_import.install()
    started = provider_import.start_kernel()
    early = jsii_kernel_process._early.kernel.pid if started else None
    print("early", started, "jsii" in sys.modules, flush=True)
"""


def test_an_early_kernel_is_the_one_jsii_uses_and_its_loads_are_not_repeated(tmp_path: Path) -> None:
    """jsii's own load requests all matched a preload exactly (name, version, tarball path), so none reached the kernel."""
    code = (
        START_EARLY
        + """
    import jsii
    import jsii._kernel.providers.process as process
    sent = []
    send = process._NodeProcess.send
    def counting(self, request, response_type):
        sent.append(type(request).__name__)
        return send(self, request, response_type)
    process._NodeProcess.send = counting
    import cdktf_cdktf_provider_google.compute_network
    from constructs_lib.toolkit import App
    App(outdir=os.environ["TMPDIR"] + "/out")  # one request after the loads: their answers are read first
    kernel = jsii.kernel.provider._process
    print("adopted", early == kernel._process.pid, kernel._unanswered, sorted(kernel._preloaded), sent.count("LoadRequest"))
    """
    )
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith(("early", "adopted"))]
    assert lines == [["early", "True", "False"], ["adopted", "True", "0", "[]", "0"]]


@pytest.mark.parametrize("cache", ["user-cache", "no-cache"])
def test_an_early_kernel_nobody_used_is_stopped_at_exit(tmp_path: Path, cache: str) -> None:
    """The exit handler reaps it and removes its runtime directory (checked before Python's own exit could),
    a temporary one only where the per-user cache cannot hold the kernel's files."""
    code = "\n    from constructs_lib import jsii_kernel_process"
    if cache == "no-cache":
        code += "\n    jsii_kernel_process.cached_runtime = lambda: None"
    code += START_EARLY + textwrap.indent(
        textwrap.dedent(
            """
            import atexit
            temporary = jsii_kernel_process._early.runtime
            atexit._run_exitfuncs()
            try:
                os.waitpid(early, os.WNOHANG)
                reaped = False
            except ChildProcessError:
                reaped = True
            left = temporary is not None and os.path.exists(temporary.name)
            print("stopped", reaped, temporary is not None, left, flush=True)
            os._exit(0)
            """
        ),
        "    ",
    )
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    stopped = next(line.split() for line in result.stdout.splitlines() if line.startswith("stopped"))
    assert stopped == ["stopped", "True", str(cache == "no-cache"), "False"]


BROKEN_PRELOAD = """
    from constructs_lib import jsii_kernel_process, provider_import
    found = jsii_kernel_process.assembly_of
    def broken(package):
        assembly = found(package)
        if package == {package!r}:
            return jsii_kernel_process.Assembly(assembly.name, assembly.version, "/nonexistent/bad.tgz")
        return assembly
    jsii_kernel_process.assembly_of = broken
"""


@pytest.mark.parametrize(
    "package",
    [
        pytest.param("constructs", id="first-load-differs-from-jsiis"),
        pytest.param("cdktf", id="after-a-load-jsii-skipped"),
    ],
)
def test_a_failed_early_load_fails_the_next_request_and_every_one_after(tmp_path: Path, package: str) -> None:
    code = (
        """
    import os
    from constructs_lib import provider_import
    provider_import.install()
    """
        + BROKEN_PRELOAD.format(package=package)
        + """
    print(provider_import.start_kernel())
    for attempt in ("import", "next request"):
        try:
            import cdktf
            import jsii
            jsii.kernel.stats()
        except Exception as error:
            print(type(error).__name__, "/nonexistent/bad.tgz" in str(error))
    """
    )
    result = run(textwrap.dedent(code), tmp_path, say=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "RuntimeError", "True", "RuntimeError", "True"]


def test_no_early_kernel_where_it_does_not_apply(tmp_path: Path) -> None:
    code = """
        import os
        from constructs_lib import jsii_kernel_process, provider_import
        provider_import.install()
        for name, value in (("LLM_FAST_PROVIDER_IMPORT", "0"), ("LLM_FAST_PROVIDER_IMPORT", "python"), ("JSII_RUNTIME", "/x.js")):
            os.environ[name] = value
            print(provider_import.start_kernel(), jsii_kernel_process._early is None)
            del os.environ[name]
        import jsii
        print(provider_import.start_kernel(), jsii_kernel_process._early is None)  # jsii is imported: too late
    """
    result = run(code, tmp_path, say=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"] * 4


def test_calls_that_return_nothing_do_not_wait_and_their_failure_stops_the_next_request(tmp_path: Path) -> None:
    """overrideLogicalId is written and not waited for; its answer is read before the next one, and a
    failure (cdktf refuses a new logical id once the resource's address was used) fails every later call."""
    code = """
        import os
        from constructs_lib import provider_import
        provider_import.install()
        provider_import.start_kernel()
        import jsii
        from constructs_lib.toolkit import App, TerraformStack
        from constructs_lib.toolkit.google import ComputeNetwork
        stack = TerraformStack(App(outdir=os.environ["TMPDIR"] + "/out"), "stack")
        network = ComputeNetwork(stack, "network", name="vpc")
        kernel = jsii.kernel.provider._process
        network.override_logical_id("vpc")
        print("deferred", kernel._unanswered)
        network.fqn  # the resource's address, as a reference to it asks for it
        print("address", kernel._unanswered)
        network.override_logical_id("too-late")
        for attempt in ("next call", "one after"):
            try:
                network.friendly_unique_id
            except Exception as error:
                print(type(error).__name__, "may not be overridden" in str(error))
    """
    result = run(code, tmp_path, say=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "deferred", "1", "address", "0", "RuntimeError", "True", "RuntimeError", "True"
    ]


def test_the_kernels_files_are_written_once_into_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a temporary directory per run, which a run a signal ends (no exit handlers) left in TMPDIR."""
    import jsii

    from constructs_lib import jsii_kernel_process

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    program = jsii_kernel_process.cached_runtime()
    assert program is not None and program.startswith(str(tmp_path / "cache"))
    embedded = Path(jsii.__file__).parent / "_embedded" / "jsii"
    assert Path(program).read_bytes() == (embedded / "lib__program.js").read_bytes()
    assert (Path(program).parent / "runtime-index-worker.js").is_file()  # the indexer's worker, next to it
    written = Path(program).stat().st_mtime_ns
    assert jsii_kernel_process.cached_runtime() == program
    assert Path(program).stat().st_mtime_ns == written
    builds = Path(program).parents[2]
    assert [path.name for path in builds.iterdir()] == [Path(program).parents[1].name]  # nothing partial left

    for damage in (lambda: Path(program).write_bytes(b""), lambda: Path(program).unlink()):
        damage()  # a crash before the files reached the disk, a cleaner
        assert jsii_kernel_process.cached_runtime() == program
        assert Path(program).read_bytes() == (embedded / "lib__program.js").read_bytes()
        assert [path.name for path in builds.iterdir()] == [Path(program).parents[1].name]


def test_without_a_writable_cache_the_kernels_files_have_no_cached_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from constructs_lib import jsii_kernel_process

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert jsii_kernel_process.cached_runtime() is None
