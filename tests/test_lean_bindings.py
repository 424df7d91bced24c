"""constructs_lib.lean_bindings: the bindings import without annotations, and every type check stays.

That the synthesized files are byte-identical is `make fast-path-check`'s (with
``python -O``, as cdktf.json runs the app) and the snapshot tests' (without).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import subprocess
import sys
import textwrap
import time
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from constructs_lib import lean_bindings

REPO = Path(__file__).resolve().parent.parent

SOURCE = '''
import typing

def plain(value: int, *rest: str, flag: bool = False, **more: float) -> str:
    def nested(inner: bytes) -> bytes:
        return inner
    return str(value)

class Resource:
    def method(self, name: str) -> "Resource":
        return self

    if typing.TYPE_CHECKING:
        def typed_only(self, other: int) -> int: ...

    @property
    def prop(self) -> typing.Optional[typing.List[str]]:
        return None

def _typecheckingstub__0123(value: typing.Union[int, str]) -> None:
    pass

try:
    def in_try(x: int) -> int:
        return x
except ImportError:
    def in_handler(y: int) -> int:
        return y
'''


def compiled(optimize: int) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(lean_bindings.lean_code(SOURCE.encode(), "<bindings>", optimize=optimize), namespace)
    return namespace


@pytest.mark.parametrize("optimize", [0, 1])
def test_every_function_loses_its_annotations(optimize: int) -> None:
    namespace = compiled(optimize)
    resource = namespace["Resource"]
    functions = [
        namespace["plain"],
        resource.method,  # type: ignore[attr-defined]
        resource.prop.fget,  # type: ignore[attr-defined]
        namespace["in_try"],
    ]
    assert [function.__annotations__ for function in functions] == [{}, {}, {}, {}]  # type: ignore[attr-defined]
    assert namespace["plain"](3, flag=True) == "3"  # type: ignore[operator]


def test_the_type_check_stubs_keep_theirs_while_type_checks_run() -> None:
    stub = compiled(0)["_typecheckingstub__0123"]
    assert stub.__annotations__ == {"value": typing.Union[int, str], "return": None}  # type: ignore[attr-defined]  # noqa: UP007
    assert compiled(1)["_typecheckingstub__0123"].__annotations__ == {}  # type: ignore[attr-defined]


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package ``leanpkg`` on sys.path, the lean finder on a private sys.meta_path, and a private cache."""
    root = tmp_path / "site"
    (root / "leanpkg" / "sub").mkdir(parents=True)
    (root / "leanpkg" / "__init__.py").write_text("def top(a: int) -> int:\n    return a\n")
    (root / "leanpkg" / "sub" / "__init__.py").write_text("def deep(b: str) -> str:\n    return b\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(sys, "meta_path", [entry for entry in sys.meta_path if entry is not lean_bindings.finder()])
    lean_bindings.install(["leanpkg"])
    yield root / "leanpkg"
    for name in [name for name in sys.modules if name.partition(".")[0] == "leanpkg"]:
        del sys.modules[name]


def fresh_import(name: str) -> object:
    for loaded in [loaded for loaded in sys.modules if loaded.partition(".")[0] == "leanpkg"]:
        del sys.modules[loaded]
    importlib.invalidate_caches()
    return importlib.import_module(name)


def test_the_finder_loads_the_packages_it_was_given_and_nothing_else(package: Path) -> None:
    module = fresh_import("leanpkg.sub")
    assert isinstance(module.__spec__.loader, lean_bindings.LeanLoader)  # type: ignore[attr-defined]
    assert module.deep.__annotations__ == {}  # type: ignore[attr-defined]
    assert sys.modules["leanpkg"].top.__annotations__ == {}
    assert not isinstance(importlib.import_module("textwrap").__spec__.loader, lean_bindings.LeanLoader)


def test_the_finder_sits_after_the_import_watchers_and_before_the_path_finder(package: Path) -> None:
    lean = sys.meta_path.index(lean_bindings.finder())  # type: ignore[arg-type]
    assert sys.meta_path[lean + 1] is importlib.machinery.PathFinder
    lean_bindings.install(["other"])  # idempotent: the same finder takes more packages
    assert sum(isinstance(entry, type(lean_bindings.finder())) for entry in sys.meta_path) == 1
    assert lean_bindings.finder().packages == {"leanpkg", "other"}  # type: ignore[union-attr]


def test_compiled_code_is_cached_and_recompiled_when_the_source_changes(package: Path) -> None:
    fresh_import("leanpkg")
    cache = Path(lean_bindings.cache_directory())
    [cached] = list(cache.iterdir())
    first = cached.read_bytes()
    fresh_import("leanpkg")
    assert cached.read_bytes() == first  # read, not written again

    source = package / "__init__.py"
    source.write_text("def top(a: int, b: int) -> int:\n    return a + b\n")
    os.utime(source, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert fresh_import("leanpkg").top(1, 2) == 3  # type: ignore[attr-defined]
    assert cached.read_bytes() != first


def test_a_damaged_cache_file_is_compiled_again(package: Path) -> None:
    fresh_import("leanpkg")
    [cached] = list(Path(lean_bindings.cache_directory()).iterdir())
    cached.write_bytes(cached.read_bytes()[:-20])
    assert fresh_import("leanpkg").top(4) == 4  # type: ignore[attr-defined]


def test_an_unwritable_cache_only_costs_a_compile(package: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert fresh_import("leanpkg").top(5) == 5  # type: ignore[attr-defined]


def test_the_provider_loads_lean_and_still_checks_argument_types() -> None:
    """In a fresh interpreter without -O, as the tests run: the bindings' own type checks still reject a bad value."""
    code = """
        from constructs_lib import lean_bindings, provider_import
        provider_import.install()
        from cdktf_cdktf_provider_google.compute_network import ComputeNetwork, ComputeNetworkConfig
        import sys
        loader = sys.modules[ComputeNetwork.__module__].__spec__.loader
        print(type(loader).__name__, ComputeNetwork.__init__.__annotations__ == {})
        try:
            ComputeNetworkConfig(name=5)
        except TypeError as error:
            print("TypeError", "name" in str(error))
    """
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_FAST_PROVIDER_IMPORT", "NODE_OPTIONS")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["LeanLoader", "True", "TypeError", "True"]


def test_a_cache_write_that_fails_leaves_no_partial_file(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(source: str, target: str) -> None:
        assert Path(source).is_file()  # the partial file was written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lean_bindings.os, "replace", disk_full)
    assert fresh_import("leanpkg").top(6) == 6  # type: ignore[attr-defined]
    assert list(Path(lean_bindings.cache_directory()).iterdir()) == []
