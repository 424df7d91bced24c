"""The NVIDIA driver each GPU family gets on Container-Optimized OS, pinned instead of ``latest``.

``cos-extensions install gpu -- --version=<v>`` installs a driver that Google
has signed for the running COS image; ``latest`` changes under a running
fleet, so a new VM could come up with a driver the serving image was never
tested with. Each family is pinned to an NVIDIA driver branch that supports it
(Hopper needs R550+, Blackwell R570+ / R580+), on a COS LTS milestone
(``serving_pool.BOOT_IMAGE``) so the set of signed drivers stays put; within a
branch the patch level is the milestone's, so an exact pin is the override's job.
``server.gpu_driver_version`` overrides the pin (a branch ``R<nnn>``, an exact
version such as ``550.90.07``, or ``default``, the milestone's default driver).

Sources: https://cloud.google.com/container-optimized-os/docs/how-to/run-gpus
and https://cloud.google.com/compute/docs/gpus/install-drivers-gpu (minimum
driver per GPU).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

DriverVersion = Annotated[str, StringConstraints(pattern=r"^(R[0-9]{3}|[0-9]{3}\.[0-9]{1,3}(\.[0-9]{1,3})?|default)$")]

DRIVER_BY_MACHINE_FAMILY = {
    "a2": "R535",  # A100
    "g2": "R535",  # L4
    "a3": "R550",  # H100 / H200
    "a4": "R570",  # B200
    "g4": "R580",  # RTX PRO 6000 Blackwell
}
DRIVER_BY_ACCELERATOR = {
    "nvidia-tesla-t4": "R535",
    "nvidia-tesla-v100": "R535",
    "nvidia-tesla-p4": "R535",
    "nvidia-tesla-p100": "R535",
}
FALLBACK_DRIVER = "default"
"""An N1 accelerator not in the table: the COS milestone's default driver (also pinned by the milestone)."""


def pinned_driver(machine_type: str, accelerator_type: str | None, override: str | None = None) -> str:
    """The ``-version`` for ``cos-extensions install gpu`` on this machine."""
    if override is not None:
        return override
    if accelerator_type is not None:
        return DRIVER_BY_ACCELERATOR.get(accelerator_type, FALLBACK_DRIVER)
    return DRIVER_BY_MACHINE_FAMILY.get(machine_type.split("-", 1)[0], FALLBACK_DRIVER)
