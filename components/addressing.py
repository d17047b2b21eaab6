"""The address plan: disjoint ranges for every cell and the region's control plane (I6).

A region stack owns one private supernet. The supernet is split into blocks of the cell
prefix length. Cells take the lowest free blocks in their configured order unless they pin
a range, and the region's control-plane network takes the last block unless it pins one.
Each block is then carved into one public, one private and one isolated subnet per zone,
plus the GKE secondary ranges for pods and services and a /28 for a private GKE control
plane endpoint. AWS leaves the pods and services ranges unused, so a cell keeps the same
plan on both clouds.

Blocks are carved largest first from the start of the range, so every subnet is aligned to
its own size and the plan is a pure function of its inputs.
"""

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from components.errors import ConfigError

Network = ipaddress.IPv4Network

# Private ranges a supernet may come from: RFC 1918 and the RFC 6598 shared space.
PRIVATE_RANGES = tuple(
    ipaddress.ip_network(r)
    for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
# AWS accepts subnets from /16 to /28; GKE wants exactly /28 for the control plane endpoint.
SMALLEST_SUBNET_PREFIX = 28
CONTROL_PLANE_ENDPOINT_PREFIX = 28


@dataclass(frozen=True)
class SubnetPrefixLengths:
    """Prefix lengths of the ranges carved from each cell range."""

    public: int | None = 22
    """Per zone: load balancers and NAT gateways."""
    private: int | None = 19
    """Per zone: nodes, and pods on AWS, whose VPC CNI gives pods VPC addresses."""
    isolated: int | None = 24
    """Per zone: databases, with no route out of the network."""
    pods: int | None = 18
    """GKE secondary range for pods: a /18 holds 64 nodes at GKE's /24 per node."""
    services: int | None = 20
    """GKE secondary range for Kubernetes services."""


@dataclass(frozen=True)
class CellAddresses:
    """The ranges of one cell, or of the region's control-plane network."""

    cidr: str
    public_subnets: tuple[str, ...]
    private_subnets: tuple[str, ...]
    isolated_subnets: tuple[str, ...]
    pods_cidr: str
    services_cidr: str
    control_plane_cidr: str

    def ranges(self) -> list[str]:
        """Return every carved range, each once."""
        return [
            *self.public_subnets,
            *self.private_subnets,
            *self.isolated_subnets,
            self.pods_cidr,
            self.services_cidr,
            self.control_plane_cidr,
        ]


@dataclass(frozen=True)
class RegionAddressPlan:
    supernet: str
    cells: dict[str, CellAddresses]
    """Ranges of each cell, in the order of the configured cells."""
    control_plane: CellAddresses


def parse_network(key: str, value: object) -> Network:
    """Parse an IPv4 range in CIDR notation with no host bits set."""
    accepted = "an IPv4 range in CIDR notation with no host bits, e.g. '10.16.0.0/12'"
    if not isinstance(value, str):
        raise ConfigError(key, value, accepted)
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ConfigError(key, value, accepted, detail=str(error)) from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ConfigError(key, value, accepted, detail="IPv6 is not supported")
    return network


def check_private(key: str, network: Network) -> None:
    if not any(network.subnet_of(r) for r in PRIVATE_RANGES):
        raise ConfigError(
            key, str(network), "a range inside " + ", ".join(str(r) for r in PRIVATE_RANGES)
        )


def required_addresses(zone_count: int, lengths: SubnetPrefixLengths) -> int:
    """Return how many addresses the carved ranges of one cell take."""
    per_zone = (2 ** (32 - lengths.public)) + 2 ** (32 - lengths.private)
    per_zone += 2 ** (32 - lengths.isolated)
    return (
        zone_count * per_zone
        + 2 ** (32 - lengths.pods)
        + 2 ** (32 - lengths.services)
        + 2 ** (32 - CONTROL_PLANE_ENDPOINT_PREFIX)
    )


def longest_cell_prefix(zone_count: int, lengths: SubnetPrefixLengths) -> int:
    """Return the longest cell prefix length whose range contains the carved ranges of a cell."""
    return 32 - (required_addresses(zone_count, lengths) - 1).bit_length()


def check_subnet_prefix_lengths(
    key: str,
    lengths: SubnetPrefixLengths,
    cell_prefix: int,
    names: Sequence[str] | None = None,
) -> None:
    """Check each prefix length in `names` (every field when None) fits a cell range."""
    for field in fields(lengths):
        if names is not None and field.name not in names:
            continue
        value = getattr(lengths, field.name)
        low, high = cell_prefix + 1, SMALLEST_SUBNET_PREFIX
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                f"{key}.{field.name}",
                value,
                f"a prefix length from {low} to {high} (inside a /{cell_prefix} cell range)",
            )


