"""Publish a synthesis into the output directory as one atomic swap, under a lock.

cdktf writes stack by stack; a failure or a kill half-way must never leave a mix
of old and new JSON, and two synths into one directory must never interleave.
So the app synthesizes into a staging directory beside the output directory
(same filesystem), and publishes it by exchanging the two directory entries with
Linux ``renameat2(RENAME_EXCHANGE)``: at every instant, even under SIGKILL, the
output directory is either the previous synth or the new one, complete. A lock
file beside the output directory (``flock``) serializes synths; a second one
waits up to ``LOCK_WAIT_SECONDS`` and then stops with one line.

Only what an earlier synth wrote is ever removed, as its ``manifest.json`` says:
a non-empty directory without a cdktf manifest is refused. What synthesis does
not produce is carried into the new tree by hard link: Terraform's ``.terraform``
folder and lock file in a stack that still exists (so `cdktf deploy` does not
re-download providers), and anything the manifest does not list. The folder of a
stack that is gone is dropped with its ``.terraform``, as `cdktf synth` does;
when the cdktf CLI runs the app, it is kept instead, because the CLI removes the
stack folders it saw before the synth itself and fails if one is already gone.

References: rename(2) and renameat2 ``RENAME_EXCHANGE``
(https://man7.org/linux/man-pages/man2/rename.2.html), flock(2)
(https://man7.org/linux/man-pages/man2/flock.2.html).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOCK_WAIT_SECONDS = 120.0
"""How long a second synth waits for the first before it stops (a synth takes seconds)."""

MANIFEST = "manifest.json"
STACKS = "stacks"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class OutputDirectoryError(Exception):
    """The output directory cannot be used; ``str(error)`` is the one line to print."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"error: {path}: {message}")


def check_replaceable(outdir: str) -> None:
    """Refuse, before any slow work, an output directory :func:`replace_on_success` would refuse
    (it checks again under the lock when it publishes)."""
    _earlier_synth(Path(os.path.abspath(outdir)), outdir)


@contextmanager
def replace_on_success(
    outdir: str, *, keep_removed_stacks: bool = False, lock_wait_seconds: float = LOCK_WAIT_SECONDS
) -> Iterator[str]:
    """Yield an empty staging directory; on a clean exit, swap it in as ``outdir``.

    ``keep_removed_stacks``: leave the folders of stacks that are gone for the
    cdktf CLI to remove (set when the CLI runs the app).
    """
    target = Path(os.path.abspath(outdir))
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _locked(parent / f".{target.name}.lock", outdir, lock_wait_seconds):
        previous = _earlier_synth(target, outdir)
        staging = parent / f".{target.name}.staging"
        try:
            _remove(staging)  # a leftover of a killed run; we hold the lock
            staging.mkdir()
            yield str(staging)
            new_stacks = set(_read_manifest(staging / MANIFEST)["stacks"])
            if previous is not None:
                _carry_over(target, staging, previous, new_stacks, keep_removed_stacks)
            _swap(staging, target, exists=previous is not None or target.exists())
        finally:
            with _signals_deferred():  # Ctrl-C now would leave the staging directory behind
                _remove(staging)  # after the swap: the previous synth


@contextmanager
def _locked(lock_file: Path, outdir: str, wait_seconds: float) -> Iterator[None]:
    descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputDirectoryError(
                        outdir,
                        f"another synth has been writing it for over {wait_seconds:.0f} s "
                        f"(it holds {lock_file.name}); wait for it to finish, then run again",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)  # releases the lock; the lock file stays (removing it would race)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done; they are delivered right after."""
    deferred = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("stacks"), dict):
        raise ValueError("not a cdktf manifest")
    return manifest


def _earlier_synth(target: Path, outdir: str) -> dict[str, object] | None:
    """The stacks of the synth in ``target`` (None if absent or empty); refuse anything else."""
    try:
        status = target.lstat()
    except FileNotFoundError:
        return None
    if target.is_symlink():
        raise OutputDirectoryError(outdir, "is a symbolic link; set CDKTF_OUTDIR to the real directory")
    if not target.is_dir():
        raise OutputDirectoryError(outdir, "exists and is not a directory; set CDKTF_OUTDIR to a directory path")
    if os.path.ismount(target) or status.st_dev != target.parent.stat().st_dev:
        raise OutputDirectoryError(
            outdir,
            "is a mount point (another filesystem than its parent) and cannot be replaced atomically; "
            "set CDKTF_OUTDIR to a directory inside it",
        )
    if not any(target.iterdir()):
        return None
    try:
        stacks: dict[str, object] = _read_manifest(target / MANIFEST)["stacks"]
        return stacks
    except (OSError, ValueError):
        raise OutputDirectoryError(
            outdir,
            f"is not empty and holds no earlier synth ({MANIFEST}); "
            "set CDKTF_OUTDIR to a new or empty directory, or to an earlier output directory",
        ) from None


def _carry_over(
    target: Path, staging: Path, previous: dict[str, object], new_stacks: set[str], keep_removed_stacks: bool
) -> None:
    """Link into the new tree what the synth does not write but must survive it."""
    for entry in target.iterdir():
        if entry.name not in (MANIFEST, STACKS):
            _link_tree(entry, staging / entry.name)
    old_stacks = target / STACKS
    if not old_stacks.is_dir() or old_stacks.is_symlink():
        return
    for entry in old_stacks.iterdir():
        destination = staging / STACKS / entry.name
        if entry.name in new_stacks and entry.is_dir() and not entry.is_symlink():
            for item in entry.iterdir():
                if not (destination / item.name).exists():
                    _link_tree(item, destination / item.name)
        elif entry.name not in previous or keep_removed_stacks:
            _link_tree(entry, destination)


def _link_tree(source: Path, destination: Path) -> None:
    """Hard-link ``source`` (a file, a symlink or a directory tree) to ``destination``."""
    if destination.exists() or destination.is_symlink():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        os.symlink(os.readlink(source), destination)
    elif source.is_dir():
        shutil.copytree(source, destination, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(source), str(destination))


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(source, destination)


def _swap(staging: Path, target: Path, *, exists: bool) -> None:
    """Make ``staging`` the output directory in one step; ``staging`` then holds the old tree."""
    if not exists:
        os.rename(staging, target)
        staging.mkdir()  # so the caller's cleanup has a directory to remove
        return
    if not _exchange(staging, target):
        # No RENAME_EXCHANGE (not Linux, or the filesystem lacks it): two renames, a
        # short window in which the output directory is absent but never mixed.
        aside = staging.with_name(staging.name + ".previous")
        _remove(aside)
        os.rename(target, aside)
        os.rename(staging, target)
        os.rename(aside, staging)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically exchange two paths with renameat2; False if the system cannot."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
