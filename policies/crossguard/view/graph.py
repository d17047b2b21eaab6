"""The view of a whole stack: records of every resource and the relations between them.

Stack rules need relations that IDs cannot show during preview, because IDs are unknown
until the update. The engine still sends each resource's parent, its dependencies, the
resources each input property depends on, and its provider. `StackView` keeps those and
answers the questions the rules ask: which cell a resource belongs to, which resources
use it, which resource an input property names, and which cluster a Kubernetes object
is deployed to.
"""

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from pulumi_policy import PolicyResource

from ..values import is_unknown
from .mapping import COMPONENT_PACKAGE, records_for, source_from_resource
from .model import Cluster, Component, Record

CELL_COMPONENT = f"{COMPONENT_PACKAGE}:index:Cell"
RecordType = TypeVar("RecordType", bound=Record)
IndexType = TypeVar("IndexType")
# Properties through which an unlabelled resource takes the cell of what it is attached to.
_ATTACHMENT_FIELDS = (
    "group_property",
    "network_property",
    "cluster_property",
    "settings_property",
    "bucket_property",
)
# How far to follow a Kubernetes provider's dependencies to find its cluster.
_MAX_CLUSTER_DEPTH = 4


@dataclass(frozen=True)
class Claim:
    """One reason to count a resource as part of a cell."""

    cell: str
    reason: str
    """E.g. `cell label`, `parent Cell cell-a`, `deployed to EKS cluster cell-a-eks`."""


@dataclass(frozen=True)
class Membership:
    claims: tuple[Claim, ...]
    label_unknown: bool = False

    @property
    def cells(self) -> frozenset[str]:
        return frozenset(claim.cell for claim in self.claims)

    def describe(self) -> str:
        return ", ".join(f"{claim.reason} says {claim.cell}" for claim in self.claims)


