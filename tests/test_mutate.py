"""tools/mutate.py itself: a caught mutation is killed, an uncaught one survives, a stale one is reported."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("mutate", REPO / "tools" / "mutate.py")
assert _spec is not None and _spec.loader is not None
mutate = importlib.util.module_from_spec(_spec)
sys.modules["mutate"] = mutate
_spec.loader.exec_module(mutate)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    (tmp_path / ".venv").symlink_to((REPO / ".venv").resolve())
    (tmp_path / "limits.py").write_text("LIMIT = 600\n")
    (tmp_path / "test_limits.py").write_text("from limits import LIMIT\n\ndef test_limit():\n    assert LIMIT == 600\n")
    (tmp_path / "test_other.py").write_text("def test_nothing():\n    pass\n")
    return tmp_path


@pytest.mark.parametrize(
    ("original", "tests", "outcome"),
    [
        ("LIMIT = 600", ("test_limits.py",), "killed"),
        ("LIMIT = 600", ("test_other.py",), "survived"),
        ("LIMIT = 900", ("test_limits.py",), "stale"),
    ],
)
def test_outcomes(copy: Path, original: str, tests: tuple[str, ...], outcome: str) -> None:
    mutation = mutate.Mutation("limit", "limits.py", original, "LIMIT = 500", tests)
    assert mutate.run(mutation, copy) == outcome
    assert (copy / "limits.py").read_text() == "LIMIT = 600\n"  # restored


def test_every_mutation_names_existing_tests_and_is_not_stale() -> None:
    for mutation in mutate.MUTATIONS:
        assert (REPO / mutation.path).read_text().count(mutation.original) == 1, mutation.name
        for test in mutation.tests:
            assert (REPO / test.split("::")[0]).is_file(), (mutation.name, test)
    assert len({mutation.name for mutation in mutate.MUTATIONS}) == len(mutate.MUTATIONS)
