"""A Mermaid flowchart of a recorded region: its planes, cells, router and bundle repository.

The diagram is drawn from the recording, not from the config, so it shows what the program
declared. It draws each cell with its network, cluster, database, ingress and services. The
router sends users to the cells' ingresses, the cells' agents poll the bundle repository in
the background, and their telemetry goes to the collector gateway.
"""

import re

from offline.inventory import NO_CELL, cell_names, place_resources
from offline.recorder import Recording, ResourceRecord

ROLES = {
    "network": ("aws:ec2/vpc:Vpc", "gcp:compute/network:Network"),
    "cluster": ("aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster"),
    "node pools": ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool"),
    "database": (
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "gcp:sql/databaseInstance:DatabaseInstance",
    ),
    "ingress": (
        "aws:lb/loadBalancer:LoadBalancer",
        "gcp:compute/forwardingRule:ForwardingRule",
        "gcp:compute/globalForwardingRule:GlobalForwardingRule",
    ),
    "queue": ("aws:sqs/queue:Queue", "gcp:pubsub/topic:Topic"),
    "bucket": ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "gcp:storage/bucket:Bucket"),
    "prometheus": ("aws:amp/workspace:Workspace", "kubernetes:apps/v1:StatefulSet"),
    "deployments": ("kubernetes:apps/v1:Deployment",),
}
_ROLE_OF_TYPE = {type_: role for role, types in ROLES.items() for type_ in types}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def region_diagram(recording: Recording, title: str) -> str:
    """Return the Mermaid source of the region's diagram."""
    placements = place_resources(recording)
    by_cell: dict[str, list[ResourceRecord]] = {}
    by_plane: dict[str, list[ResourceRecord]] = {}
    for record in recording.resources:
        placement = placements[record.urn]
        if placement.cell != NO_CELL:
            by_cell.setdefault(placement.cell, []).append(record)
        else:
            by_plane.setdefault(placement.plane, []).append(record)
    cells = cell_names(recording)
    # The router, the control-plane cluster and the queue belong to the region, not a cell.
    regional = [
        record
        for plane, records in by_plane.items()
        if plane not in ("governance", "observability")
        for record in records
    ]
    queues = [record for record in regional if _ROLE_OF_TYPE.get(record.type) == "queue"]
    queue_urns = {record.urn for record in queues}
    control = [record for record in regional if record.urn not in queue_urns]

    lines = ["flowchart LR", '  users(["users"])']
    lines += _subgraph("governance", "governance plane", by_plane.get("governance", []), 1)
    lines.append(f'  subgraph region["{_text(title)}"]')
    lines += _subgraph("control", "control plane and router", control, 2)
    lines.append('    subgraph data["data plane: cells"]')
    for cell in cells:
        lines += _subgraph(f"cell_{cell}", f"cell {cell}", by_cell.get(cell, []), 3)
    lines.append("    end")
    lines += _subgraph("shock_absorber", "shock absorber", queues, 2)
    lines.append("  end")
    lines += _subgraph("observability", "observability plane", by_plane.get("observability", []), 1)

    nodes = {line.split("[", 1)[0].split("(", 1)[0].strip() for line in lines}
    edges = [("users", "-->", "control_deployments")]
    for cell in cells:
        cell_id = _id(f"cell_{cell}")
        edges += [
            ("control_deployments", "-- by user id -->", f"{cell_id}_ingress"),
            ("governance_bucket", "-. bundles, polled .->", f"{cell_id}_deployments"),
            (f"{cell_id}_deployments", "-. telemetry, async .->", "observability_deployments"),
        ]
    # An edge to a part the program did not declare would draw an empty node, so skip it.
    lines += [f"  {a} {arrow} {b}" for a, arrow, b in edges if a in nodes and b in nodes]
    return "\n".join(lines) + "\n"


def _subgraph(key: str, title: str, records: list[ResourceRecord], depth: int) -> list[str]:
    indent = "  " * depth
    group = _id(key)
    lines = [f'{indent}subgraph {group}_group["{_text(title)}"]']
    names_by_role: dict[str, list[str]] = {}
    for record in records:
        role = _ROLE_OF_TYPE.get(record.type)
        if role is not None:
            names_by_role.setdefault(role, []).append(record.name)
    for role, names in names_by_role.items():
        label = f"{role}<br/>" + "<br/>".join(_text(name) for name in names)
        shape = ('[("', '")]') if role in ("database", "bucket", "queue") else ('["', '"]')
        node = f"{group}_{_id(role)}"
        lines.append(f"{indent}  {node}{shape[0]}{label}{shape[1]}")
    if not names_by_role:
        lines.append(f'{indent}  {group}_empty["{len(records)} resources"]')
    lines.append(f"{indent}end")
    return lines


def _id(text: str) -> str:
    return _UNSAFE.sub("_", text)


def _text(text: str) -> str:
    return text.replace('"', "'")
