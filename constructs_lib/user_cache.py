"""The per-user cache the fast synth path writes: the node hook, the lean bindings' compiled code and
the jsii kernel's runtime files.

``$XDG_CACHE_HOME/llm-fast-provider-import/`` (default ``~/.cache/...``), private to the
user; every file in it is written whole or not at all, so two synths running at once
never read a partial one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def cache_root() -> str:
    """Read from the environment on every call (tests point ``XDG_CACHE_HOME`` elsewhere)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "llm-fast-provider-import")


def write_atomically(path: str, data: bytes) -> None:
    """A concurrent reader sees all of ``data`` or the old file; nothing partial stays behind, Ctrl-C included."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
