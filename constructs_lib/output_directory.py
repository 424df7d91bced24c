"""Write a synthesis into the output directory only once it has fully succeeded.

cdktf writes stack by stack; a failure half-way (a rule violation in the third
stack, say) would otherwise leave a mix of old and new JSON. The app therefore
synthesizes into a staging directory beside the output directory and moves the
files over only on success. Files that synthesis does not produce (Terraform's
``.terraform`` folders and lock files from `cdktf deploy`) are left where they are;
stack folders of stacks that no longer exist are removed, as `cdktf synth` does.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replace_on_success(outdir: str) -> Iterator[str]:
    """Yield a staging directory; on a clean exit, publish its files into ``outdir``."""
    target = Path(outdir)
    staging = target.parent / f".{target.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield str(staging)
        _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, target: Path) -> None:
    """Move the new files in (the manifest last), then drop the folders of stacks that are gone."""
    stacks = set(json.loads((staging / "manifest.json").read_text())["stacks"])
    files = sorted(path for path in staging.rglob("*") if path.is_file())
    files.sort(key=lambda path: path.name == "manifest.json")
    for source in files:
        destination = target / source.relative_to(staging)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)
    for stack_dir in (target / "stacks").glob("*"):
        if stack_dir.is_dir() and stack_dir.name not in stacks:
            shutil.rmtree(stack_dir)
