"""The README's commands run as written, so it cannot drift from the project again.

Every command in a ```bash block of README.md is either run here (in a scratch
copy of the repository, one shell per block so an ``export`` carries to the next
line) or listed in ``NOT_RUN`` with the reason. A new command must be added to
one of the two lists: the test fails on a command it does not know.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

RUN = {
    "make synth",
    "DEPLOYMENT_CONFIG=config/examples/three-regions.yaml make synth",
    ".venv/bin/python main.py",
    "export DEPLOYMENT_CONFIG=config/examples/tfc.yaml",
    "make tfc-bootstrap",
}
NOT_RUN = {
    "make test": "runs this test suite (and installs checkov)",
    "make unit": "runs this test suite",
    ".venv/bin/python -m pytest --snapshot-update": "runs this test suite and rewrites snapshots",
    ".venv/bin/python -m pytest -n 0 tests/test_x.py": "a template: one test module, in this process",
    "make scan": "make test runs it after pytest (Checkov on three synths); tests/test_security_scan.py covers the script",
    "make diff STACK=region-us-central1": "terraform plan needs the provider registry and Google credentials",
    "make deploy": "deploys to Google Cloud",
    'TFE_TOKEN=… npx cdktf deploy --app ".venv/bin/python tfc_bootstrap.py" --output cdktf.out.bootstrap tfc-bootstrap': "deploys to Terraform Cloud",
    "make review": "needs the base branch origin/main from a git remote; tests/test_review.py covers the review",
    ".venv/bin/python tools/review.py OLD_OUTDIR NEW_OUTDIR [--output review.md] [--limit 0]": "a template with placeholder arguments",
    "gcloud auth application-default login": "signs in to Google Cloud",
    "gcloud secrets create llm-api-key --replication-policy=automatic": "creates a secret in Google Cloud",
    "openssl rand -hex 32 | tr -d '\\n' | gcloud secrets versions add llm-api-key --data-file=-": "adds a secret version in Google Cloud",
    "make lint": "make test runs it before pytest",
    "make format": "rewrites files; make lint checks the same rules",
    "make mutate": "takes minutes; tests/test_mutate.py checks its list against the code",
    "make cdktn-check": "make test runs it after pytest (it builds the CDK Terrain environment)",
    "make fast-path-check": "make test runs it after pytest (the plain path alone takes ~10 s per deployment)",
    "make actionlint": "tests/test_workflows.py runs actionlint on the workflows",
}


def readme_blocks() -> list[list[str]]:
    """The commands of each ```bash block, comments stripped."""
    text = (REPO / "README.md").read_text()
    blocks = []
    for body in re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        commands = [re.sub(r"\s+#\s.*$", "", line).strip() for line in body.splitlines()]
        blocks.append([command for command in commands if command and not command.startswith("#")])
    return blocks


def test_every_readme_command_is_run_or_listed_with_a_reason() -> None:
    commands = [command for block in readme_blocks() for command in block]
    assert commands, "no bash blocks found in README.md"
    unknown = [command for command in commands if command not in RUN and command not in NOT_RUN]
    assert not unknown, f"classify these README commands in tests/test_readme.py: {unknown}"
    assert set(RUN) | set(NOT_RUN) == set(commands), "tests/test_readme.py lists commands the README no longer has"


@pytest.fixture(scope="module")
def scratch_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The project's files (tracked and new), sharing the installed .venv and node_modules."""
    root = tmp_path_factory.mktemp("readme") / "repo"
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    for installed in (".venv", "node_modules"):
        (root / installed).symlink_to((REPO / installed).resolve())
    for lock in ("Pipfile.lock", "package-lock.json", "tools/checkov/Pipfile.lock"):
        os.utime(root / lock, (0, 0))  # make sees the shared installs as up to date: never reinstall them
    yield root


def user_environment() -> dict[str, str]:
    """A user's shell: none of what the test session or the Makefile sets."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEPLOYMENT_CONFIG", "CDKTF_OUTDIR", "JSII_NODE", "NODE_OPTIONS", "LLM_FAST_PROVIDER_IMPORT")
        and not k.startswith(("PYTEST", "MAKE", "MFLAGS"))
    }
    config_file = env.get("TF_CLI_CONFIG_FILE")
    if config_file and not Path(config_file).exists():
        del env["TF_CLI_CONFIG_FILE"]  # this machine's setting, not the project's (see tests/test_cli.py)
    return env


def runnable_blocks() -> list[list[str]]:
    """The blocks with a command to run, less those whose runnable commands another block runs first,
    in the same order (the quick start's `make synth` opens "Using it"'s block): each is run once."""
    runnable = [block for block in readme_blocks() if any(command in RUN for command in block)]
    run = [[command for command in block if command in RUN] for block in runnable]
    return [
        block
        for block, commands in zip(runnable, run, strict=True)
        if not any(other != commands and other[: len(commands)] == commands for other in run)
    ]


RUNNABLE_BLOCKS = runnable_blocks()


@pytest.mark.parametrize("block", RUNNABLE_BLOCKS, ids=[block[0] for block in RUNNABLE_BLOCKS])
def test_readme_block_runs_as_written(scratch_repository: Path, block: list[str]) -> None:
    script = "\n".join(["set -euo pipefail", *(command if command in RUN else ": not run" for command in block)])
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=scratch_repository,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output and "[ERROR]" not in output, output
    assert "end-of-life" not in output.lower() and "!!!!!" not in output, output  # jsii's Node banner
    assert (scratch_repository / "cdktf.out" / "manifest.json").is_file()
    if "make tfc-bootstrap" in block:
        assert (scratch_repository / "cdktf.out.bootstrap" / "manifest.json").is_file()
