"""constructs_lib.provider_import.warm_jsii_cache: jsii's package cache ends up indexed.

Its own module (not test_provider_import's) so that pytest-xdist's per-file
distribution can run this slow test (~3 s: jsii indexes the provider's 98 MB
.jsii) beside the others.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from constructs_lib.provider_import import cached_packages, jsii_package_cache_root
from tests.test_provider_import import run_python

RUNTIME_INDEX_FILES = (".jsii.runtime.v*", ".jsii.runtime-index.v*", ".jsii.runtime-defs.v*")
"""What jsii's background indexer writes next to an extracted package."""


def extracted_but_not_indexed(root: Path) -> None:
    """The app's packages from the user's jsii package cache as hard links, less their runtime indexes.

    That is what a synth that exits before jsii's background indexer finishes
    leaves behind. Without a user cache on this file system, ``root`` stays
    empty and jsii extracts the packages first (~1 s more).
    """
    user_cache = jsii_package_cache_root()
    for package in cached_packages(user_cache):
        try:
            shutil.copytree(
                package,
                root / os.path.relpath(package, user_cache),
                copy_function=os.link,
                ignore=shutil.ignore_patterns(*RUNTIME_INDEX_FILES),
            )
        except (OSError, shutil.Error):
            shutil.rmtree(root, ignore_errors=True)
            return


def test_warm_jsii_cache_waits_until_jsii_has_indexed_the_provider(tmp_path: Path) -> None:
    root = tmp_path / "jsii-package-cache"
    extracted_but_not_indexed(root)
    index = "@cdktf/provider-google/*/*/.jsii.runtime.v*.json"
    assert not list(root.glob(index))
    result = run_python(
        "from constructs_lib.provider_import import warm_jsii_cache; exit(not warm_jsii_cache())",
        JSII_RUNTIME_PACKAGE_CACHE_ROOT=str(root),
    )
    assert result.returncode == 0, result.stderr
    assert list(root.glob(index))
