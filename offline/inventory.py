"""The inventory of a recorded program: each resource with its plane and cell, and counts.

A resource's plane and cell come from its own labels where it carries them (I11). A
resource without labels (a component, a provider, a route or an IAM grant) takes the cell
of the Cell component it sits under and the plane of its nearest labelled ancestor, so every
resource is counted once, under the part of the region that owns it.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from offline.recorder import Recording, ResourceRecord

CELL_TYPE = "cellarch:index:Cell"
REGION_TYPE = "cellarch:index:Region"
KUBERNETES_LABEL_PREFIX = "cellarch.io/"
KUBERNETES_MANAGED_BY = "app.kubernetes.io/managed-by"
# Plane of the components, which carry no labels of their own.
COMPONENT_PLANES = {
    CELL_TYPE: "data",
    "cellarch:index:CellWorkloads": "data",
    "cellarch:index:GovernancePlane": "governance",
    "cellarch:index:ObservabilityStack": "observability",
}
NO_PLANE = "(none)"
"""Plane of the stack, the region component and the providers, which belong to no plane."""
NO_CELL = "(region)"
"""Cell of everything outside the cells: control plane, router, queue, governance."""


def resource_labels(record: ResourceRecord) -> dict[str, Any] | None:
    """Return the labels of a recorded resource with plain keys, or None if it carries none.

    Reads AWS tags, GCP labels (also inside Cloud SQL settings and GKE node configs, and the
    custom metadata of GCS objects), Kubernetes `cellarch.io/` labels and, for the GCP
    resources that take no labels, the `key=value` words of their description.
    """
    inputs = record.inputs
    if record.package == "kubernetes":
        labels = (inputs.get("metadata") or {}).get("labels")
        if not isinstance(labels, dict):
            return None
        plain = {
            key.removeprefix(KUBERNETES_LABEL_PREFIX): value
            for key, value in labels.items()
            if key.startswith(KUBERNETES_LABEL_PREFIX)
        }
        if KUBERNETES_MANAGED_BY in labels:
            plain["managed-by"] = labels[KUBERNETES_MANAGED_BY]
        return plain
    # GCS objects carry their labels in their custom metadata.
    for key in ("tags", "labels", "resourceLabels", "metadata"):
        if isinstance(inputs.get(key), dict):
            return inputs[key]
    settings = inputs.get("settings")
    if isinstance(settings, dict) and isinstance(settings.get("userLabels"), dict):
        return settings["userLabels"]
    node_config = inputs.get("nodeConfig")
    if isinstance(node_config, dict) and isinstance(node_config.get("resourceLabels"), dict):
        return node_config["resourceLabels"]
    description = inputs.get("description")
    if isinstance(description, str) and "plane=" in description:
        words = [word for word in description.split() if "=" in word]
        return dict(word.split("=", 1) for word in words)
    return None


@dataclass(frozen=True)
class Placement:
    plane: str
    cell: str


def place_resources(recording: Recording) -> dict[str, Placement]:
    """Return the plane and cell of every recorded resource, by URN."""
    by_urn = recording.by_urn()
    placements: dict[str, Placement] = {}

    def place(record: ResourceRecord) -> Placement:
        if record.urn in placements:
            return placements[record.urn]
        parent = by_urn.get(record.parent) if record.parent else None
        inherited = place(parent) if parent is not None else Placement(NO_PLANE, NO_CELL)
        labels = resource_labels(record) or {}
        plane = (
            labels.get("plane")
            or COMPONENT_PLANES.get(record.type)
            or _plane_of_dependencies(record)
            or inherited.plane
        )
        if record.type == CELL_TYPE:
            cell = record.name
        elif inherited.cell != NO_CELL:
            cell = inherited.cell
        else:
            cell = labels.get("cell") or NO_CELL
        if record.is_provider and parent is None:
            plane = NO_PLANE
        placement = Placement(plane=str(plane), cell=str(cell))
        placements[record.urn] = placement
        return placement

    def _plane_of_dependencies(record: ResourceRecord) -> str | None:
        # A route, grant or attachment takes no labels. It belongs to the plane of the
        # labelled resources it attaches to, such as its route table, role or key. The
        # engine gets dependencies in no fixed order, so ties are broken by name.
        planes = set()
        for urn in record.dependencies:
            dependency = by_urn.get(urn)
            if dependency is not None and dependency.custom:
                plane = place(dependency).plane
                if plane != NO_PLANE:
                    planes.add(plane)
        if not planes:
            return None
        parent = by_urn.get(record.parent) if record.parent else None
        if parent is not None and place(parent).plane in planes:
            return place(parent).plane
        return sorted(planes)[0]

    for record in recording.resources:
        place(record)
    return placements


def cell_names(recording: Recording) -> list[str]:
    """Return the names of the cells in configured order, which a Region registers as output.

    Cells register concurrently, so the recording's order of them varies from run to run.
    Cells outside a Region follow in sorted order.
    """
    names: list[str] = []
    for region in recording.of_type(REGION_TYPE):
        configured = (region.component_outputs or {}).get("cell_names")
        if isinstance(configured, list):
            names += [str(name) for name in configured]
    others = sorted(r.name for r in recording.of_type(CELL_TYPE) if r.name not in names)
    return names + others


@dataclass(frozen=True)
class Summary:
    """Resource counts of one recording."""

    total: int
    by_plane: dict[str, int]
    by_cell: dict[str, int]
    by_type: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "byPlane": self.by_plane,
            "byCell": self.by_cell,
            "byType": self.by_type,
        }


def summarize(recording: Recording) -> Summary:
    """Count the resources per plane, per cell (in registration order) and per type."""
    placements = place_resources(recording)
    planes = Counter(p.plane for p in placements.values())
    counted = Counter(p.cell for p in placements.values())
    order = cell_names(recording)
    order += [cell for cell in counted if cell not in order and cell != NO_CELL]
    order += [NO_CELL] if NO_CELL in counted else []
    cells = {cell: counted[cell] for cell in order}
    types = Counter(record.type for record in recording.resources)
    return Summary(
        total=len(recording.resources),
        by_plane=dict(sorted(planes.items())),
        by_cell=cells,
        by_type=dict(sorted(types.items())),
    )


def inventory_records(recording: Recording) -> list[dict[str, Any]]:
    """Return every resource as a JSON value with its plane and cell, secrets redacted."""
    placements = place_resources(recording)
    records = recording.to_json(redact_secrets=True)
    for record in records:
        placement = placements[record["urn"]]
        record["plane"] = placement.plane
        record["cell"] = placement.cell
    return records


def format_table(title: str, counts: dict[str, int]) -> list[str]:
    """Return the lines of a two-column table of counts, with a total."""
    width = max([len(title), len("total"), *(len(key) for key in counts)])
    lines = [f"  {title:<{width}}  resources", f"  {'-' * width}  ---------"]
    lines += [f"  {key:<{width}}  {count:>9}" for key, count in counts.items()]
    lines.append(f"  {'total':<{width}}  {sum(counts.values()):>9}")
    return lines
