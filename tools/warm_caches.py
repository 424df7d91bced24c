#!/usr/bin/env python
"""Fill the per-user caches a synth reads, so that the first synth after an install is as fast as the next.

* jsii's package cache: the provider's per-type index (``provider_import.warm_jsii_cache``), and
  with it the kernel's runtime files (``jsii_kernel_process.cached_runtime``, written when it starts);
* the lean bindings (``constructs_lib/lean_bindings.py``): every binding module the stacks import,
  compiled without annotations for this interpreter's ``-O`` level.

`make install` runs it twice, ``python -O`` (as cdktf.json runs the app) and ``python`` (as the
tests run).  Never fails an install: a cold cache only makes the first synths slower.

    .venv/bin/python -O tools/warm_caches.py
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from constructs_lib import provider_import, toolkit

STACK_MODULES = ("stacks.app", "stacks.tfc_bootstrap_stack")
"""Everything main.py and tfc_bootstrap.py import after ``provider_import.install()``."""


def main() -> int:
    provider_import.install()  # the lean finder first: without it the stacks would import the whole provider
    provider_import.warm_jsii_cache()
    for module in STACK_MODULES:
        if module == "stacks.tfc_bootstrap_stack" and toolkit.selected().tfe is None:
            continue  # CDK Terrain has no tfe provider build: tfc_bootstrap.py runs on cdktf only
        try:
            importlib.import_module(module)
        except Exception as error:  # noqa: BLE001 - warming is an optimisation; never fatal
            print(f"warning: could not compile the bindings {module} imports: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
