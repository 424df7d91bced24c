"""constructs_lib.provider_import.warm_jsii_cache: jsii's package cache ends up indexed.

Its own module (not test_provider_import's) so that pytest-xdist's per-file
distribution can run this slow test (a fresh cache: ~5 s) beside the others.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_provider_import import run_python


def test_warm_jsii_cache_leaves_the_provider_indexed_in_a_fresh_cache(tmp_path: Path) -> None:
    # A synth that exits before jsii's background indexer finishes never leaves an index
    # behind; warm_jsii_cache waits for it, so later runs skip parsing the 98 MB .jsii.
    root = tmp_path / "jsii-package-cache"
    result = run_python(
        "from constructs_lib.provider_import import warm_jsii_cache; exit(not warm_jsii_cache())",
        JSII_RUNTIME_PACKAGE_CACHE_ROOT=str(root),
    )
    assert result.returncode == 0, result.stderr
    assert list(root.glob("@cdktf/provider-google/*/*/.jsii.runtime.v*.json"))
