"""The app reaches cdktf/cdktn and their providers only through ``constructs_lib.toolkit``.

Moving to CDK Terrain is one environment variable only while no module
imports a CDK directly; this test names every module that does.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib import toolkit
from tests.conftest import MAIN

REPO = Path(__file__).resolve().parent.parent
SEAM = REPO / "constructs_lib" / "toolkit"
CDK_MODULES = ("cdktf", "cdktn")
"""Top-level names of the CDKs and their prebuilt providers (``cdktf_cdktf_provider_google``, ``cdktn_provider_google``)."""
APP_CODE = ("main.py", "tfc_bootstrap.py", "stacks", "constructs_lib", "tools", "tests")
SKIPPED_DIRS = {".venv", "node_modules", "__pycache__"}


def _is_cdk(module: str) -> bool:
    top = module.split(".")[0]
    return any(top == name or top.startswith(name + "_") for name in CDK_MODULES)


def direct_cdk_imports(source: str, filename: str = "<source>") -> list[str]:
    """``<file>:<line>: <module>`` for each import of a CDK module, static or via ``importlib.import_module("...")``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            modules = [node.args[0].value]
        found += [(node.lineno, f"{filename}:{node.lineno}: {module}") for module in modules if _is_cdk(module)]
    return [line for _, line in sorted(found)]


def app_modules() -> list[Path]:
    paths: list[Path] = []
    for entry in APP_CODE:
        root = REPO / entry
        if root.is_file():
            paths.append(root)
            continue
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = [name for name in dirnames if name not in SKIPPED_DIRS and not name.startswith(".")]
            paths += [Path(directory) / name for name in filenames if name.endswith(".py")]
    return sorted(path for path in paths if SEAM not in path.parents and path != Path(__file__).resolve())


def test_no_module_outside_the_seam_imports_a_cdk() -> None:
    modules = app_modules()
    assert {REPO / "main.py", REPO / "stacks" / "base.py", REPO / "tests" / "conftest.py"} <= set(modules)
    offenders = [
        line
        for path in modules
        for line in direct_cdk_imports(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    ]
    assert not offenders, "import these through constructs_lib.toolkit (or .google / .tfe):\n" + "\n".join(offenders)


def test_the_scan_finds_every_form_of_direct_import() -> None:
    source = (
        "import cdktf\n"
        "from cdktn import App\n"
        "from cdktf_cdktf_provider_google.compute_network import ComputeNetwork\n"
        "import cdktn_provider_google.provider as google\n"
        "def late():\n"
        "    from cdktf_cdktf_provider_tfe.workspace import Workspace\n"
        "    importlib.import_module('cdktf')\n"
        "from constructs_lib.toolkit import App\n"
        "from constructs import Construct\n"
        "import cdktf_helpers_of_mine_elsewhere_are_flagged_too\n"
    )
    assert [line.split(": ", 1)[1] for line in direct_cdk_imports(source)] == [
        "cdktf",
        "cdktn",
        "cdktf_cdktf_provider_google.compute_network",
        "cdktn_provider_google.provider",
        "cdktf_cdktf_provider_tfe.workspace",
        "cdktf",
        "cdktf_helpers_of_mine_elsewhere_are_flagged_too",
    ]


def test_default_is_cdktf_and_cdktn_is_selectable() -> None:
    assert toolkit.selected({}).core == "cdktf"
    assert toolkit.selected({"LLM_CDK_TOOLKIT": " CDKTN "}).google == "cdktn_provider_google"
    assert toolkit.selected({"LLM_CDK_TOOLKIT": ""}).name == "cdktf"


def test_unknown_toolkit_is_one_config_error_line() -> None:
    with pytest.raises(toolkit.ToolkitError) as raised:
        toolkit.selected({"LLM_CDK_TOOLKIT": "pulumi"})
    assert str(raised.value) == (
        "error: environment: LLM_CDK_TOOLKIT: 'pulumi' is not a toolkit; allowed: cdktf, cdktn (unset: cdktf)"
    )


def test_cdktn_has_no_tfe_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    assert toolkit.tfe_package() == "cdktf_cdktf_provider_tfe"
    monkeypatch.setenv(toolkit.ENV_VAR, "cdktn")
    with pytest.raises(toolkit.ToolkitError, match="'cdktn', which has no tfe provider for the Terraform Cloud bootstrap"):
        toolkit.tfe_package()


def test_a_toolkit_missing_from_the_environment_is_one_line_not_a_traceback() -> None:
    with pytest.raises(toolkit.ToolkitError, match="cdktf_not_installed_here is not installed in this Python environment"):
        toolkit.import_module("cdktf_not_installed_here.core")


def test_core_names_come_from_the_selected_toolkit() -> None:
    from constructs_lib.toolkit import App, TerraformStack

    assert App.__module__.split(".")[0] == TerraformStack.__module__.split(".")[0] == toolkit.selected().core


def test_a_provider_class_loads_only_its_resource_module() -> None:
    from constructs_lib.toolkit.google import ComputeRouterNatSubnetwork, GoogleProvider

    package = toolkit.selected().google
    assert ComputeRouterNatSubnetwork.__module__ == f"{package}.compute_router_nat"
    assert GoogleProvider.__module__ == f"{package}.provider"
    with pytest.raises(ImportError, match="ComputeNoSuchResource"):
        from constructs_lib.toolkit.google import ComputeNoSuchResource  # noqa: F401


def test_main_rejects_an_unknown_toolkit_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, toolkit.ENV_VAR: "pulumi", "CDKTF_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run(MAIN, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: environment: LLM_CDK_TOOLKIT: 'pulumi' is not a toolkit; allowed: cdktf, cdktn (unset: cdktf)"
    ]
    assert not (tmp_path / "out").exists()


def test_tfc_bootstrap_on_cdktn_says_to_run_it_on_cdktf(tmp_path: Path) -> None:
    env = {
        **os.environ,
        toolkit.ENV_VAR: "cdktn",
        "DEPLOYMENT_CONFIG": "config/examples/tfc.yaml",
        "CDKTF_OUTDIR": str(tmp_path / "out"),
    }
    result = subprocess.run(
        [sys.executable, "tfc_bootstrap.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: environment: LLM_CDK_TOOLKIT: is 'cdktn', which has no tfe provider for the Terraform Cloud "
        "bootstrap; run the bootstrap on cdktf (unset LLM_CDK_TOOLKIT)"
    ]
    assert not (tmp_path / "out").exists()
