"""Load only the Google provider resources the app uses.

Written for ``cdktf_cdktf_provider_google`` / ``@cdktf/provider-google``; CDK
Terrain's ``cdktn_provider_google`` / ``@cdktn/provider-google`` is generated
by the same jsii-pacmak into the same shape, so both halves below apply to the
provider of the toolkit ``LLM_CDK_TOOLKIT`` selects (``constructs_lib.toolkit``).

The prebuilt Google provider ships ~1,470 resource modules, and both of its
halves load every one of them the first time any one is used:

1. Python: the package root ``__init__`` ends with ``from . import <name>`` for
   all of them, and Python runs a package's ``__init__`` before any submodule,
   so ``import cdktf_cdktf_provider_google.compute_instance`` imports all
   1,470 (~4-5 s of CPU).
2. Node: loading the assembly into the jsii kernel does
   ``require("@cdktf/provider-google")``, whose ``lib/index.js`` is 1,470 lines
   ``exports.x = require("./x");`` over 207 MB of JavaScript (~1.5 s and
   ~400 MB in the kernel process).  The 98 MB ``.jsii`` type file itself is
   *not* the cost: jsii >= 1.1xx extracts the package once into its package
   cache (``~/.cache/aws/jsii/package-cache``, on by default) and from the
   second run on reads a per-type index built there, not the whole file.

:func:`install` makes both lazy; the Terraform JSON synthesized is
byte-identical (`make fast-path-check`, run by `make test`).

Python half: a stand-in for the package root goes into ``sys.modules`` before
anything imports it.  It is what ``importlib`` creates for the package (same
``__spec__``, ``__path__``, ``__file__``) without running its ``__init__``, so
``import cdktf_cdktf_provider_google.<name>`` finds the real submodule on disk
and runs it unchanged.  Nothing else in the root ``__init__`` is needed:

* each submodule starts with ``from .._jsii import *``, which imports the real
  ``cdktf_cdktf_provider_google._jsii``: it loads the assembly
  (``provider-google@<version>.jsii.tgz``) into the kernel exactly once;
* each submodule has its own ``check_type``/typeguard helpers and imports only
  ``cdktf`` and ``constructs`` besides ``.._jsii``, never a sibling;
* after ``publication.publish()`` the real root exposes only ``__all__`` (the
  submodule names) and dunders: the stand-in has the same ``__all__`` and a
  PEP 562 ``__getattr__`` that imports ``<name>`` on first access, so
  ``cdktf_cdktf_provider_google.<name>`` and ``from ... import <name>`` work.

With the eager root every class was registered with jsii up front; now the
kernel could return an object whose class lives in a submodule nobody imported.
jsii resolves that by importing the module that
``jsii._reference_map._submodule_fqn_map`` names for the type's namespace.
This provider's ``_jsii`` predates that map, so a ``sys.meta_path`` entry fills
it in as the first provider submodule is imported (not before: importing this
module does not import jsii): ``@cdktf/provider-google.computeInstance`` ->
``cdktf_cdktf_provider_google.compute_instance``, jsii-pacmak's naming, checked
against all 1,470 submodules of the assembly.

Node half: ``NODE_OPTIONS`` gets ``--require <hook>``, which the kernel inherits
(Python's jsii spawns ``node`` with a copy of ``os.environ``; Yarn PnP preloads
its resolver the same way).  The hook, ``NODE_HOOK`` below, is written once to
``~/.cache/llm-fast-provider-import/`` (named by its hash; no hook if that
directory cannot be written).  It rewrites
``lib/index.js`` of the package named ``@cdktf/provider-google`` as node
compiles it: each ``exports.x = require("./x");`` becomes a getter that requires
``./x`` on first access.  The kernel finds a type by walking the exports
(``closure.computeInstance.ComputeInstance``), which calls the getter.  A line
not of that exact shape is left as it is (so stays eager).  The same hook
replaces the export of the CDK's ``lib/tokens/private/stack-trace.js``
(``captureStackTrace``, the creation stack cdktf records in every token and
computed attribute, and shows only in a token's resolution error) with one
that captures the same frames but formats them into the same lines when the
array is first read, not at once (~5 ms of the kernel's time per region).  Any
other node process started from this one inherits the hook too: it touches no
other package, and it does nothing in a process whose
``LLM_FAST_PROVIDER_IMPORT`` is ``0`` or ``python``.  The hook is only added
while no jsii kernel runs yet (no ``*._jsii`` module imported): a running
kernel would not see it.

The same moment installs :mod:`constructs_lib.jsii_structs` (settings structs
reach the kernel without their unset fields; byte-identical output too) and
:mod:`constructs_lib.lean_bindings` (the binding modules compiled without the
annotations nothing reads), and the node half comes with
:mod:`constructs_lib.jsii_kernel_process` (the kernel as Python's direct child,
without jsii's relay process; :func:`start_kernel` starts it early).

``LLM_FAST_PROVIDER_IMPORT``: ``0`` = the plain, eager way; ``python`` = the
Python half only (to measure the halves apart); unset or anything else = both.

Fail-safe: both halves lean on details of one jsii runtime and one provider
build (the package layout, jsii's private ``_submodule_fqn_map``, the exact
shape of ``lib/index.js``). :func:`install` therefore acts only when the
installed versions are the ones in ``TESTED_VERSIONS``; with any other version
it prints one ``warning:`` line and leaves the plain import path alone, which
is slower but always right. Raise the pins there after running
tests/test_provider_import.py and `make fast-path-check` with the new versions.

The jsii package cache's per-type index is built by a worker thread of the
kernel *after* the first load, which takes ~1-2 s; a fast synth exits sooner
and kills it, so on a fresh machine every run would parse the 98 MB ``.jsii``
again (+1.1 s, +700 MB).  :func:`warm_jsii_cache` loads the assemblies once
and waits for those indexes; `make install` runs it after installing the
packages, and goes on (with a warning) if it cannot::

    python -c 'from constructs_lib.provider_import import warm_jsii_cache; warm_jsii_cache()'
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import importlib.util
import os
import sys
import time
import types
from collections.abc import Mapping

from constructs_lib import toolkit, user_cache


def _toolkit() -> toolkit.Toolkit:
    try:
        return toolkit.selected()
    except toolkit.ToolkitError:
        return toolkit.TOOLKITS[toolkit.DEFAULT]  # install() raises it where main() reports it


TOOLKIT = _toolkit()
PACKAGE = TOOLKIT.google
ASSEMBLY = TOOLKIT.google_assembly
TESTED_VERSIONS = {
    "cdktf": {
        "jsii": "1.142.0",
        "constructs": "10.8.1",
        "cdktf": "0.21.0",
        "cdktf-cdktf-provider-google": "16.12.1",
        "cdktf-cdktf-provider-tfe": "12.5.1",
    },
    "cdktn": {"jsii": "1.142.0", "constructs": "10.8.1", "cdktn": "0.23.4", "cdktn-provider-google": "18.0.0"},
}[TOOLKIT.name]
"""The only versions :func:`install` patches (per toolkit); others get the plain import path and one warning."""
ENV_VAR = "LLM_FAST_PROVIDER_IMPORT"

HOOK_PREFIX = "jsii-kernel-hook-"
"""The start of the node hook's file name (its hash follows): how :func:`start_kernel` sees it in ``NODE_OPTIONS``."""

