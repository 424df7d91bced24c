"""The Google Cloud regions a deployment may name, with their zones.

Shipped with the app so that a typo in a region or zone fails at load time
instead of at `terraform apply`. The list is append-only: a region's position
fixes its default address ranges (see `naming.default_serving_cidr`), so
reordering it would move every region's subnets.
"""

from types import MappingProxyType

_REGIONS: tuple[tuple[str, str], ...] = (
    ("us-central1", "a b c f"),
    ("us-east1", "b c d"),
    ("us-east4", "a b c"),
    ("us-east5", "a b c"),
    ("us-south1", "a b c"),
    ("us-west1", "a b c"),
    ("us-west2", "a b c"),
    ("us-west3", "a b c"),
    ("us-west4", "a b c"),
    ("northamerica-northeast1", "a b c"),
    ("northamerica-northeast2", "a b c"),
    ("northamerica-south1", "a b c"),
    ("southamerica-east1", "a b c"),
    ("southamerica-west1", "a b c"),
    ("europe-west1", "b c d"),
    ("europe-west2", "a b c"),
    ("europe-west3", "a b c"),
    ("europe-west4", "a b c"),
    ("europe-west6", "a b c"),
    ("europe-west8", "a b c"),
    ("europe-west9", "a b c"),
    ("europe-west10", "a b c"),
    ("europe-west12", "a b c"),
    ("europe-north1", "a b c"),
    ("europe-north2", "a b c"),
    ("europe-central2", "a b c"),
    ("europe-southwest1", "a b c"),
    ("asia-east1", "a b c"),
    ("asia-east2", "a b c"),
    ("asia-northeast1", "a b c"),
    ("asia-northeast2", "a b c"),
    ("asia-northeast3", "a b c"),
    ("asia-south1", "a b c"),
    ("asia-south2", "a b c"),
    ("asia-southeast1", "a b c"),
    ("asia-southeast2", "a b c"),
    ("australia-southeast1", "a b c"),
    ("australia-southeast2", "a b c"),
    ("me-west1", "a b c"),
    ("me-central1", "a b c"),
    ("me-central2", "a b c"),
    ("africa-south1", "a b c"),
)

ZONES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {region: tuple(f"{region}-{z}" for z in suffixes.split()) for region, suffixes in _REGIONS}
)
"""Region name -> its zones, e.g. ``ZONES["us-east1"] == ("us-east1-b", ...)``."""

INDEX: MappingProxyType[str, int] = MappingProxyType(
    {region: position for position, (region, _) in enumerate(_REGIONS)}
)
"""Region name -> its fixed position in the shipped list."""
