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
on a platform without ``os.posix_spawn``.  The output is byte-identical
(tests/test_provider_import.py, the snapshot tests).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import platform
import socket
import sys
import threading
import time
from typing import IO, Any

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


def _replacement(process_module: Any) -> type:
    base = process_module._NodeProcess

    class DirectNodeProcess(base):  # type: ignore[misc, valid-type]
        """jsii's ``_NodeProcess`` with the kernel as its direct child (module docstring)."""

        def start(self) -> None:
            environ = os.environ.copy()
            environ["JSII_AGENT"] = f"Python/{platform.python_version()}"
            node = environ.get("JSII_NODE", "node")
            program = os.path.join(os.path.dirname(os.path.dirname(self._jsii_runtime())), "lib", "program.js")
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
            self._process = _Kernel(pid, ours, outputs)
            atexit.register(self.stop)
            self.handshake()

        def stop(self) -> None:
            atexit.unregister(self.stop)
            kernel = self._process
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
    if base is None or not all(hasattr(base, name) for name in ("_jsii_runtime", "handshake", "send")):
        return False
    if not is_installed():
        process._NodeProcess = _replacement(process)  # type: ignore[misc, assignment]
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
