"""I6 Share nothing: each network, cluster or node pool, database, encryption key, ingress
and secret belongs to exactly one cell. No peering, transit attachment or security-group
rule joins two cells. Cell address ranges are disjoint across all cells of all regions."""

import ipaddress
from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..values import is_unknown
from ..view.graph import StackView
from ..view.model import (
    AddressRange,
    Cluster,
    Database,
    Ingress,
    Key,
    Network,
    NodePool,
    Peering,
    Record,
    Secret,
    SecurityRule,
    Subnet,
)
from .base import MANDATORY, Rule

CELL_KINDS = (Network, Subnet, Cluster, NodePool, Database, Key, Ingress, Secret)
# Planes whose resources serve every cell by design, such as the bundle repository's key.
SHARED_PLANES = ("control", "governance", "observability")
PRIVATE_RANGES = tuple(
    ipaddress.ip_network(r)
    for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)

Network_ = ipaddress.IPv4Network | ipaddress.IPv6Network


def _cells_text(cells: set[str] | frozenset[str]) -> str:
    return " and ".join(sorted(cells))


def _cell_resources(view: StackView) -> list[str]:
    urns = (record.ref.urn for record in view.records(Record) if isinstance(record, CELL_KINDS))
    return list(dict.fromkeys(urns))


def check_one_cell(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    for urn in _cell_resources(view):
        title = view.title(urn)
        membership = view.membership(urn)
        own = membership.cells
        if len(own) > 1:
            findings.violation(
                f"{title}: belongs to cells {_cells_text(own)} ({membership.describe()})", urn
            )
        reaching = view.reaching_cells(urn)
        if own:
            for cell, users in sorted(reaching.items()):
                if cell in own:
                    continue
                findings.violation(
                    f"{title} of cell {_cells_text(own)}: used by {view.title(users[0])} of "
                    f"cell {cell}",
                    urn,
                )
            continue
        plane = view.first(urn).labels.get("plane")
        if is_unknown(plane):
            if len(reaching) > 1:
                findings.unknown(title, "plane label")
            continue
        if len(reaching) > 1 and plane not in SHARED_PLANES:
            findings.violation(
                f"{title}: shared by cells {_cells_text(set(reaching))} "
                f"({', '.join(view.title(users[0]) for _, users in sorted(reaching.items()))})",
                urn,
            )


def _end_descriptions(view: StackView, peering: Peering) -> tuple[set[str], list[str], bool]:
    """Return the cells at the ends of a connection, what sits at each end, and whether an
    end lies outside this stack."""
    cells: set[str] = set()
    ends: list[str] = []
    outside = False
    for property_name in peering.end_properties:
        targets = view.targets(peering.ref.urn, property_name)
        if not targets:
            outside = True
            ends.append(f"{property_name} outside this stack")
            continue
        for target in targets:
            nested = view.first(target, Peering)
            if nested is not None:
                nested_cells, nested_ends, nested_outside = _end_descriptions(view, nested)
                cells |= nested_cells
                ends.extend(nested_ends)
                outside = outside or nested_outside
                continue
            target_cells = view.membership(target).cells
            cells |= target_cells
            suffix = f" of cell {_cells_text(target_cells)}" if target_cells else ""
            ends.append(f"{view.title(target)}{suffix}")
    return cells, ends, outside


def check_no_peering(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    for peering in view.records(Peering):
        cells, ends, _ = _end_descriptions(view, peering)
        if not cells:
            continue
        if len(cells) > 1:
            findings.violation(
                f"{peering.ref.title}: joins cells {_cells_text(cells)} ({', '.join(ends)})",
                peering.ref.urn,
            )
        else:
            findings.violation(
                f"{peering.ref.title}: connects a network of cell {_cells_text(cells)} to "
                f"{', '.join(ends)}; a cell's network connects to no other network",
                peering.ref.urn,
            )


def parse_range(value: Any) -> Network_ | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def cell_ranges(view: StackView, findings: Findings) -> list[tuple[str, AddressRange, Network_]]:
    """Return (cell, record, range) for every address range that belongs to one cell."""
    found = []
    for record in view.records(AddressRange):
        cells = view.membership(record.ref.urn).cells
        if not cells:
            for target in view.targets(record.ref.urn, record.network_property):
                cells |= view.membership(target).cells
        if len(cells) != 1:
            continue
        if is_unknown(record.cidr):
            findings.unknown(record.ref.title, record.role)
            continue
        network = parse_range(record.cidr)
        if network is not None:
            found.append((next(iter(cells)), record, network))
    return found


def check_ranges_disjoint(view: StackView, findings: Findings, config: Mapping[str, Any]) -> None:
    # Resources register concurrently; sorting makes the reported pair independent of it.
    ranges = sorted(cell_ranges(view, findings), key=lambda item: (item[0], item[1].ref.urn))
    reported: set[tuple[str, str]] = set()
    for index, (cell, record, network) in enumerate(ranges):
        for other_cell, other, other_network in ranges[index + 1 :]:
            if cell == other_cell or network.version != other_network.version:
                continue
            if not network.overlaps(other_network):
                continue
            key = (record.ref.urn + record.role, other.ref.urn + other.role)
            if key in reported:
                continue
            reported.add(key)
            findings.violation(
                f"{record.ref.title}: {record.role} {network} of cell {cell} overlaps "
                f"{other.role} {other_network} of cell {other_cell} ({other.ref.title})",
                record.ref.urn,
            )
    _check_other_regions(view, ranges, findings, config.get("otherCellRanges") or {})


def _check_other_regions(
    view: StackView,
    ranges: list[tuple[str, AddressRange, Network_]],
    findings: Findings,
    others: Mapping[str, Any],
) -> None:
    for name, cidrs in sorted(others.items()):
        region, _, other_cell = str(name).rpartition("/")
        for cidr in cidrs if isinstance(cidrs, list) else [cidrs]:
            other_network = parse_range(cidr)
            if other_network is None:
                continue
            for cell, record, network in ranges:
                own_region = view.first(record.ref.urn).labels.get("region")
                if other_cell == cell and region in ("", own_region):
                    continue  # The configured list may include this stack's own cells.
                if network.version == other_network.version and network.overlaps(other_network):
                    findings.violation(
                        f"{record.ref.title}: {record.role} {network} of cell {cell} overlaps "
                        f"{other_network} of cell {name} in another stack",
                        record.ref.urn,
                    )


def _rule_owner_cells(view: StackView, rule: SecurityRule) -> frozenset[str]:
    urn = rule.ref.urn
    owners = [urn] if rule.group_property is None else view.targets(urn, rule.group_property)
    if rule.network_property is not None and not view.membership(urn).cells:
        owners = view.targets(urn, rule.network_property) or owners
    cells: set[str] = set()
    for owner in owners:
        cells |= view.membership(owner).cells
    return frozenset(cells)


def is_private(network: Network_) -> bool:
    return any(
        network.version == private.version and network.subnet_of(private)
        for private in PRIVATE_RANGES
    )


def rule_peer_cells(
    view: StackView,
    rule: SecurityRule,
    ranges: list[tuple[str, AddressRange, Network_]],
    findings: Findings,
    cache: dict | None = None,
) -> dict[str, str]:
    """Return the cells a rule admits, each with what admits it.

    `cache` keeps the cells of each address range between calls over the same `ranges`.
    """
    if cache is None:
        cache = {}
    peers: dict[str, str] = {}
    for target in view.targets(rule.ref.urn, rule.peer_property):
        if target == rule.ref.urn:
            continue
        for cell in view.membership(target).cells:
            peers.setdefault(cell, view.title(target))
    if is_unknown(rule.cidrs):
        findings.unknown(rule.ref.title, f"{rule.position} address ranges")
        return peers
    for cidr in rule.cidrs:
        if is_unknown(cidr):
            findings.unknown(rule.ref.title, f"{rule.position} address range")
            continue
        peer = parse_range(cidr)
        if peer is None:
            continue
        for cell in _cells_of_range(peer, ranges, cache):
            peers.setdefault(cell, f"range {peer}")
    return peers


def _cells_of_range(
    peer: Network_, ranges: list[tuple[str, AddressRange, Network_]], cache: dict
) -> list[str]:
    """Return the cells whose range contains `peer` or lies inside it (if it is private).

    Many rules name the same ranges, so the cells of each range are kept in `cache`.
    """
    if peer not in cache:
        private = is_private(peer)
        cache[peer] = [
            cell
            for cell, _, network in ranges
            if peer.version == network.version
            and (peer.subnet_of(network) or (private and network.subnet_of(peer)))
        ]
    return cache[peer]


def check_no_rule_between_cells(
    view: StackView, findings: Findings, _config: Mapping[str, Any]
) -> None:
    ranges = cell_ranges(view, Findings())
    cache: dict = {}
    for rule in view.records(SecurityRule):
        owners = _rule_owner_cells(view, rule)
        if not owners:
            continue
        for cell, how in sorted(rule_peer_cells(view, rule, ranges, findings, cache).items()):
            if cell in owners:
                continue
            kind = "inline rule" if rule.inline else "rule"
            findings.violation(
                f"{rule.ref.title}: {kind} {rule.position} ({rule.direction}) of cell "
                f"{_cells_text(owners)} admits {how} of cell {cell}",
                rule.ref.urn,
            )


RULES = [
    Rule(
        name="i06-one-cell-per-resource",
        invariant="I6",
        description=(
            "Each network, cluster, node pool, database, key, ingress and secret belongs to "
            "exactly one cell."
        ),
        level=MANDATORY,
        checks={
            "aws": "VPCs, subnets, EKS clusters and node groups, RDS, KMS keys, load balancers, "
            "Secrets Manager secrets: cell label, parent Cell and every user through "
            "dependencies, property dependencies and providers",
            "gcp": "VPC networks, subnetworks, GKE clusters and node pools, Cloud SQL, KMS keys, "
            "external addresses, Secret Manager secrets: as on AWS",
            "kubernetes": "Secrets and exposed Services: as on AWS, plus the cell of the cluster "
            "the object is deployed to",
        },
        stack_check=check_one_cell,
    ),
    Rule(
        name="i06-no-peering-between-cells",
        invariant="I6",
        description=(
            "No peering, transit attachment or service connection joins a cell's network to "
            "another network."
        ),
        level=MANDATORY,
        checks={
            "aws": "VPC peering connections and accepters, transit gateway VPC attachments",
            "gcp": "network peerings, service networking connections, Network Connectivity spokes",
        },
        stack_check=check_no_peering,
    ),
    Rule(
        name="i06-cell-ranges-disjoint",
        invariant="I6",
        description=(
            "Address ranges of different cells never overlap, in this stack and across the "
            "configured regions."
        ),
        level=MANDATORY,
        checks={
            "aws": "VPC, secondary VPC and subnet ranges",
            "gcp": "subnetwork ranges, secondary ranges and GKE control plane ranges",
        },
        stack_check=check_ranges_disjoint,
        config={
            "otherCellRanges": {
                "type": "object",
                "description": "Ranges of cells in other stacks, by `region/cell`.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "default": {},
            }
        },
    ),
    Rule(
        name="i06-no-rule-between-cells",
        invariant="I6",
        description=(
            "No security-group or firewall rule, inline or separate, admits traffic from another "
            "cell."
        ),
        level=MANDATORY,
        checks={
            "aws": "inline ingress and egress of security groups, SecurityGroupRule and "
            "SecurityGroupIngressRule/EgressRule resources: peer groups and ranges",
            "gcp": "firewall rules of a cell's network: source and destination ranges",
            "kubernetes": "NetworkPolicy ipBlock ranges",
        },
        stack_check=check_no_rule_between_cells,
    ),
]
