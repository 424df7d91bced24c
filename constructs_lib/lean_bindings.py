"""Import the jsii bindings (constructs, the CDK, the providers) without evaluating their annotations.

jsii-pacmak writes every parameter and return type of the Python bindings as an
annotation (``scope: _constructs_77d1e7e8.Construct``, ``-> typing.Optional[
typing.Union[builtins.bool, _cdktf_9a9027ec.IResolvable]]``), and Python
evaluates each one when the ``def`` runs, at import: ~80% of the time it takes
to import a provider module (~8 ms of ~10 ms each, ~30 modules per synth),
and of ``cdktf``'s own ~50 ms.  Nothing reads them but the type checks:
each generated method that checks its arguments does so with
``typing.get_type_hints(_typecheckingstub__<hash>)``, the annotations of a
separate stub function, inside ``if __debug__:`` (so not at all under
``python -O``, as cdktf.json runs the app).

:func:`install` puts a finder on ``sys.meta_path`` that compiles the modules of
the given packages from their source with the annotations of every function
removed, except the ``_typecheckingstub__`` functions' while type checks are on
(``python`` without ``-O``, as the tests run): the checks are exactly as
before, and the code that runs is the same but for annotations nobody reads.
The synthesized JSON is byte-identical (`make fast-path-check` compares it with
the plain import path; tests/test_lean_bindings.py checks the rest).

The compiled code is cached per user in ``~/.cache/llm-fast-provider-import/
lean-bindings/`` (``XDG_CACHE_HOME`` is honoured), one file per source file (by
its real path, so a symlinked virtualenv shares it) and ``-O`` level, checked
against the source's size and modification time as Python checks a ``.pyc``; a
file that cannot be read is compiled again.  Compiling costs more than it saves
once (~0.7 s for ``cdktf``, ~7 s for the ~150 modules the app and the bootstrap
import), so `make install` fills the cache for both ``-O`` levels
(``tools/warm_caches.py``), and where the cache cannot be written (a full disk,
a read-only home) the rest of the run imports the plain ``.pyc`` files instead.

A module that reads annotations any other way (``__annotations__``, or
``get_type_hints`` of anything but a stub: not in today's bindings, but a newer
jsii-pacmak could write it) keeps all of its own; and like the rest of the fast
path this acts only with the pinned versions (``provider_import.TESTED_VERSIONS``).
"""

from __future__ import annotations

import _imp
import ast
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from collections.abc import Iterable, Sequence
from types import CodeType, ModuleType

from constructs_lib.user_cache import cache_root, write_atomically

#: Bumped whenever :func:`_strip_annotations` changes what it removes: old cache files are then ignored.
TRANSFORM_VERSION = 2

STUB_PREFIX = "_typecheckingstub__"
"""jsii-pacmak's name for the functions whose annotations the type checks read."""


def cache_directory() -> str:
    return os.path.join(cache_root(), "lean-bindings")


def _strip_annotations(body: list[ast.stmt], *, keep_stubs: bool) -> None:
    """Remove the annotations of every function defined in ``body`` (at any depth), but a stub's when ``keep_stubs``.

    Walks statements only: annotations belong to ``def`` statements, and the
    expressions in between are most of the tree."""
    pending = [body]
    while pending:
        for statement in pending.pop():
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and not (
                keep_stubs and statement.name.startswith(STUB_PREFIX)
            ):
                arguments = statement.args
                for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                    argument.annotation = None
                for star in (arguments.vararg, arguments.kwarg):
                    if star is not None:
                        star.annotation = None
                statement.returns = None
            for field in ("body", "orelse", "finalbody"):
                nested = getattr(statement, field, None)
                if isinstance(nested, list):
                    pending.append(nested)
            for handler in getattr(statement, "handlers", ()):
                pending.append(handler.body)
            for case in getattr(statement, "cases", ()):
                pending.append(case.body)


