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
import sys

from constructs_lib import provider_import, run_environment
from constructs_lib.config import ConfigError, config_path, load_config, output_directory
from constructs_lib.fast_exit import exit_now
from constructs_lib.output_directory import OutputDirectoryError, replace_on_success
from constructs_lib.validation.synthesized_app import RuleViolations, require_rules

RUN_BY_CDKTF_CLI = "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS" in os.environ
"""The cdktf CLI sets this when it runs the app (and removes stale stack folders itself)."""


def main() -> int:
    source = outdir = ""
    try:
        run_environment.handle_signals()
        source = config_path(os.environ)
        outdir = output_directory(os.environ)
        config = load_config(source)
        run_environment.prepare(os.environ)
        provider_import.install()  # load only the provider resources the stacks use
        from stacks.app import build_app  # heavy: loads cdktf and the provider

        with replace_on_success(outdir, keep_removed_stacks=RUN_BY_CDKTF_CLI) as staging:
            build_app(config, outdir=staging).synth()
            require_rules(staging)  # every stack's violations; raising keeps the output as it was
    except run_environment.Interrupted as interruption:
        print(
            f"error: interrupted ({interruption}); {outdir or 'the output'} holds the last complete synth",
            file=sys.stderr,
        )
        exit_now(interruption.exit_status, run_atexit=False)
    except (ConfigError, OutputDirectoryError) as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error.filename or outdir}: cannot write the output: {error.strerror or error}", file=sys.stderr)
        return 1
    except RuleViolations as error:
        for violation in error.lines:
            print(f"error: {source}: {violation}", file=sys.stderr)
        return 1
    except RuntimeError as error:  # e.g. a full disk while jsii writes: its first line is the cause
        cause = (str(error).strip().splitlines() or ["unknown error"])[0][:300]
        print(f"error: {outdir}: synthesis failed: {cause}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    exit_now(main())  # once the output is written: no interpreter teardown