#: Set on the stand-in module, so :func:`is_installed` and tests can tell it apart.
MARKER = "__llm_fast_provider_import__"

#: Preloaded into the jsii kernel's node processes (see the module docstring).
NODE_HOOK = r"""'use strict';
// Written by constructs_lib/provider_import.py, preloaded into the jsii kernel (NODE_OPTIONS --require).
// 1. The top-level index of the jsii package named PACKAGE requires each submodule on first use, not all at load.
// 2. CORE's captureStackTrace (the creation stack every token and computed attribute records, shown only
//    in a token's resolution error) keeps the captured frames and formats them into lines on first read
//    (through the array's own properties: util.inspect of an unread one shows [], as it bypasses proxies).
const Module = require('module');
const path = require('path');
const fs = require('fs');
const PACKAGE = %(package)s;
const CORE = %(core)s;
const SWITCH = (process.env[%(env_var)s] || '').trim().toLowerCase();
const ON = SWITCH !== '0' && SWITCH !== 'python';
const INDEX = path.join(path.sep, 'lib', 'index.js');
const STACK_TRACE = path.join(path.sep, 'lib', 'tokens', 'private', 'stack-trace.js');
const EXPORT = /^exports\.([A-Za-z_$][\w$]*) = require\(("\.\/[^"\\]+")\);$/gm;

function packageName(filename, depth) {
  try {
    return JSON.parse(fs.readFileSync(path.join(filename, ...Array(depth).fill('..'), 'package.json'), 'utf8')).name;
  } catch (e) {
    return undefined; // not inside a package
  }
}

function lazyIndex(content) {
  return content.replace(EXPORT, (line, id, file) => {
    const key = JSON.stringify(id);
    return 'Object.defineProperty(exports, ' + key + ', {enumerable: true, configurable: true, get() {' +
      ' const value = require(' + file + ');' +
      ' Object.defineProperty(exports, ' + key + ', {value, enumerable: true, writable: true, configurable: true});' +
      ' return value; }});';
  });
}

// The same lines as CORE's captureStackTrace, in an array that fills itself when first touched.
function captureStackTrace(below) {
  const holder = {};
  const previousLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = Number.MAX_SAFE_INTEGER;
    Error.captureStackTrace(holder, below || captureStackTrace);
  } finally {
    Error.stackTraceLimit = previousLimit;
  }
  const lines = [];
  let filled = false;
  const fill = () => {
    if (!filled) {
      filled = true;
      if (holder.stack) {
        lines.push(...holder.stack.split('\n').slice(1).map((s) => s.replace(/^\s*at\s+/, '')));
      }
    }
    return lines;
  };
  return new Proxy(lines, {
    get: (target, key) => Reflect.get(fill(), key),
    has: (target, key) => Reflect.has(fill(), key),
    ownKeys: () => Reflect.ownKeys(fill()),
    getOwnPropertyDescriptor: (target, key) => Reflect.getOwnPropertyDescriptor(fill(), key),
    set: (target, key, value) => Reflect.set(fill(), key, value),
    defineProperty: (target, key, descriptor) => Reflect.defineProperty(fill(), key, descriptor),
    deleteProperty: (target, key) => Reflect.deleteProperty(fill(), key),
  });
}

const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  const named = ON && typeof filename === 'string';
  if (named && filename.endsWith(INDEX) && packageName(filename, 2) === PACKAGE) {
    content = lazyIndex(content);
  }
  const result = compile.call(this, content, filename);
  if (named && filename.endsWith(STACK_TRACE) && typeof this.exports.captureStackTrace === 'function' &&
      packageName(filename, 4) === CORE) {
    this.exports.captureStackTrace = captureStackTrace;
  }
  return result;
};
"""


