#!/usr/bin/env python
"""Synthesize the deployment file into Terraform JSON: `python main.py` or `cdktf synth`.

The deployment file is validated before cdktf is imported, and the stacks are
synthesized into a fresh directory that replaces the output directory only on
success: a bad input prints one ``error:`` line and leaves the last good output
exactly as it was.
"""

from __future__ import annotations

import os
import sys

from constructs_lib import provider_import
from constructs_lib.config import ConfigError, config_path, load_config, output_directory
from constructs_lib.fast_exit import exit_now
from constructs_lib.output_directory import replace_on_success


def main() -> int:
    source = outdir = ""
    try:
        source = config_path(os.environ)
        outdir = output_directory(os.environ)
        config = load_config(source)
        provider_import.install()  # load only the provider resources the stacks use
        from stacks.app import build_app  # heavy: loads cdktf and the provider

        with replace_on_success(outdir) as staging:
            build_app(config, outdir=staging).synth()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error.filename or outdir}: cannot write the output: {error.strerror or error}", file=sys.stderr)
        return 1
    except RuntimeError as error:
        from constructs_lib.validation import violations_from_error

        violations = violations_from_error(error)
        if violations is None:
            raise
        for violation in violations:
            print(f"error: {source}: {violation}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    exit_now(main())  # once the output is written: no interpreter teardown