def _reads_annotations(tree: ast.Module) -> bool:
    """Whether the module reads annotations other than through a type-check stub (then it keeps them all).

    ``typing.get_type_hints(_typecheckingstub__...)`` is the one reader jsii-pacmak writes; another
    generator version could read a method's own (``get_type_hints(self.__init__)``,
    ``__annotations__``), and those must not silently come back empty."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "__annotations__":
            return True
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("get_type_hints", "get_annotations") and not (
                len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id.startswith(STUB_PREFIX)
            ):
                return True
    return False


def lean_code(source: bytes, path: str, *, optimize: int) -> CodeType:
    """``source`` compiled as Python would at ``optimize``, its function annotations removed (module docstring)."""
    tree = ast.parse(source, filename=path)
    if not _reads_annotations(tree):
        _strip_annotations(tree.body, keep_stubs=optimize == 0)
    return compile(tree, path, "exec", dont_inherit=True, optimize=optimize)


def _cache_file(path: str, optimize: int) -> str:
    key = f"{TRANSFORM_VERSION}\0{sys.implementation.cache_tag}\0{optimize}\0{os.path.realpath(path)}"
    return os.path.join(cache_directory(), hashlib.sha256(key.encode()).hexdigest()[:32] + ".bin")


def _header(stat: os.stat_result, optimize: int) -> bytes:
    return b"%s %d %d %d %d\n" % (
        importlib.util.MAGIC_NUMBER.hex().encode(),
        TRANSFORM_VERSION,
        optimize,
        stat.st_mtime_ns,
        stat.st_size,
    )


class LeanLoader(importlib.machinery.SourceFileLoader):
    """A source file loader whose code has no annotations (module docstring); cached apart from ``.pyc`` files."""

    cache_unwritable = False
    """Set once a write to the cache failed: later misses take the plain ``.pyc`` path, as compiling costs more."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        optimize = sys.flags.optimize
        stat = os.stat(path)
        header = _header(stat, optimize)
        cached = _cache_file(path, optimize)
        try:
            with open(cached, "rb") as handle:
                data = handle.read()
            if data.startswith(header):
                code = marshal.loads(data[len(header) :])
                if isinstance(code, CodeType):
                    _imp._fix_co_filename(code, path)  # type: ignore[attr-defined]  # as for a .pyc: tracebacks name this file
                    return code
        except (OSError, EOFError, ValueError, TypeError):
            pass
        if LeanLoader.cache_unwritable:
            return super().get_code(fullname)  # type: ignore[return-value]
        code = lean_code(self.get_data(path), path, optimize=optimize)
        try:
            write_atomically(cached, header + marshal.dumps(code))
        except OSError:  # no writable cache (a full disk, a read-only home): compiling every run would cost more
            LeanLoader.cache_unwritable = True
        return code


class _LeanFinder(importlib.abc.MetaPathFinder):
    """Finds what the path finder finds, for the given packages' modules, and loads it with :class:`LeanLoader`."""

    def __init__(self, packages: Iterable[str]) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader or not spec.origin:
            return spec
        return importlib.util.spec_from_file_location(
            fullname,
            spec.origin,
            loader=LeanLoader(fullname, spec.origin),
            submodule_search_locations=spec.submodule_search_locations,
        )


def finder() -> _LeanFinder | None:
    return next((entry for entry in sys.meta_path if isinstance(entry, _LeanFinder)), None)


def install(packages: Iterable[str]) -> None:
    """Load the modules of ``packages`` imported from now on without annotations (idempotent; adds packages).

    The finder goes just before the path finder, after any finder that only watches imports."""
    existing = finder()
    if existing is not None:
        existing.packages = existing.packages | frozenset(packages)
        return
    position = next(
        (index for index, entry in enumerate(sys.meta_path) if entry is importlib.machinery.PathFinder),
        len(sys.meta_path),
    )
    sys.meta_path.insert(position, _LeanFinder(packages))