def mode(environ: Mapping[str, str] | None = None) -> str:
    """``"off"``, ``"python"`` or ``"full"``, from ``LLM_FAST_PROVIDER_IMPORT``."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    if value == "0":
        return "off"
    if value == "python":
        return "python"
    return "full"


def untested_versions() -> dict[str, str | None]:
    """Each distribution of ``TESTED_VERSIONS`` whose installed version differs (None: not installed)."""
    import importlib.metadata

    found: dict[str, str | None] = {}
    for distribution, tested in TESTED_VERSIONS.items():
        try:
            version: str | None = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = None
        if version != tested:
            found[distribution] = version
    return found


_warned = False


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        print(f"warning: {message}", file=sys.stderr)


def is_installed() -> bool:
    """True when the provider package root in ``sys.modules`` is the lazy stand-in."""
    return getattr(sys.modules.get(PACKAGE), MARKER, False) is True


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _submodules(package_dirs: list[str]) -> list[str]:
    names: set[str] = set()
    for directory in package_dirs:
        try:
            entries = os.scandir(directory)
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name[0] != "_" and entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                    names.add(entry.name)
    return sorted(names)


def _install_python_half() -> bool:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return False

    # What the import system would create for the package, without running its __init__.
    package = importlib.util.module_from_spec(spec)
    names = _submodules(list(spec.submodule_search_locations))
    known = frozenset(names)

    def __getattr__(name: str) -> types.ModuleType:
        if name in known:
            return importlib.import_module(f"{PACKAGE}.{name}")
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(package.__dict__) | known)

    package.__dict__.update(__all__=names, __getattr__=__getattr__, __dir__=__dir__)
    setattr(package, MARKER, True)
    sys.modules[PACKAGE] = package
    sys.meta_path.insert(0, _RegisterTypesOnFirstImport(names))
    return True


class _RegisterTypesOnFirstImport:
    """A ``sys.meta_path`` entry that finds nothing: it tells jsii where the provider's
    types live (module docstring) and installs :mod:`constructs_lib.jsii_structs` when
    the first provider submodule is imported, so that importing this module does not
    import jsii, and is inert afterwards."""

    def __init__(self, names: list[str]) -> None:
        self._names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if self._names and fullname.startswith(PACKAGE + "."):
            names, self._names = self._names, []
            from jsii import _reference_map

            fqn_map = getattr(_reference_map, "_submodule_fqn_map", None)
            if isinstance(fqn_map, dict):
                for name in names:
                    fqn_map.setdefault(f"{ASSEMBLY}.{_camel(name)}", f"{PACKAGE}.{name}")
            from constructs_lib import jsii_structs

            jsii_structs.install()
        return None


def _hook_file() -> str:
    """The hook's path: written once per content into the user's cache directory (OSError if it cannot be)."""
    text = NODE_HOOK % {"package": repr(ASSEMBLY), "core": repr(TOOLKIT.core), "env_var": repr(ENV_VAR)}
    name = f"{HOOK_PREFIX}{hashlib.sha256(text.encode()).hexdigest()[:16]}.js"
    path = os.path.join(user_cache.cache_root(), name)
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return path
    except OSError:
        pass
    user_cache.write_atomically(path, text.encode("utf-8"))
    return path


def _install_node_half() -> None:
    if any(name.endswith("._jsii") for name in sys.modules):
        return  # the kernel is already running and would not see the hook
    try:
        hook = _hook_file()
    except OSError:
        return  # no writable cache directory: the kernel loads the provider eagerly
    existing = os.environ.get("NODE_OPTIONS", "").strip()
    if hook in existing:
        return  # inherited from a parent process that installed it
    quoted = '"' + hook.replace("\\", "\\\\").replace('"', '\\"') + '"'
    os.environ["NODE_OPTIONS"] = f"{existing} --require {quoted}".strip()


def install() -> None:
    """Make ``import cdktf_cdktf_provider_google.<resource>`` load only that resource.

    Idempotent.  Does nothing when ``LLM_FAST_PROVIDER_IMPORT=0``, when the
    package is already imported (the plain way, or by an earlier call), or when
    it is not installed.  Must run before the first provider submodule import.
    """
    toolkit.selected()  # an unknown LLM_CDK_TOOLKIT is an error before anything is patched
    chosen = mode()
    if chosen == "off" or PACKAGE in sys.modules:
        return
    untested = untested_versions()
    if untested:
        found = ", ".join(f"{name} {version or 'missing'}" for name, version in sorted(untested.items()))
        tested = ", ".join(f"{name} {version}" for name, version in sorted(TESTED_VERSIONS.items()))
        _warn_once(
            f"fast provider import is off: tested with {tested}, found {found}; "
            f"synthesis uses the plain (slower) import path (set {ENV_VAR}=0 to silence this)"
        )
        return
    if not _install_python_half():
        return
    from constructs_lib import lean_bindings

    lean_bindings.install(name for name in ("constructs", TOOLKIT.core, PACKAGE, TOOLKIT.tfe) if name)
    if chosen == "full":
        _install_node_half()
        from constructs_lib import jsii_kernel_process

        jsii_kernel_process.install_before_the_kernel_starts()


def start_kernel() -> bool:
    """Start the jsii kernel now, loading constructs, the CDK and the Google provider while Python imports them.

    For an entry point about to synthesize, right after :func:`install`: only where the whole
    fast path is on (the node hook must be in the kernel's environment), and never twice.
    ``jsii_kernel_process.start_early`` says how; False where it did not start one."""
    if mode() != "full" or not is_installed() or HOOK_PREFIX not in os.environ.get("NODE_OPTIONS", ""):
        return False
    from constructs_lib import jsii_kernel_process

    return jsii_kernel_process.start_early(("constructs", TOOLKIT.core, PACKAGE))


#: The jsii assemblies the app loads: (directory under the jsii package cache, distribution).
_CACHED_ASSEMBLIES = (
    (tuple(TOOLKIT.google_assembly.split("/")), TOOLKIT.google_distribution),
    ((TOOLKIT.core,), TOOLKIT.core_distribution),
    (("constructs",), "constructs"),
)


def cached_packages(root: str) -> list[str]:
    """Where jsii's package cache under ``root`` keeps each assembly the app loads, at its installed
    version (one directory per tarball hash below it)."""
    import importlib.metadata

    return [
        os.path.join(root, *directory, importlib.metadata.version(distribution))
        for directory, distribution in _CACHED_ASSEMBLIES
    ]


def jsii_package_cache_root(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """Where the jsii runtime keeps its package cache (``defaultCacheRoot`` of @jsii/kernel 1.x).

    ``JSII_RUNTIME_PACKAGE_CACHE_ROOT`` if set; else per platform: macOS
    ``~/Library/Caches/com.amazonaws.jsii/package-cache``, Windows
    ``%LOCALAPPDATA%\\AWS\\jsii\\package-cache``, others ``~/.cache/aws/jsii/package-cache``.
    """
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    explicit = env.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT")
    if explicit:
        return explicit
    home = env.get("HOME") or os.path.expanduser("~")
    if platform == "darwin":
        return os.path.join(home, "Library", "Caches", "com.amazonaws.jsii", "package-cache")
    if platform == "win32":
        local = env.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(local, "AWS", "jsii", "package-cache")
    return os.path.join(home, ".cache", "aws", "jsii", "package-cache")


def warm_jsii_cache(timeout: float = 180.0) -> bool:
    """Load the provider's assembly and wait until jsii has indexed it in its package cache.

    True once every assembly of ``cached_packages`` has its runtime index
    (or had one already). False, with one ``warning:`` line, when jsii's
    package cache is disabled, on timeout, or when anything goes wrong: a cold
    cache only makes the first synths slower, so this never fails an install.
    """
    if os.environ.get("JSII_RUNTIME_PACKAGE_CACHE", "enabled").strip().lower() != "enabled":
        _warn_once("jsii package cache is disabled (JSII_RUNTIME_PACKAGE_CACHE); nothing to warm")
        return False
    try:
        root = jsii_package_cache_root()
        patterns = [os.path.join(package, "*", ".jsii.runtime.v*.json") for package in cached_packages(root)]
        install()
        importlib.import_module(f"{PACKAGE}._jsii")  # extracts into the cache; jsii starts indexing if needed
        deadline = time.monotonic() + timeout
        while not all(glob.glob(pattern) for pattern in patterns):
            if time.monotonic() > deadline:
                _warn_once(f"jsii did not index the provider in {root} within {timeout:.0f} s; first synths are slower")
                return False
            time.sleep(0.1)
    except Exception as error:  # noqa: BLE001 - warming is an optimisation; never fatal
        _warn_once(f"could not warm the jsii package cache: {error}; first synths are slower")
        return False
    return True