class StackView:
    """Records and relations of every resource in a stack, built from the engine's resources."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self._resources: dict[str, PolicyResource] = {r.urn: r for r in resources}
        self._order = [r.urn for r in resources]
        self._records: dict[str, list[Record]] = {
            r.urn: records_for(source_from_resource(r)) for r in resources
        }
        self._children: dict[str, list[str]] = {}
        for resource in resources:
            if resource.parent is not None:
                self._children.setdefault(resource.parent.urn, []).append(resource.urn)
        self._users: dict[str, set[str]] = {}
        for resource in resources:
            if self.is_component(resource.urn):
                # A component's dependencies order its rollout (waves); only custom
                # resources consume what they depend on.
                continue
            for used in self.uses(resource.urn):
                self._users.setdefault(used, set()).add(resource.urn)
        self._memberships: dict[str, Membership] = {}
        # Rules request the same records and cells once per resource, so these are built on
        # first use and kept. Rebuilding them per request made the pack quadratic in cells.
        self._by_type: dict[type, list[Record]] = {}
        self._cell_components: Mapping[str, str] | None = None
        self._indexes: dict[str, Any] = {}

    # Records

    def records(self, record_type: type[RecordType]) -> Iterator[RecordType]:
        found = self._by_type.get(record_type)
        if found is None:
            found = [
                record
                for urn in self._order
                for record in self._records[urn]
                if isinstance(record, record_type)
            ]
            self._by_type[record_type] = found
        return iter(found)

    def index(self, name: str, build: Callable[[], IndexType]) -> IndexType:
        """Return the index called `name`, built by `build` on the first call."""
        if name not in self._indexes:
            self._indexes[name] = build()
        return self._indexes[name]

    def records_of(self, urn: str, record_type: type[RecordType] = Record) -> list[RecordType]:
        return [r for r in self._records.get(urn, []) if isinstance(r, record_type)]

    def first(self, urn: str, record_type: type[RecordType] = Record) -> RecordType | None:
        found = self.records_of(urn, record_type)
        return found[0] if found else None

    def title(self, urn: str) -> str:
        record = self.first(urn)
        if record is not None:
            return record.ref.title
        resource = self._resources.get(urn)
        return resource.name if resource else urn

    def resource(self, urn: str) -> PolicyResource | None:
        return self._resources.get(urn)

    # Relations

    def is_component(self, urn: str) -> bool:
        resource = self._resources[urn]
        if resource.resource_type.startswith(f"{COMPONENT_PACKAGE}:"):
            return True
        # The engine names a provider for every custom resource and none for a component.
        return resource.provider is None and not resource.resource_type.startswith("pulumi:")

    def targets(self, urn: str, property_name: str | None) -> list[str]:
        """Return the resources an input property depends on, e.g. the VPC of `vpcId`."""
        resource = self._resources.get(urn)
        if resource is None or property_name is None:
            return []
        return [r.urn for r in resource.property_dependencies.get(property_name, [])]

    def uses(self, urn: str) -> set[str]:
        """Return what a resource depends on: dependencies, property dependencies, provider."""
        resource = self._resources[urn]
        used = {r.urn for r in resource.dependencies}
        for dependencies in resource.property_dependencies.values():
            used.update(r.urn for r in dependencies)
        if resource.provider is not None and resource.provider.urn in self._resources:
            used.add(resource.provider.urn)
        used.discard(urn)
        return used

    def users(self, urn: str) -> set[str]:
        """Return the custom resources that depend on this one, or name it as provider."""
        return set(self._users.get(urn, set()))

    def ancestors(self, urn: str) -> list[str]:
        chain = []
        resource = self._resources.get(urn)
        seen = {urn}
        while resource is not None and resource.parent is not None:
            parent = resource.parent.urn
            if parent in seen:
                break
            seen.add(parent)
            chain.append(parent)
            resource = self._resources.get(parent)
        return chain

    def descendants(self, urn: str) -> list[str]:
        found, queue = [], deque(self._children.get(urn, []))
        while queue:
            child = queue.popleft()
            found.append(child)
            queue.extend(self._children.get(child, []))
        return found

    def clusters_of(self, urn: str) -> list[str]:
        """Return the clusters a Kubernetes object is deployed to, through its provider."""
        resource = self._resources.get(urn)
        if resource is None or resource.provider is None:
            return []
        start = resource.provider.urn
        if start not in self._resources:
            return []
        found: list[str] = []
        seen = {start}
        queue = deque([(start, 0)])
        while queue:
            current, depth = queue.popleft()
            if self.first(current, Cluster) is not None:
                found.append(current)
                continue
            if depth >= _MAX_CLUSTER_DEPTH:
                continue
            for used in sorted(self.uses(current)):
                if used not in seen:
                    seen.add(used)
                    queue.append((used, depth + 1))
        return found

    # Cells

    def cell_components(self) -> Mapping[str, str]:
        """Return each Cell component's URN with the name of its cell."""
        if self._cell_components is None:
            self._cell_components = MappingProxyType(
                {
                    urn: self._component_cell(urn)
                    for urn in self._order
                    if self._resources[urn].resource_type == CELL_COMPONENT
                }
            )
        return self._cell_components

    def _component_cell(self, urn: str) -> str:
        """Return the cell a Cell component declares, else its name.

        The library names each Cell component after its cell and labels every resource under
        it with that name. The rules check the children's labels against this name.
        """
        component = self.first(urn, Component)
        values = component.values if component else {}
        for key in ("cell", "cellName", "name"):
            value = values.get(key)
            if isinstance(value, str) and value:
                return value
        return self._resources[urn].name

    def membership(self, urn: str) -> Membership:
        """Return the cells a resource belongs to, each with the reason it counts."""
        if urn not in self._memberships:
            self._memberships[urn] = Membership(claims=())  # guards against cycles
            self._memberships[urn] = self._compute_membership(urn)
        return self._memberships[urn]

    def _compute_membership(self, urn: str) -> Membership:
        claims: list[Claim] = []
        label_unknown = False
        record = self._label_record(urn)
        if record is not None:
            label = record.labels.get("cell")
            if is_unknown(label):
                label_unknown = True
            elif isinstance(label, str) and label:
                claims.append(Claim(label, "cell label"))
        components = self.cell_components()
        for ancestor in self.ancestors(urn):
            if ancestor in components:
                name = self._resources[ancestor].name
                claims.append(Claim(components[ancestor], f"parent Cell {name}"))
        for cluster in self.clusters_of(urn):
            for claim in self.membership(cluster).claims:
                if claim.reason in ("cell label",) or claim.reason.startswith("parent Cell"):
                    claims.append(Claim(claim.cell, f"deployed to {self.title(cluster)}"))
        if not claims:
            for target in self._attachments(urn):
                for claim in self.membership(target).claims:
                    claims.append(Claim(claim.cell, f"attached to {self.title(target)}"))
        return Membership(claims=tuple(_unique(claims)), label_unknown=label_unknown)

    def _label_record(self, urn: str) -> Record | None:
        records = self.records_of(urn)
        for record in records:
            if record.labels.carrier is not None:
                return record
        return records[0] if records else None

    def _attachments(self, urn: str) -> list[str]:
        targets: list[str] = []
        for record in self.records_of(urn):
            for field_name in _ATTACHMENT_FIELDS:
                targets.extend(self.targets(urn, getattr(record, field_name, None)))
            for property_name in getattr(record, "end_properties", ()):
                targets.extend(self.targets(urn, property_name))
        return sorted(set(targets) - {urn})

    def reaching_cells(self, urn: str) -> dict[str, list[str]]:
        """Return, per cell, the resources of that cell that use this one.

        The search passes through resources of no cell, so a cell that uses another
        cell's key through an unlabelled intermediate is found too.
        """
        found: dict[str, list[str]] = {}
        seen = {urn}
        queue = deque(sorted(self.users(urn)))
        while queue:
            user = queue.popleft()
            if user in seen:
                continue
            seen.add(user)
            cells = self.membership(user).cells
            if cells:
                for cell in cells:
                    found.setdefault(cell, []).append(user)
                continue
            queue.extend(sorted(self.users(user)))
        return found


def _unique(claims: list[Claim]) -> list[Claim]:
    seen: set[tuple[str, str]] = set()
    result = []
    for claim in claims:
        key = (claim.cell, claim.reason)
        if key not in seen:
            seen.add(key)
            result.append(claim)
    return result