def carve_cell(
    key: str, cidr: Network, zone_count: int, lengths: SubnetPrefixLengths
) -> CellAddresses:
    """Carve the per-zone subnets and secondary ranges of one cell range.

    Raises ConfigError naming `key` when the range is too small for the subnets requested.
    """
    needed = required_addresses(zone_count, lengths)
    if needed > cidr.num_addresses:
        smallest = 32 - (needed - 1).bit_length()
        raise ConfigError(
            key,
            str(cidr),
            f"a range of /{smallest} or larger, or smaller subnets",
            detail=f"a /{cidr.prefixlen} holds {cidr.num_addresses} addresses but "
            f"{zone_count} zones of subnets need {needed}",
        )

    # (prefix length, kind, zone) for each range, largest first so each block stays aligned.
    requests = [(lengths.public, "public", z) for z in range(zone_count)]
    requests += [(lengths.private, "private", z) for z in range(zone_count)]
    requests += [(lengths.isolated, "isolated", z) for z in range(zone_count)]
    requests += [(lengths.pods, "pods", 0), (lengths.services, "services", 0)]
    requests.append((CONTROL_PLANE_ENDPOINT_PREFIX, "control_plane", 0))
    order = {"private": 0, "pods": 1, "services": 2, "public": 3, "isolated": 4, "control_plane": 5}
    requests.sort(key=lambda r: (r[0], order[r[1]], r[2]))

    carved: dict[str, list[str]] = {kind: [] for kind in order}
    next_address = int(cidr.network_address)
    for prefix, kind, _zone in requests:
        block = ipaddress.IPv4Network((next_address, prefix))
        carved[kind].append(str(block))
        next_address += block.num_addresses

    return CellAddresses(
        cidr=str(cidr),
        public_subnets=tuple(carved["public"]),
        private_subnets=tuple(carved["private"]),
        isolated_subnets=tuple(carved["isolated"]),
        pods_cidr=carved["pods"][0],
        services_cidr=carved["services"][0],
        control_plane_cidr=carved["control_plane"][0],
    )


def plan_region(
    supernet: Network,
    cell_names: Sequence[str],
    cell_prefix: int,
    zone_count: int,
    lengths: SubnetPrefixLengths,
    pinned: Mapping[str, tuple[str, Network]] | None = None,
    control_plane: tuple[str, Network] | None = None,
    key_prefix: str = "",
) -> RegionAddressPlan:
    """Assign a disjoint range to each cell and to the control plane, and carve them.

    `pinned` maps a cell name to (config key, range) for cells that pin their range;
    `control_plane` is (config key, range) when the control-plane network pins one.
    `key_prefix` (such as `cellarch:`) starts every config key that an error names.
    """
    pinned = dict(pinned or {})
    taken: list[tuple[str, Network]] = []

    def claim(key: str, network: Network) -> None:
        if not network.subnet_of(supernet):
            raise ConfigError(key, str(network), f"a range inside the supernet {supernet}")
        for other_key, other in taken:
            if network.overlaps(other):
                raise ConfigError(
                    key,
                    str(network),
                    "a range disjoint from every other cell and the control plane",
                    detail=f"overlaps {other_key} {other}",
                )
        taken.append((key, network))

    for name in cell_names:
        if name in pinned:
            claim(*pinned[name])
    if control_plane is not None:
        claim(*control_plane)

    blocks = list(supernet.subnets(new_prefix=cell_prefix))
    free = [b for b in blocks if not any(b.overlaps(t) for _, t in taken)]
    if control_plane is None:
        if not free:
            raise _supernet_too_small(key_prefix, supernet, cell_prefix, len(cell_names))
        control_plane = (f"{key_prefix}network.controlPlaneCidr", free.pop())
        taken.append(control_plane)

    assigned: dict[str, tuple[str, Network]] = {}
    for index, name in enumerate(cell_names):
        if name in pinned:
            assigned[name] = pinned[name]
            continue
        if not free:
            raise _supernet_too_small(key_prefix, supernet, cell_prefix, len(cell_names))
        assigned[name] = (f"{key_prefix}cells[{index}]", free.pop(0))

    cells = {
        name: carve_cell(key, network, zone_count, lengths)
        for name, (key, network) in assigned.items()
    }
    control = carve_cell(control_plane[0], control_plane[1], zone_count, lengths)
    return RegionAddressPlan(supernet=str(supernet), cells=cells, control_plane=control)


def _supernet_too_small(
    key_prefix: str, supernet: Network, cell_prefix: int, cell_count: int
) -> ConfigError:
    blocks = 2 ** (cell_prefix - supernet.prefixlen)
    needed = cell_count + 1
    smallest = cell_prefix - (needed - 1).bit_length()
    return ConfigError(
        f"{key_prefix}network.supernet",
        str(supernet),
        f"a range of /{smallest} or larger, or a longer {key_prefix}network.cellPrefixLength",
        detail=f"it holds {blocks} blocks of /{cell_prefix} but {cell_count} cells "
        f"and the control plane need {needed}",
    )


def find_overlaps(ranges: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return every pair of names whose ranges overlap, for checks across stacks."""
    items = [(name, ipaddress.ip_network(cidr)) for name, cidr in ranges.items()]
    overlaps = []
    for i, (name, network) in enumerate(items):
        for other_name, other in items[i + 1 :]:
            if network.overlaps(other):
                overlaps.append((name, other_name))
    return overlaps
