"""constructs_lib.provider_import: fewer modules loaded, the node hook, the version pin.

Code runs in subprocesses here, so that each case starts with a fresh
interpreter and jsii kernel in the mode under test.  That the synthesized files
are byte-identical to the plain CDKTF Python path's is `make fast-path-check`'s
(run by `make test` after pytest: the plain path imports all ~1,470 provider
modules, ~10 s); the snapshot tests pin the fast path's output in between.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO / "config" / "default.yaml"
ENV_VAR = "LLM_FAST_PROVIDER_IMPORT"


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without anything our own install() may have added."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "NODE_OPTIONS", "DEPLOYMENT_CONFIG", "CDKTF_OUTDIR")}
    env.update(overrides)
    return env


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_switched_off_install_leaves_sys_modules_and_environment_untouched() -> None:
    result = run_python(
        """
        import os, sys
        import constructs_lib.provider_import as provider_import
        assert provider_import.PACKAGE not in sys.modules
        before, node_options, meta_path = dict(sys.modules), os.environ.get("NODE_OPTIONS"), list(sys.meta_path)
        provider_import.install()
        provider_import.install()
        assert dict(sys.modules) == before, sorted(set(sys.modules) ^ set(before))
        assert os.environ.get("NODE_OPTIONS") == node_options
        assert sys.meta_path == meta_path
        assert not provider_import.is_installed()
        print("ok")
        """,
        **{ENV_VAR: "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_install_imports_only_the_submodules_used() -> None:
    result = run_python(
        """
        import json, os, sys
        import constructs_lib.provider_import as provider_import
        provider_import.install()  # idempotent
        package = sys.modules[provider_import.PACKAGE]
        jsii_before_first_use = "jsii" in sys.modules
        from cdktf_cdktf_provider_google.compute_network import ComputeNetwork
        from cdktf_cdktf_provider_google import compute_subnetwork
        import cdktf_cdktf_provider_google as google
        loaded = sorted(
            name.split(".")[1] for name in sys.modules
            if name.startswith(provider_import.PACKAGE + ".") and name.count(".") == 1
        )
        print(json.dumps({
            "same_package": google is package,
            "installed": provider_import.is_installed(),
            "loaded": loaded,
            "all": len(google.__all__),
            "attribute": google.compute_router.__name__,
            "hook": "jsii-kernel-hook" in os.environ.get("NODE_OPTIONS", ""),
            "jsii_before_first_use": jsii_before_first_use,
        }))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["same_package"] and report["installed"] and report["hook"]
    assert not report["jsii_before_first_use"]
    assert report["loaded"] == ["_jsii", "compute_network", "compute_subnetwork"]
    assert report["all"] > 1000
    assert report["attribute"] == "cdktf_cdktf_provider_google.compute_router"


