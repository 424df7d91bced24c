"""Compose the deployment's stacks in deploy order: network, regions, global frontend."""

from __future__ import annotations

from constructs_lib.config import DeploymentConfig
from constructs_lib.toolkit import App
from stacks.global_frontend_stack import GlobalFrontendStack
from stacks.network_stack import NetworkStack
from stacks.regional_stack import RegionalStack


def build_app(config: DeploymentConfig, *, outdir: str) -> App:
    """An App with every stack of ``config``; dependencies make `cdktf deploy '*'` order itself."""
    app = App(outdir=outdir, stack_traces=False)
    network = NetworkStack(app, config=config)
    frontend = GlobalFrontendStack(app, config=config)
    for region in config.regions:
        regional = RegionalStack(app, config=config, region=region)
        regional.add_dependency(network)
        if not region.decommission:
            frontend.add_dependency(regional)
    return app
