#!/usr/bin/env python
"""Synthesize the deployment file into Terraform JSON: `python main.py` or `cdktf synth`.

The deployment file and the environment are checked before cdktf is imported,
and the stacks are synthesized into a staging directory that is swapped in as
the output directory only on success: any failure, Ctrl-C included, prints one
``error:`` line and leaves the last good output exactly as it was. The GCP rules
run on the synthesized JSON before it is published; every violation, in every
stack, gets its own ``error:`` line.
"""

from __future__ import annotations

import os

from constructs_lib import provider_import, run_environment, synth_failures
from constructs_lib.config import config_path, load_config, output_directory
from constructs_lib.fast_exit import exit_now
from constructs_lib.output_directory import check_replaceable, replace_on_success
from constructs_lib.validation.synthesized_app import require_rules

RUN_BY_CDKTF_CLI = "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS" in os.environ
"""The cdktf CLI sets this when it runs the app (and removes stale stack folders itself)."""


def main() -> int:
    source = outdir = ""
    try:
        run_environment.handle_signals()
        source = config_path(os.environ)
        outdir = output_directory(os.environ)
        config = load_config(source)
        check_replaceable(outdir)  # in a second, not after the provider import
        run_environment.prepare(os.environ)
        provider_import.install()  # load only the provider resources the stacks use
        provider_import.start_kernel()  # node loads the assemblies while Python imports the bindings
        from stacks.app import build_app  # heavy: loads cdktf and the provider

        with replace_on_success(outdir, keep_removed_stacks=RUN_BY_CDKTF_CLI) as staging:
            build_app(config, outdir=staging).synth()
            require_rules(staging)  # every stack's violations; raising keeps the output as it was
    except synth_failures.FAILURES as error:
        return synth_failures.report(error, source=source, outdir=outdir)
    return 0


if __name__ == "__main__":
    exit_now(main())  # once the output is written: no interpreter teardown