def test_install_does_nothing_when_the_package_is_already_imported() -> None:
    result = run_python(
        """
        import sys, types
        sentinel = types.ModuleType("cdktf_cdktf_provider_google")
        sys.modules["cdktf_cdktf_provider_google"] = sentinel
        import constructs_lib.provider_import as provider_import
        provider_import.install()
        assert sys.modules["cdktf_cdktf_provider_google"] is sentinel
        assert not provider_import.is_installed()
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr


def test_a_type_created_on_the_javascript_side_resolves_to_its_unimported_module() -> None:
    # The kernel may hand back an object of a class whose module nobody imported
    # (the eager root had registered every class); jsii must import it on demand.
    result = run_python(
        """
        import sys
        from constructs_lib import provider_import
        provider_import.install()
        import cdktf, jsii
        from jsii._kernel import CreateRequest, _make_reference_for_native
        from cdktf_cdktf_provider_google.provider import GoogleProvider
        app = cdktf.App(outdir=".unused")
        stack = cdktf.TerraformStack(app, "s")
        GoogleProvider(stack, "google", project="p")
        module = "cdktf_cdktf_provider_google.compute_firewall"
        assert module not in sys.modules
        jsii.kernel.provider.create(CreateRequest(
            fqn="@cdktf/provider-google.computeFirewall.ComputeFirewall",
            args=_make_reference_for_native(jsii.kernel, [stack, "fw", {"name": "fw", "network": "default"}]),
            overrides=[], interfaces=[],
        ))
        firewall = stack.node.find_child("fw")
        assert type(firewall).__module__ == module, type(firewall)
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr


def write_hook(directory: Path) -> Path:
    from constructs_lib import provider_import

    hook = directory / "hook.js"
    values = {"package": provider_import.ASSEMBLY, "core": provider_import.TOOLKIT.core, "env_var": ENV_VAR}
    hook.write_text(provider_import.NODE_HOOK % {key: repr(value) for key, value in values.items()})
    return hook


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_hook_defers_each_submodule_until_first_use(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "@cdktf" / "provider-google"
    (package / "lib").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@cdktf/provider-google", "main": "lib/index.js"}))
    (package / "lib" / "index.js").write_text(
        'exports.fooBar = exports.baz = void 0;\nexports.fooBar = require("./foo-bar");\nexports.baz = require("./baz");\n'
    )
    for name, value in (("foo-bar", 1), ("baz", 2)):
        (package / "lib" / f"{name}.js").write_text(f"(globalThis.loaded ||= []).push({name!r});\nexports.value = {value};\n")
    hook = write_hook(tmp_path)
    script = (
        "const p = require('@cdktf/provider-google');"
        "const before = (globalThis.loaded || []).slice();"
        "const value = p.fooBar.value;"
        "console.log(JSON.stringify({before, after: globalThis.loaded, value, keys: Object.keys(p)}));"
    )

    def run(mode: str) -> dict[str, object]:
        env = clean_env(**{ENV_VAR: mode})
        done = subprocess.run(
            ["node", "--require", str(hook), "-e", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    lazy, plain = run("1"), run("0")
    assert lazy["before"] == [] and lazy["after"] == ["foo-bar"] and lazy["value"] == 1
    assert plain["before"] == ["foo-bar", "baz"] and plain["value"] == 1
    assert lazy["keys"] == plain["keys"]


def installed_stack_trace_js() -> str:
    """The CDK's own lib/tokens/private/stack-trace.js, from the jsii tarball its Python package ships."""
    from constructs_lib import jsii_kernel_process, provider_import

    assembly = jsii_kernel_process.assembly_of(provider_import.TOOLKIT.core)
    assert assembly is not None
    with tarfile.open(assembly.tarball) as tarball:
        member = tarball.extractfile("package/lib/tokens/private/stack-trace.js")
        assert member is not None
        return member.read().decode()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_hook_formats_creation_stacks_on_first_read_into_the_same_lines(tmp_path: Path) -> None:
    from constructs_lib import provider_import

    private = tmp_path / "node_modules" / provider_import.TOOLKIT.core / "lib" / "tokens" / "private"
    private.mkdir(parents=True)
    (private.parents[2] / "package.json").write_text(json.dumps({"name": provider_import.TOOLKIT.core}))
    original = installed_stack_trace_js()
    (private / "stack-trace.js").write_text(original)
    (tmp_path / "original.js").write_text(original)
    hook = write_hook(tmp_path)
    script = f"""
        let formatted = 0;
        Error.prepareStackTrace = (error, frames) => {{ formatted += 1; return [String(error), ...frames.map((f) => '    at ' + f)].join('\\n'); }};
        const {{ captureStackTrace }} = require('{provider_import.TOOLKIT.core}/lib/tokens/private/stack-trace.js');
        const original = require('./original.js').captureStackTrace;
        function createdHere() {{ return [captureStackTrace(), original()]; }}
        const [lines, expected] = createdHere();
        const before = formatted;
        const column = (line) => line.replace(/:\\d+\\)$/, ')');
        console.log(JSON.stringify({{
          swapped: String(captureStackTrace) !== String(original), before, isArray: Array.isArray(lines),
          same: JSON.stringify(lines.map(column)) === JSON.stringify(expected.map(column)),
          joined: lines.join('\\n  at ').split('\\n')[0].startsWith('createdHere '), after: formatted,
        }}));
    """

    def run(mode: str) -> dict[str, object]:
        done = subprocess.run(
            ["node", "--require", str(hook), "-e", textwrap.dedent(script)],
            cwd=tmp_path,
            env=clean_env(**{ENV_VAR: mode}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    # The original formats at once (1 before the lines are read); the hook's only when they are read.
    assert run("1") == {"swapped": True, "before": 1, "isArray": True, "same": True, "joined": True, "after": 2}
    assert run("0")["swapped"] is False


def test_the_installed_versions_are_the_tested_ones() -> None:
    """Bumping jsii, constructs, the CDK or a provider turns the fast path off (with a warning) until it is retested here."""
    from constructs_lib import provider_import

    assert provider_import.untested_versions() == {}


def test_untested_versions_get_the_plain_path_and_one_warning() -> None:
    result = run_python(
        """
        import os, sys
        import constructs_lib.provider_import as provider_import
        provider_import.TESTED_VERSIONS["jsii"] = "0.0.1"
        node_options, meta_path = os.environ.get("NODE_OPTIONS"), list(sys.meta_path)
        provider_import.install()
        provider_import.install()
        assert provider_import.PACKAGE not in sys.modules
        assert os.environ.get("NODE_OPTIONS") == node_options and sys.meta_path == meta_path
        assert not provider_import.is_installed()
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "fast provider import is off: tested with cdktf 0.21.0, cdktf-cdktf-provider-google 16.12.1" in warnings[0]
    assert "jsii 0.0.1, found jsii 1.142.0;" in warnings[0]
    assert "plain (slower) import path" in warnings[0]


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("darwin", {"HOME": "/Users/a"}, os.path.join("/Users/a", "Library", "Caches", "com.amazonaws.jsii", "package-cache")),
        ("linux", {"HOME": "/home/a"}, os.path.join("/home/a", ".cache", "aws", "jsii", "package-cache")),
        ("win32", {"HOME": "/h", "LOCALAPPDATA": "/l"}, os.path.join("/l", "AWS", "jsii", "package-cache")),
        ("darwin", {"HOME": "/Users/a", "JSII_RUNTIME_PACKAGE_CACHE_ROOT": "/c"}, "/c"),
    ],
)
def test_jsii_package_cache_root_per_platform(platform: str, environ: dict[str, str], expected: str) -> None:
    from constructs_lib import provider_import

    assert provider_import.jsii_package_cache_root(environ, platform) == expected


def test_warming_the_cache_never_fails_an_install() -> None:
    result = run_python(
        """
        import constructs_lib.provider_import as provider_import
        provider_import._CACHED_ASSEMBLIES = ((("x",), "no-such-distribution"),)
        print(provider_import.warm_jsii_cache(timeout=1))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert result.stderr.startswith("warning: could not warm the jsii package cache: ")
