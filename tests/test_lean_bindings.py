"""constructs_lib.lean_bindings: the bindings import without annotations, and every type check stays.

That the synthesized files are byte-identical is `make fast-path-check`'s (with
``python -O``, as cdktf.json runs the app) and the snapshot tests' (without).
"""

from __future__ import annotations

import ast
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


def annotated_functions(optimize: int) -> list[str]:
    """The functions of SOURCE, at any depth, that still have an annotation after the transform."""
    tree = ast.parse(SOURCE)
    lean_bindings._strip_annotations(tree.body, keep_stubs=optimize == 0)
    return sorted(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and (node.returns or any(a.annotation for a in (*node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg) if a))
    )


def test_every_function_loses_its_annotations_but_a_stub_while_type_checks_run() -> None:
    """Module level, methods, properties, nested, under if/try/except: every def (SOURCE has all of them)."""
    assert annotated_functions(optimize=0) == ["_typecheckingstub__0123"]
    assert annotated_functions(optimize=1) == []


@pytest.mark.parametrize("optimize", [0, 1])
def test_the_compiled_code_runs_as_before(optimize: int) -> None:
    namespace = compiled(optimize)
    assert namespace["plain"](3, flag=True) == "3"  # type: ignore[operator]
    assert namespace["Resource"]().method("x").prop is None  # type: ignore[operator]
    stub = namespace["_typecheckingstub__0123"]
    expected = {"value": typing.Union[int, str], "return": None} if optimize == 0 else {}  # noqa: UP007
    assert stub.__annotations__ == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "reader",
    ["typing.get_type_hints(Resource.method)", "Resource.method.__annotations__", "get_type_hints(plain)"],
)
def test_a_module_that_reads_annotations_itself_keeps_them_all(reader: str) -> None:
    namespace: dict[str, object] = {}
    source = SOURCE + f"\nfrom typing import get_type_hints\nREAD = lambda: {reader}\n"
    exec(lean_bindings.lean_code(source.encode(), "<bindings>", optimize=1), namespace)
    assert namespace["plain"].__annotations__ != {}  # type: ignore[attr-defined]
    assert namespace["READ"]() != {}  # type: ignore[operator]


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package ``leanpkg`` on sys.path, the lean finder on a private sys.meta_path, and a private cache."""
    root = tmp_path / "site"
    (root / "leanpkg" / "sub").mkdir(parents=True)
    (root / "leanpkg" / "__init__.py").write_text("def top(a: int) -> int:\n    return a\n")
    (root / "leanpkg" / "sub" / "__init__.py").write_text("def deep(b: str) -> str:\n    return b\n")
    (root / "otherpkg").mkdir()
    (root / "otherpkg" / "__init__.py").write_text("def kept(c: int) -> int:\n    return c\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(sys, "meta_path", [entry for entry in sys.meta_path if entry is not lean_bindings.finder()])
    lean_bindings.install(["leanpkg"])
    yield root / "leanpkg"
    for name in [name for name in sys.modules if name.partition(".")[0] in ("leanpkg", "otherpkg")]:
        del sys.modules[name]
    lean_bindings.LeanLoader.cache_unwritable = False


def fresh_import(name: str) -> object:
    for loaded in [loaded for loaded in sys.modules if loaded.partition(".")[0] in ("leanpkg", "otherpkg")]:
        del sys.modules[loaded]
    importlib.invalidate_caches()
    return importlib.import_module(name)


def test_the_finder_loads_the_packages_it_was_given_and_nothing_else(package: Path) -> None:
    module = fresh_import("leanpkg.sub")
    assert isinstance(module.__spec__.loader, lean_bindings.LeanLoader)  # type: ignore[attr-defined]
    assert module.deep.__annotations__ == {}  # type: ignore[attr-defined]
    assert sys.modules["leanpkg"].top.__annotations__ == {}
    other = fresh_import("otherpkg")
    assert not isinstance(other.__spec__.loader, lean_bindings.LeanLoader)  # type: ignore[attr-defined]
    assert other.kept.__annotations__ == {"c": int, "return": int}  # type: ignore[attr-defined]


def test_the_finder_sits_after_the_import_watchers_and_before_the_path_finder(package: Path) -> None:
    """provider_import's watchers go to the front of sys.meta_path (and find nothing): they still see each import."""
    seen: list[str] = []

    class Watcher:
        def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
            seen.append(fullname)

    sys.meta_path.insert(0, Watcher())  # type: ignore[arg-type]
    fresh_import("leanpkg.sub")
    assert seen == ["leanpkg", "leanpkg.sub"]
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
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lean_bindings, "lean_code", lambda *args, **kwargs: pytest.fail("compiled again"))
        assert fresh_import("leanpkg").top(7) == 7  # type: ignore[attr-defined]
    assert cached.read_bytes() == first

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


def test_an_unwritable_cache_costs_one_compile_then_the_plain_bytecode(
    package: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert fresh_import("leanpkg").top(5) == 5  # type: ignore[attr-defined]
    assert sys.modules["leanpkg"].top.__annotations__ == {}  # compiled lean once, not cached
    assert fresh_import("leanpkg.sub").deep.__annotations__ == {"b": str, "return": str}  # type: ignore[attr-defined]


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
