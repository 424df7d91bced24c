"""Leave the process as soon as its output is on disk, without the interpreter's teardown.

After a synth, a normal exit spends ~0.2 s tearing down what the provider bindings
loaded (thousands of classes and typing objects freed one by one).  Nothing of that
teardown matters to the result, so :func:`exit_now` runs what must run and then
ends the process with ``os._exit``:

* the ``atexit`` handlers, in order: jsii's stops its node kernel (asks it to exit,
  waits for it, and drains its stderr so no kernel warning is lost);
* a flush of ``sys.stdout`` and ``sys.stderr``.  If that flush fails (a closed
  pipe, a full disk), the exit status is 120 unless it was already an error, as
  Python's own exit reports it.

After a signal (``run_atexit=False``) the handlers are skipped: jsii's would write
to a kernel the signal already stopped.

Only for a process's last statement, once every file it writes is closed.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn

#: The exit status Python itself uses when flushing stdout/stderr fails at exit.
FLUSH_FAILED = 120


def exit_now(code: int, *, run_atexit: bool = True) -> NoReturn:
    """Exit with ``code`` after the atexit handlers (unless ``run_atexit`` is False) and a flush,
    skipping interpreter teardown."""
    if run_atexit:
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            code = code or FLUSH_FAILED
    os._exit(code)
