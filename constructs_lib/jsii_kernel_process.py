"""Talk to the jsii kernel directly, without jsii's relay process in between.

Python's jsii starts ``node jsii-runtime.js``, a relay: it spawns the kernel
(``node lib/program.js``) as a second node process, pipes every request from
its stdin to the kernel's file descriptor 3 and every answer back to its
stdout, and wraps the kernel's own stdout/stderr into JSON lines on its stderr,
which a thread in Python decodes.  A synth makes one round trip per jsii call
(~80 per region), so each call crossed two processes and four pipe hops, and
the relay cost a node start-up of its own.

:func:`install` replaces jsii's ``_NodeProcess`` with one that starts
``lib/program.js`` itself (the same file, from the same jsii wheel, with the
relay's node flags) with one end of a socket pair as its file descriptor 3,
exactly what the relay gives it.  Requests and answers are the same bytes;
the kernel's stdout and stderr are copied to Python's as they arrive, and
:meth:`stop` (registered with ``atexit``, as jsii's) asks the kernel to exit,
waits for it and drains both streams, so no kernel output is lost.  When
Python dies first, the kernel reads end-of-file on descriptor 3 and exits, as
it did when the relay closed that descriptor.

Installed by :func:`constructs_lib.provider_import.install` (same switch and
version pin as the rest of the fast path; ``LLM_FAST_PROVIDER_IMPORT=0`` keeps
jsii's relay).  Not installed when ``JSII_RUNTIME`` names another runtime, or
on a platform without ``os.posix_spawnp``.  The output is byte-identical
(`make fast-path-check`, the snapshot tests).

:func:`start_early` goes one step further for an entry point that knows it is
about to synthesize: it spawns the kernel *before* jsii is imported and queues
the ``load`` requests of the assemblies the app needs (read from each package's
``_jsii/__init__.py``, the same name, version and tarball path jsii would send).
Node then starts and loads them on the second core while Python imports the
bindings (~0.3 s of each, which ran one after the other).  When jsii starts its
kernel, it gets that one; its ``load`` requests for those assemblies return at
once, and their answers, already on the channel in request order, are read and
checked before the answer to the next request.

The kernel's files (``lib/program.js`` and its neighbours, embedded in the jsii
wheel) are written once per jsii build into the per-user cache
(:func:`cached_runtime`) instead of a temporary directory per run, which a run
that a signal ends (it skips the ``atexit`` handlers, ``fast_exit``) left behind
in ``TMPDIR``.  Without a writable cache they go to a temporary directory, as
jsii's own do.

The same deferral serves the calls whose answer Python never needs
(``DEFERRED_METHODS``: ``overrideLogicalId`` and ``addOverride``, ~21 of a
region's ~73 calls): they are written and not waited for, so Python builds the
next resource while the kernel applies them.  Their answers are read in order
before the next one; an error answer (cdktf refuses a new logical id once the
resource's address was used) is raised there, and by every later call, as the
channel is then out of step.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from constructs_lib.user_cache import cache_root

#: Set on the replacement class, so :func:`install` is idempotent and tests can tell it is in place.
MARKER = "__llm_direct_kernel__"

#: File descriptors handed to the child are first moved at or above this one, so that no
#: ``dup2`` in the spawn can overwrite a source still to be copied.
_HIGH_FD = 10


def _high(fd: int) -> int:
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)


def _copy(source: IO[bytes], stream_name: str) -> None:
    """Copy a kernel output stream to Python's own (looked up per chunk: tests swap them)."""
    for chunk in iter(lambda: source.read(65536), b""):
        stream = getattr(sys, stream_name, None)
        try:
            if stream is not None:
                stream.buffer.write(chunk)
                stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


class _Kernel:
    """The spawned kernel: its pid, and jsii's ``stdin``/``stdout`` names for the socket."""

    def __init__(self, pid: int, channel: socket.socket, outputs: list[tuple[IO[bytes], threading.Thread]]) -> None:
        # jsii's send() and handshake() use ``self._process.stdin`` / ``.stdout`` (a Popen's, for jsii).
        self.pid = pid
        self.channel = channel
        self.stdin = channel.makefile("wb")
        self.stdout = channel.makefile("rb")
        self.outputs = outputs
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while self.poll() is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        return True


