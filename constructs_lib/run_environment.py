"""What a synth needs from the machine, checked before the slow part starts.

The jsii kernel behind cdktf is a Node process: it must be a Node release jsii
still supports (the project pins Node 22 LTS in ``package.json``, installed into
``node_modules/.bin/node`` by `make install`), and it creates its work folders
under ``TMPDIR``. Both are checked here so that a missing Node or a bad
``TMPDIR`` is one line instead of a JavaScript stack trace. Ctrl-C and SIGTERM
become an exception the entry points turn into one line and exit status
128 + signal number (130 for Ctrl-C).

jsii starts ``$JSII_NODE`` (default ``node`` from PATH):
https://github.com/aws/jsii/blob/main/packages/%40jsii/python-runtime/src/jsii/_kernel/providers/process.py
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import MutableMapping
from pathlib import Path
from types import FrameType

from constructs_lib.config import ConfigError

REPO = Path(__file__).resolve().parent.parent
PINNED_NODE = REPO / "node_modules" / ".bin" / "node"


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; ``exit_status`` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_status = 128 + signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one message, even if Ctrl-C is pressed twice
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def handle_signals() -> None:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` (cleanup runs, the output stays)."""
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)


def prepare(environ: MutableMapping[str, str]) -> None:
    """Point jsii at the pinned Node and check ``TMPDIR``; raise ConfigError with one line."""
    if "JSII_NODE" not in environ:
        if PINNED_NODE.is_file() and os.access(PINNED_NODE, os.X_OK):
            environ["JSII_NODE"] = str(PINNED_NODE)
        elif shutil.which("node", path=environ.get("PATH")) is None:
            raise ConfigError(
                "environment", "node", "not found (run `make install`: it installs the pinned Node 22 LTS)"
            )
    tmpdir = environ.get("TMPDIR")
    if tmpdir is not None and not (os.path.isdir(tmpdir) and os.access(tmpdir, os.W_OK | os.X_OK)):
        raise ConfigError(
            "environment", "TMPDIR", f"{tmpdir[:200]!r} is not a writable directory; create it or unset TMPDIR"
        )
