"""constructs_lib.fast_exit: the exit code, buffered output and atexit handlers all survive."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
"""Output stays in Python's buffers until the exit flushes it."""

SCRIPT = """
    import atexit, sys
    from constructs_lib.fast_exit import exit_now
    atexit.register(lambda: print("atexit ran", file=sys.stderr))
    print("buffered output", end="")
    exit_now({code})
"""


def run(code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT.format(code=code))],
        cwd=REPO,
        env=BUFFERED,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keeps_exit_code_output_and_atexit_handlers() -> None:
    for code in (0, 1, 3):
        result = run(code)
        assert result.returncode == code
        assert result.stdout == "buffered output"
        assert result.stderr == "atexit ran\n"


def test_output_that_cannot_be_written_is_an_error() -> None:
    """As at a normal exit: stdout's reader gone before the final flush -> 120, unless already failing."""
    for code, expected in ((0, 120), (1, 1)):
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(SCRIPT.format(code=code))],
            cwd=REPO,
        env=BUFFERED,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        process.stdout.close()
        assert process.wait(timeout=60) == expected
