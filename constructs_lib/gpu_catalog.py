"""The GPU machine catalog and GPU zone table, and the checks the deployment file runs against them.

Google Cloud accepts a template for a machine type that does not exist, a GPU an N1
shape cannot carry, or a zone without the GPU, and the managed instance group then
stays empty while the apply looks green. The two tables under ``constructs_lib/data/``
(taken from Google's documentation; see their headers and docs/gpu-catalog.md) let
synth refuse such a fleet with one line that names what would work.

The tables are read once, on first use, and never change at run time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from constructs_lib import gcp_regions

DATA = Path(__file__).resolve().parent / "data"
MACHINE_TYPES_FILE = DATA / "gpu_machine_types.yaml"
ZONES_FILE = DATA / "gpu_zones.yaml"

Provisioning = Literal["on_demand", "spot", "reservation", "flex_start"]
PROVISIONING_MODELS: tuple[Provisioning, ...] = ("on_demand", "spot", "reservation", "flex_start")
SUPPORTED_PROVISIONING: tuple[Provisioning, ...] = ("on_demand", "spot", "reservation")
"""What a deployment may choose: Flex-start cannot be expressed for a MIG by the pinned provider."""


@dataclass(frozen=True, kw_only=True)
class MachineSpec:
    """One accelerator-optimized machine type (its GPUs are part of the type)."""

    name: str
    series: str
    gpu: str
    gpu_count: int
    vcpus: int
    memory_gb: float
    boot_disk_types: tuple[str, ...]
    provisioning: tuple[Provisioning, ...]
    nic_type: str | None = None
    """``GVNIC`` for series that boot only with Google Virtual NIC; None keeps the default."""


@dataclass(frozen=True, kw_only=True)
class N1Shape:
    """A predefined N1 machine type that a GPU can be attached to."""

    name: str
    vcpus: int
    memory_gb: float


@dataclass(frozen=True, kw_only=True)
class N1Gpu:
    """A GPU attached to N1: each allowed count with the largest shape it fits (vCPUs, memory GB)."""

    name: str
    limits: MappingProxyType[int, tuple[int, float]]

    def fits(self, count: int, shape: N1Shape) -> bool:
        max_vcpus, max_memory = self.limits[count]
        return shape.vcpus <= max_vcpus and shape.memory_gb <= max_memory


@dataclass(frozen=True, kw_only=True)
class Catalog:
    """Both tables, loaded and cross-indexed."""

    taken: str
    machines: MappingProxyType[str, MachineSpec]
    n1_shapes: MappingProxyType[str, N1Shape]
    n1_gpus: MappingProxyType[str, N1Gpu]
    n1_boot_disk_types: tuple[str, ...]
    n1_provisioning: tuple[Provisioning, ...]
    zones: MappingProxyType[str, tuple[str, ...]]
    zones_taken: str


def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: not a mapping")
    return data


@functools.cache
def catalog() -> Catalog:
    """The shipped tables (read once per process)."""
    types = _read(MACHINE_TYPES_FILE)
    machines: dict[str, MachineSpec] = {}
    for series, family in types["families"].items():
        narrowed = family.get("provisioning_by_type", {})
        for name, (gpu_count, vcpus, memory_gb) in family["machine_types"].items():
            machines[name] = MachineSpec(
                name=name,
                series=series,
                gpu=family["gpu"],
                gpu_count=gpu_count,
                vcpus=vcpus,
                memory_gb=float(memory_gb),
                boot_disk_types=tuple(family["boot_disk_types"]),
                provisioning=tuple(narrowed.get(name, family["provisioning"])),
                nic_type=family.get("nic_type"),
            )
    n1 = types["n1"]
    shapes = {name: N1Shape(name=name, vcpus=v, memory_gb=float(m)) for name, (v, m) in n1["shapes"].items()}
    gpus = {
        name: N1Gpu(
            name=name,
            limits=MappingProxyType({int(count): (v, float(m)) for count, (v, m) in limits.items()}),
        )
        for name, limits in n1["gpus"].items()
    }
    zone_table = _read(ZONES_FILE)
    return Catalog(
        taken=str(types["taken"]),
        machines=MappingProxyType(machines),
        n1_shapes=MappingProxyType(shapes),
        n1_gpus=MappingProxyType(gpus),
        n1_boot_disk_types=tuple(n1["boot_disk_types"]),
        n1_provisioning=tuple(n1["provisioning"]),
        zones=MappingProxyType({gpu: tuple(zones) for gpu, zones in zone_table["zones"].items()}),
        zones_taken=str(zone_table["taken"]),
    )


def machine_gpus(machine_type: str) -> tuple[str, int] | None:
    """(GPU model, GPU count) bundled with an accelerator-optimized type; None for N1 or unknown types.

    An N1 machine's GPU is the region's ``accelerator`` block, not part of the type.
    """
    spec = catalog().machines.get(machine_type)
    return None if spec is None else (spec.gpu, spec.gpu_count)


def region_gpus(machine_type: str, accelerator: tuple[str, int] | None) -> tuple[str, int] | None:
    """The GPU model and count a VM of this region has, whichever way it gets them."""
    return machine_gpus(machine_type) or accelerator


def boot_disk_type(machine_type: str) -> str:
    """The preferred boot disk the machine series accepts (Hyperdisk for A3/A4/G4)."""
    spec = catalog().machines.get(machine_type)
    return spec.boot_disk_types[0] if spec is not None else catalog().n1_boot_disk_types[0]


def nic_type(machine_type: str) -> str | None:
    """``GVNIC`` where the series requires Google Virtual NIC (A3, A4, G4), else None (the default NIC)."""
    spec = catalog().machines.get(machine_type)
    return None if spec is None else spec.nic_type


def provisioning_models(machine_type: str) -> tuple[Provisioning, ...]:
    """How Google sells this machine type (catalog words: on_demand, spot, reservation, flex_start)."""
    spec = catalog().machines.get(machine_type)
    return spec.provisioning if spec is not None else catalog().n1_provisioning


def gpu_zones_in(region: str, gpu: str) -> tuple[str, ...]:
    """The region's zones that offer the GPU, in the region's zone order."""
    offered = set(catalog().zones.get(gpu, ()))
    return tuple(zone for zone in gcp_regions.ZONES[region] if zone in offered)


def shorthand(names: list[str]) -> str:
    """``g2-standard-4, -8, -12``: each name in full once per stem, then only the part that changes."""
    parts: list[str] = []
    stem = None
    for name in names:
        head, _, tail = name.rpartition("-")
        parts.append(f"-{tail}" if head == stem else name)
        stem = head
    return ", ".join(parts)


def _family_key(machine_type: str) -> str:
    return machine_type.split("-", 1)[0]


def _series_label(family: str) -> str:
    return family.upper()


def _types_of_family(family: str) -> list[str]:
    if family == "n1":
        return list(catalog().n1_shapes)
    return [name for name in catalog().machines if _family_key(name) == family]


def _families() -> list[str]:
    return sorted({_family_key(name) for name in catalog().machines} | {"n1"})


def check_machine(machine_type: str, accelerator: tuple[str, int] | None) -> None:
    """Raise ValueError("<field>: <what is allowed>") unless the catalog sells this machine and GPU."""
    family = _family_key(machine_type)
    if family not in _families():
        raise ValueError(
            f"machine_type: {machine_type!r} is not an x86 GPU machine type; families: "
            f"{', '.join(f for f in _families() if f != 'n1')} (GPUs bundled) or n1 (with accelerator)"
        )
    known = _types_of_family(family)
    if machine_type not in known:
        kind = "an N1 machine type that takes a GPU" if family == "n1" else f"a {_series_label(family)} machine type"
        raise ValueError(f"machine_type: {machine_type} is not {kind}; {_series_label(family)}: {shorthand(known)}")
    if family != "n1":
        if accelerator is not None:
            bundled, bundled_count = machine_gpus(machine_type) or ("", 0)
            raise ValueError(
                f"accelerator: {machine_type} comes with {bundled_count} x {bundled}; remove accelerator "
                "(only N1 machine types take one)"
            )
        return
    if accelerator is None:
        raise ValueError(
            f"accelerator: required for N1 machine types (the GPU to attach): one of {', '.join(catalog().n1_gpus)}"
        )
    gpu_name, count = accelerator
    gpu = catalog().n1_gpus.get(gpu_name)
    if gpu is None:
        attachable = ", ".join(catalog().n1_gpus)
        owners = sorted({spec.series for spec in catalog().machines.values() if spec.gpu == gpu_name})
        hint = f" ({gpu_name} comes with {', '.join(owners)} machine types)" if owners else ""
        raise ValueError(f"accelerator.type: {gpu_name} does not attach to N1; one of: {attachable}{hint}")
    if count not in gpu.limits:
        raise ValueError(
            f"accelerator.count: {gpu_name} attaches to N1 in counts of {', '.join(map(str, gpu.limits))}, not {count}"
        )
    shape = catalog().n1_shapes[machine_type]
    if not gpu.fits(count, shape):
        fitting = [s.name for s in catalog().n1_shapes.values() if gpu.fits(count, s)]
        raise ValueError(
            f"machine_type: {machine_type} ({shape.vcpus} vCPUs, {shape.memory_gb:g} GB) is too large for "
            f"{count} x {gpu_name}; one of: {shorthand(fitting)}"
        )


def check_provisioning(machine_type: str, provisioning: str) -> None:
    """Raise ValueError unless Google sells this machine type through the chosen provisioning model."""
    allowed = provisioning_models(machine_type)
    if provisioning in allowed:
        return
    usable = [model for model in allowed if model in SUPPORTED_PROVISIONING]
    note = (
        " (flex_start cannot be expressed for a managed instance group here; see README)"
        if "flex_start" in allowed
        else ""
    )
    spec = catalog().machines.get(machine_type)
    alternatives = ""
    if spec is not None and provisioning in SUPPORTED_PROVISIONING:
        others = [
            other.name
            for other in catalog().machines.values()
            if other.series == spec.series and other.name != machine_type and provisioning in other.provisioning
        ]
        if others:
            alternatives = f", or a type sold {provisioning}: {shorthand(others)}"
    raise ValueError(
        f"provisioning: Google sells {machine_type} only as {', '.join(allowed)}; "
        f"use provisioning: {' or '.join(usable) or 'a different machine type'}{note}{alternatives}"
    )


def resolve_zones(region: str, gpu: str, zones: tuple[str, ...] | None) -> tuple[str, ...]:
    """The zones to spread over: the listed ones if they all offer the GPU, else the region's that do.

    Raises ValueError naming the zones that would work (or that the region has none).
    """
    offered = gpu_zones_in(region, gpu)
    if not offered:
        regions = sorted({zone.rsplit("-", 1)[0] for zone in catalog().zones.get(gpu, ())})
        raise ValueError(f"region: {region} has no zone with {gpu}; regions that offer it: {', '.join(regions)}")
    if zones is None:
        return offered
    for zone in zones:
        if zone not in offered:
            raise ValueError(f"zones: {zone} does not offer {gpu}; zones of {region} that do: {', '.join(offered)}")
    return zones


_TP_FLAG = re.compile(r"^(--tensor-parallel-size|-tp)(=|$)")


def sets_tensor_parallelism(args: tuple[str, ...]) -> bool:
    """True if the server arguments already choose vLLM's tensor parallelism."""
    return any(_TP_FLAG.match(arg) for arg in args)