def _spawn(program: str) -> _Kernel:
    """Start ``node <program>`` with one end of a socket pair as its descriptor 3, as jsii's relay does."""
    environ = os.environ.copy()
    environ["JSII_AGENT"] = f"Python/{platform.python_version()}"
    node = environ.get("JSII_NODE", "node")
    ours, theirs = socket.socketpair()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    moved = [_high(fd) for fd in (theirs.fileno(), out_write, err_write)]
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, moved[1], 1),
        (os.POSIX_SPAWN_DUP2, moved[2], 2),
        (os.POSIX_SPAWN_DUP2, moved[0], 3),
    ]
    try:
        pid = os.posix_spawnp(
            node,
            [node, "--max-old-space-size=4069", "--preserve-symlinks", program],
            environ,
            file_actions=actions,
        )
    except OSError:
        for fd in (out_read, err_read):
            os.close(fd)
        ours.close()
        raise
    finally:
        for fd in (*moved, out_write, err_write):
            os.close(fd)
        theirs.close()
    outputs: list[tuple[IO[bytes], threading.Thread]] = []
    for fd, name in ((out_read, "stdout"), (err_read, "stderr")):
        reader = os.fdopen(fd, "rb", buffering=0)
        thread = threading.Thread(name=f"jsii-kernel-{name}", target=_copy, args=(reader, name), daemon=True)
        thread.start()
        outputs.append((reader, thread))
    return _Kernel(pid, ours, outputs)


def _stop(kernel: _Kernel) -> None:
    """Ask the kernel to exit, wait for it, and drain its stdout and stderr into ours."""
    if not kernel.stdin.closed:
        with contextlib.suppress(OSError):
            kernel.stdin.write(b'{"exit":0}\n')
            kernel.stdin.flush()
        with contextlib.suppress(OSError):
            kernel.stdin.close()
        with contextlib.suppress(OSError):
            kernel.channel.shutdown(socket.SHUT_WR)
    if not kernel.wait(timeout=5):
        with contextlib.suppress(ProcessLookupError):
            os.kill(kernel.pid, 15)
        kernel.wait(timeout=5)
    for reader, thread in kernel.outputs:
        thread.join(timeout=5)
        if not thread.is_alive():
            reader.close()
    kernel.stdout.close()
    kernel.channel.close()


@dataclass(frozen=True)
class Assembly:
    """One jsii ``load`` request: what a package's ``_jsii/__init__.py`` asks the kernel to load."""

    name: str
    version: str
    tarball: str


def assembly_of(package: str) -> Assembly | None:
    """The assembly ``<package>._jsii`` loads, read from its source without importing it (None: not found).

    jsii-pacmak writes ``jsii.JSIIAssembly.load("<name>", "<version>", __name__[0:-6], "<file>.jsii.tgz")``;
    jsii sends the tarball's path next to that file."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = os.path.join(next(iter(spec.submodule_search_locations)), "_jsii")
    try:
        with open(os.path.join(directory, "__init__.py"), encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "JSIIAssembly"
            and len(node.args) == 4
        ):
            name, version, _module, filename = node.args
            texts = [
                arg.value
                for arg in (name, version, filename)
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
            if len(texts) == 3:
                return Assembly(str(texts[0]), str(texts[1]), os.path.join(directory, str(texts[2])))
    return None


def _embedded_runtime_dir() -> str:
    """The directory of jsii's embedded runtime files, found without importing jsii (what the early start overlaps)."""
    spec = importlib.util.find_spec("jsii")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("the jsii package is not installed")
    return os.path.join(next(iter(spec.submodule_search_locations)), "_embedded", "jsii")


def _runtime_files(embedded: str) -> dict[str, str]:
    """Each embedded file's path, and its path in a runtime directory (``EMBEDDED_FILES`` of jsii's ``__init__.py``)."""
    with open(os.path.join(embedded, "__init__.py"), encoding="utf-8") as source:
        tree = ast.parse(source.read())
    files = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "EMBEDDED_FILES" for t in node.targets)
    )
    return {os.path.join(embedded, resource): filename.replace("/", os.sep) for resource, filename in files.items()}


def _write_runtime(directory: str, files: dict[str, str]) -> str:
    """jsii's embedded runtime ``files`` (:func:`_runtime_files`), laid out as ``_NodeProcess._jsii_runtime``
    does; the kernel's path."""
    for packed_path, filename in files.items():
        target = os.path.join(directory, filename)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(packed_path, "rb") as packed, open(target, "wb") as unpacked:
            unpacked.write(packed.read())
    return os.path.join(directory, "lib", "program.js")


#: The directory under :func:`constructs_lib.user_cache.cache_root` where :func:`cached_runtime` keeps the kernel's files.
RUNTIME_CACHE_DIR = "jsii-runtime"


