"""How a failed synth is reported: one ``error:`` line (one per rule violation) and an exit status.

``main.py`` and ``tfc_bootstrap.py`` share it, so every entry point answers the same
failure the same way: bad input or environment, an output directory it may not
replace, a file system error, GCP rule violations, a jsii failure (its first line,
e.g. a full disk while the kernel writes), and Ctrl-C or SIGTERM, which exit at
once with 128 + the signal number.
"""

from __future__ import annotations

import sys

from constructs_lib import run_environment
from constructs_lib.config import ConfigError
from constructs_lib.fast_exit import exit_now
from constructs_lib.output_directory import OutputDirectoryError
from constructs_lib.validation.synthesized_app import RuleViolations

FAILURES = (run_environment.Interrupted, ConfigError, OutputDirectoryError, OSError, RuleViolations, RuntimeError)
"""What an entry point catches around its synth and hands to :func:`report`."""


def report(error: BaseException, *, source: str, outdir: str) -> int:
    """Print ``error`` as the user should read it and return the exit status (1)."""
    if isinstance(error, run_environment.Interrupted):
        _say(f"error: interrupted ({error}); {outdir or 'the output'} holds the last complete synth")
        exit_now(error.exit_status, run_atexit=False)
    if isinstance(error, (ConfigError, OutputDirectoryError)):
        _say(str(error))
    elif isinstance(error, OSError):
        _say(f"error: {error.filename or outdir}: cannot write the output: {error.strerror or error}")
    elif isinstance(error, RuleViolations):
        for violation in error.lines:
            _say(f"error: {source}: {violation}")
    else:
        cause = (str(error).strip().splitlines() or ["unknown error"])[0][:300]
        _say(f"error: {outdir}: synthesis failed: {cause}")
    return 1


def _say(line: str) -> None:
    print(line, file=sys.stderr)
