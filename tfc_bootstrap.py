#!/usr/bin/env python
"""Synthesize the opt-in Terraform Cloud bootstrap for a deployment with ``state.backend: tfc``.

`make tfc-bootstrap` writes it to ``cdktf.out.bootstrap``; apply it once with
`DEPLOYMENT_CONFIG=<file> TFE_TOKEN=… npx cdktf deploy --app ".venv/bin/python tfc_bootstrap.py"
--output cdktf.out.bootstrap tfc-bootstrap` (``DEPLOYMENT_CONFIG`` must name the tfc file;
the default deployment uses local state).
"""

from __future__ import annotations

import os
import sys

from constructs_lib import provider_import, run_environment, synth_failures, toolkit
from constructs_lib.config import ConfigError, TfcState, config_path, load_config, output_directory
from constructs_lib.output_directory import check_replaceable, replace_on_success


def main() -> int:
    source = outdir = ""
    try:
        run_environment.handle_signals()
        source = config_path(os.environ)
        outdir = output_directory({"CDKTF_OUTDIR": os.environ.get("CDKTF_OUTDIR", "cdktf.out.bootstrap")})
        config = load_config(source)
        if not isinstance(config.state, TfcState):
            raise ConfigError(
                source,
                "state.backend",
                f"is {config.state.backend!r}; the bootstrap is for tfc (set DEPLOYMENT_CONFIG to the tfc file)",
            )
        check_replaceable(outdir)
        run_environment.prepare(os.environ)
        toolkit.tfe_package()  # cdktf only: CDK Terrain has no tfe provider
        provider_import.install()  # load only the Google provider resources the stack uses
        provider_import.start_kernel()  # node loads the assemblies while Python imports the bindings
        from stacks.tfc_bootstrap_stack import build_bootstrap_app

        with replace_on_success(outdir) as staging:
            build_bootstrap_app(config, outdir=staging).synth()
    except synth_failures.FAILURES as error:
        return synth_failures.report(error, source=source, outdir=outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