def cached_runtime() -> str | None:
    """The kernel's ``lib/program.js`` in the per-user cache, written there on first use (None: not possible).

    One directory per jsii build (its path, and the size and time of its embedded
    ``lib/program.js``), published whole by a rename, so two runs at once never start a kernel
    from half-written files. A directory whose files differ in size from jsii's
    (a crash before they reached the disk, a cleaner) is replaced."""
    try:
        embedded = _embedded_runtime_dir()
        files = _runtime_files(embedded)
        stats = {filename: os.stat(packed) for packed, filename in files.items()}
        sizes = {filename: stat.st_size for filename, stat in stats.items()}
        program_stat = stats[os.path.join("lib", "program.js")]
        build = f"{os.path.realpath(embedded)}\0{program_stat.st_size}\0{program_stat.st_mtime_ns}"
        directory = os.path.join(cache_root(), RUNTIME_CACHE_DIR, hashlib.sha256(os.fsencode(build)).hexdigest()[:16])
        if _holds(directory, sizes):
            return os.path.join(directory, "lib", "program.js")
        os.makedirs(os.path.dirname(directory), mode=0o700, exist_ok=True)
        staging = tempfile.mkdtemp(dir=os.path.dirname(directory), suffix=".partial")
        try:
            _write_runtime(staging, files)
            if os.path.isdir(directory) and not _holds(directory, sizes):
                stale = f"{staging}.stale"
                os.rename(directory, stale)  # out of the way in one step, then removed
                shutil.rmtree(stale, ignore_errors=True)
            os.rename(staging, directory)  # fails if another run published it first: that one is used
        except OSError:
            pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return os.path.join(directory, "lib", "program.js") if _holds(directory, sizes) else None
    except Exception:  # noqa: BLE001 - a temporary directory serves instead
        return None


def _holds(directory: str, sizes: dict[str, int]) -> bool:
    """``directory`` has every runtime file, each of the embedded one's size."""
    try:
        return all(os.stat(os.path.join(directory, name)).st_size == size for name, size in sizes.items())
    except OSError:
        return False


@dataclass
class _EarlyKernel:
    kernel: _Kernel
    runtime: tempfile.TemporaryDirectory[str] | None
    """The kernel's files, when they could not go to the per-user cache."""
    assemblies: tuple[Assembly, ...]


_early: _EarlyKernel | None = None


def start_early(packages: Sequence[str]) -> bool:
    """Spawn the kernel now and queue the loads of ``packages``' assemblies, in this order (module docstring).

    False, and nothing started, where the direct kernel does not apply, when jsii is already
    imported, or when anything is missing: jsii then starts its kernel as it always does."""
    global _early
    if _early is not None or "jsii" in sys.modules or "JSII_RUNTIME" in os.environ or not hasattr(os, "posix_spawnp"):
        return False
    assemblies = tuple(assembly for package in packages if (assembly := assembly_of(package)) is not None)
    if len(assemblies) != len(packages):
        return False
    program, runtime = cached_runtime(), None
    try:
        if program is None:
            runtime = tempfile.TemporaryDirectory()
            program = _write_runtime(runtime.name, _runtime_files(_embedded_runtime_dir()))
        kernel = _spawn(program)
    except Exception:  # noqa: BLE001 - an optimisation: jsii starts its kernel as always
        if runtime is not None:
            runtime.cleanup()
        return False
    requests = b"".join(
        json.dumps({"api": "load", "name": a.name, "version": a.version, "tarball": a.tarball}).encode() + b"\n"
        for a in assemblies
    )
    with contextlib.suppress(OSError):  # a kernel that died at once fails jsii's handshake, as before
        kernel.stdin.write(requests)
        kernel.stdin.flush()
    _early = _EarlyKernel(kernel, runtime, assemblies)
    atexit.register(_stop_unadopted)
    return True


def _adopt() -> _EarlyKernel | None:
    global _early
    early, _early = _early, None
    if early is not None:
        atexit.unregister(_stop_unadopted)
    return early


def _stop_unadopted() -> None:
    """An early kernel jsii never asked for (the run failed before it) is stopped like jsii's."""
    early = _adopt()
    if early is not None:
        _stop(early.kernel)
        if early.runtime is not None:
            early.runtime.cleanup()


def _failure(answer: dict[str, Any]) -> Exception:
    """jsii's exception for a kernel's error answer (``_NodeProcess.send``'s mapping)."""
    from jsii.errors import ErrorType, JavaScriptError, JSIIError

    kind = JSIIError if answer.get("name") == ErrorType.JSII_FAULT.value else RuntimeError
    error = kind(answer["error"])
    error.__cause__ = JavaScriptError(answer.get("stack", ""))  # type: ignore[no-untyped-call]
    return error


