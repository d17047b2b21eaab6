"""The clouds and regions a stack may name, with their zones and default jurisdiction.

NOTE: a snapshot of the zones each cloud listed publicly in 2025, kept by hand. A region or
zone missing here is rejected by the config check even if the cloud has since added it; add
it to this table to use it.
"""

from dataclasses import dataclass

from components.errors import ConfigError
from components.labels import CLOUDS


@dataclass(frozen=True)
class CloudRegion:
    cloud: str
    name: str
    zones: tuple[str, ...]
    jurisdiction: str
    """Data residency of the region: `us`, `eu` or `apac`."""


def _aws(name: str, suffixes: str, jurisdiction: str) -> CloudRegion:
    return CloudRegion("aws", name, tuple(name + s for s in suffixes), jurisdiction)


def _gcp(name: str, suffixes: str, jurisdiction: str) -> CloudRegion:
    return CloudRegion("gcp", name, tuple(f"{name}-{s}" for s in suffixes), jurisdiction)


_REGIONS = (
    _aws("us-east-1", "abcdef", "us"),
    _aws("us-east-2", "abc", "us"),
    _aws("us-west-2", "abcd", "us"),
    _aws("eu-west-1", "abc", "eu"),
    _aws("eu-west-2", "abc", "eu"),
    _aws("eu-west-3", "abc", "eu"),
    _aws("eu-central-1", "abc", "eu"),
    _aws("eu-north-1", "abc", "eu"),
    _aws("ap-southeast-1", "abc", "apac"),
    _aws("ap-southeast-2", "abc", "apac"),
    _aws("ap-northeast-1", "acd", "apac"),
    _gcp("us-central1", "abcf", "us"),
    _gcp("us-east1", "bcd", "us"),
    _gcp("us-east4", "abc", "us"),
    _gcp("us-west1", "abc", "us"),
    _gcp("europe-west1", "bcd", "eu"),
    _gcp("europe-west3", "abc", "eu"),
    _gcp("europe-west4", "abc", "eu"),
    _gcp("europe-north1", "abc", "eu"),
    _gcp("asia-northeast1", "abc", "apac"),
    _gcp("asia-southeast1", "abc", "apac"),
)

REGIONS: dict[tuple[str, str], CloudRegion] = {(r.cloud, r.name): r for r in _REGIONS}


def lookup_region(cloud: str, name: str, key: str = "region") -> CloudRegion:
    """Return the catalogue entry of a region, or raise ConfigError naming the known ones."""
    if cloud not in CLOUDS:
        raise ConfigError("cloud", cloud, "one of " + ", ".join(CLOUDS))
    region = REGIONS.get((cloud, name))
    if region is None:
        known = sorted(n for (c, n) in REGIONS if c == cloud)
        raise ConfigError(key, name, f"a region of {cloud}: " + ", ".join(known))
    return region
