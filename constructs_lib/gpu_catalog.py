"""Minimal GPU lookup for the synth review: which GPU, and how many, a machine type bundles.

Placeholder: helper #12's GPU machine catalog (same module, same ``machine_gpus``
interface) replaces this file when the branches are merged. It covers the G2,
A2 and A3 types only; anything else, and N1 (whose GPU is the instance template's
``guest_accelerator`` block), answers None.

Source: https://cloud.google.com/compute/docs/gpus and
https://cloud.google.com/compute/docs/accelerator-optimized-machines
"""

from __future__ import annotations

_G2_L4 = {4: 1, 8: 1, 12: 1, 16: 1, 24: 2, 32: 1, 48: 4, 96: 8}

_FIXED: dict[str, tuple[str, int]] = {
    **{f"g2-standard-{vcpus}": ("nvidia-l4", gpus) for vcpus, gpus in _G2_L4.items()},
    **{f"a2-highgpu-{n}g": ("nvidia-tesla-a100", n) for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": ("nvidia-tesla-a100", 16),
    **{f"a2-ultragpu-{n}g": ("nvidia-a100-80gb", n) for n in (1, 2, 4, 8)},
    **{f"a3-highgpu-{n}g": ("nvidia-h100-80gb", n) for n in (1, 2, 4, 8)},
    "a3-megagpu-8g": ("nvidia-h100-mega-80gb", 8),
    "a3-ultragpu-8g": ("nvidia-h200-141gb", 8),
}


def machine_gpus(machine_type: str) -> tuple[str, int] | None:
    """(GPU accelerator type, count) bundled with ``machine_type``; None for N1 and unknown types."""
    return _FIXED.get(machine_type)