#: Methods whose answer Python never needs (cdktf 0.21's ``TerraformElement.overrideLogicalId`` and
#: ``addOverride``): they return nothing, call nothing back, and fail only on a programming mistake (a new
#: logical id after the resource's address was used).
DEFERRED_METHODS = frozenset({"overrideLogicalId", "addOverride"})


def _replacement(process_module: Any) -> type:
    base = process_module._NodeProcess
    from jsii._kernel.types import InvokeRequest, InvokeResponse, LoadRequest
    from jsii.errors import JSIIError

    class DirectNodeProcess(base):  # type: ignore[misc, valid-type]
        """jsii's ``_NodeProcess`` with the kernel as its direct child (module docstring)."""

        _preloaded: frozenset[Assembly] = frozenset()
        _unanswered = 0
        _failed: Exception | None = None
        """A deferred answer's error: every request from then on raises it (the channel is out of step)."""

        def start(self) -> None:
            early = _adopt()
            if early is None:
                program = cached_runtime() or os.path.join(
                    os.path.dirname(os.path.dirname(self._jsii_runtime())), "lib", "program.js"
                )
                self._process = _spawn(program)
            else:
                if early.runtime is not None:
                    self._ctx_stack.enter_context(early.runtime)
                self._process = early.kernel
            atexit.register(self.stop)
            self.handshake()
            if early is not None:  # the loads' answers follow the handshake, in order
                self._preloaded = frozenset(early.assemblies)
                self._unanswered = len(early.assemblies)

        def send(self, request: Any, response_type: Any) -> Any:
            if self._failed is not None:
                raise self._failed
            if isinstance(request, LoadRequest):
                queued = Assembly(request.name, request.version, request.tarball)
                if queued in self._preloaded:
                    self._preloaded -= {queued}
                    return None  # jsii's Kernel.load returns nothing; the answer is checked below
            if isinstance(request, InvokeRequest) and request.method in DEFERRED_METHODS:
                return self._send_without_waiting(request)
            return super().send(request, response_type)

        def _send_without_waiting(self, request: Any) -> Any:
            """Write ``request`` as jsii's ``send`` does and return at once; its answer is checked before the next one."""
            data = dict(self._serializer.unstructure(request))
            trace = process_module.capture_stack_trace() if process_module._stack_traces_enabled() else None
            if trace:
                data["$jsii.stacktrace"] = trace
            self._process.stdin.write(json.dumps(data, default=process_module.jdefault).encode() + b"\n")
            self._process.stdin.flush()
            self._unanswered += 1
            return InvokeResponse(result=None)

        def _next_message(self) -> Any:
            while self._unanswered:
                self._unanswered -= 1
                answer = super()._next_message()
                if "ok" not in answer and self._failed is None:
                    self._failed = _failure(answer) if "error" in answer else JSIIError(f"unexpected answer {answer!r}")
            if self._failed is not None:
                raise self._failed
            return super()._next_message()

        def stop(self) -> None:
            atexit.unregister(self.stop)
            _stop(self._process)
            self._ctx_stack.close()

    setattr(DirectNodeProcess, MARKER, True)
    return DirectNodeProcess


def is_installed() -> bool:
    from jsii._kernel.providers import process

    return getattr(process._NodeProcess, MARKER, False) is True


def install() -> bool:
    """Replace jsii's kernel process now (idempotent); False where it does not apply (module docstring)."""
    if "JSII_RUNTIME" in os.environ or not hasattr(os, "posix_spawnp"):
        return False
    import jsii
    from jsii._kernel.providers import process

    if not str(getattr(jsii, "__version__", "")).startswith("1."):
        return False
    base = getattr(process, "_NodeProcess", None)
    names = ("_jsii_runtime", "_next_message", "handshake", "send", "stop")
    if base is None or not all(hasattr(base, name) for name in names):
        return False
    if not is_installed():
        try:
            process._NodeProcess = _replacement(process)  # type: ignore[misc, assignment]
        except ImportError:
            return False
    return True


class _InstallBeforeTheKernelStarts:
    """A ``sys.meta_path`` entry that finds nothing: on the first import of a jsii
    assembly module (``constructs._jsii``, ``cdktf._jsii``, ...), which starts the
    kernel, it runs :func:`install`; inert afterwards.  So arming it imports no jsii."""

    def __init__(self) -> None:
        self.armed = True

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if self.armed and fullname.endswith("._jsii"):
            self.armed = False
            install()
        return None


def install_before_the_kernel_starts() -> None:
    """Arrange for :func:`install` to run just before the first jsii assembly loads (idempotent)."""
    if not any(isinstance(finder, _InstallBeforeTheKernelStarts) for finder in sys.meta_path):
        sys.meta_path.insert(0, _InstallBeforeTheKernelStarts())
