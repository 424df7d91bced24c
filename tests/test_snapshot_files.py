"""Every stored snapshot belongs to a test that still exists.

syrupy fails a run on an unused snapshot, but not under pytest-xdist (each worker
sees only its own tests), and pytest.ini runs the suite on xdist workers.  Every
worker collects the whole suite, so this test checks it from the collection: a
snapshot file whose test was renamed or removed fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import COLLECTED

SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__"


def test_every_snapshot_file_has_its_test(request: pytest.FixtureRequest) -> None:
    narrowed = {Path(arg.split("::")[0]).stem for arg in request.config.args if "::" in arg}
    tests = {(item.path.stem, item.name) for item in COLLECTED}
    modules = {module for module, _ in tests} - narrowed
    stored = [path for path in sorted(SNAPSHOTS.glob("*/*.json")) if path.parent.name in modules]
    if not stored:
        pytest.skip("no test module with stored snapshots was collected")
    orphans = [str(path.relative_to(SNAPSHOTS)) for path in stored if (path.parent.name, path.stem) not in tests]
    assert not orphans, f"snapshots without a test (delete them or restore the test): {orphans}"
