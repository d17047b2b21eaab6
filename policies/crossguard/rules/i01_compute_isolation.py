"""I1 Compute isolation: control-plane and observability workloads never run on data-plane
nodes. Data-plane node pools carry a plane label and a NoSchedule taint, and the region's
control plane runs in a cluster of its own."""

from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..values import UNKNOWN, is_unknown
from ..view.graph import StackView
from ..view.model import Cluster, NodePool, PodSpec, Record, Taint, Workload
from ..view.pods import KUBERNETES_PLANE_LABEL, workload_plane
from .base import MANDATORY, Rule

DATA = "data"
DATA_TAINT = f"{KUBERNETES_PLANE_LABEL}={DATA}:NoSchedule"
_ISOLATED_PLANES = ("control", "observability")
_BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def node_pools(records: list[Record]) -> list[NodePool]:
    pools = [r for r in records if isinstance(r, NodePool)]
    pools.extend(r.implicit_pool for r in records if isinstance(r, Cluster) and r.implicit_pool)
    return pools


def pool_plane(pool: NodePool) -> Any:
    """Return `data` when the pool's labels or tags say data-plane, else what they say."""
    if is_unknown(pool.node_labels):
        return UNKNOWN
    node_plane = pool.node_labels.get(KUBERNETES_PLANE_LABEL)
    tag_plane = pool.labels.get("plane")
    if DATA in (node_plane, tag_plane):
        return DATA
    if is_unknown(node_plane) or is_unknown(tag_plane):
        return UNKNOWN
    return node_plane if node_plane is not None else tag_plane


def _has_data_taint(taints: list[Taint]) -> Any:
    unknown = False
    for taint in taints:
        fields = (taint.key, taint.value, taint.effect)
        if any(is_unknown(value) for value in fields):
            unknown = True
            continue
        if fields == (KUBERNETES_PLANE_LABEL, DATA, "NoSchedule"):
            return True
    return UNKNOWN if unknown else False


def check_data_pool(records: list[Record], findings: Findings, _config: Mapping[str, Any]) -> None:
    for pool in node_pools(records):
        plane = pool_plane(pool)
        if is_unknown(plane):
            findings.unknown(pool.ref.title, "node labels")
            continue
        if plane != DATA:
            continue
        node_plane = pool.node_labels.get(KUBERNETES_PLANE_LABEL)
        if is_unknown(node_plane):
            findings.unknown(pool.ref.title, f"node label {KUBERNETES_PLANE_LABEL}")
        elif node_plane != DATA:
            findings.violation(
                f"{pool.ref.title}: data-plane pool nodes lack the label "
                f"{KUBERNETES_PLANE_LABEL}={DATA} (found {node_plane!r})"
            )
        tainted = UNKNOWN if is_unknown(pool.taints) else _has_data_taint(pool.taints)
        if is_unknown(tainted):
            findings.unknown(pool.ref.title, "taints")
        elif not tainted:
            findings.violation(f"{pool.ref.title}: data-plane pool has no taint {DATA_TAINT}")


def _selects_data_nodes(pod: PodSpec) -> Any:
    """Tell whether the pod's node selector or required affinity asks for data-plane nodes."""
    if is_unknown(pod.node_selector) or is_unknown(pod.required_node_terms):
        return UNKNOWN
    if pod.node_selector.get(KUBERNETES_PLANE_LABEL) == DATA:
        return True
    terms = pod.required_node_terms
    if not terms:
        return False
    for term in terms:
        operator, values = term.get(KUBERNETES_PLANE_LABEL, (None, ()))
        if is_unknown(values):
            return UNKNOWN
        if operator != "In" or tuple(values) != (DATA,):
            return False
    return True


def tolerates(pod: PodSpec, taint: Taint) -> Any:
    if is_unknown(pod.tolerations):
        return UNKNOWN
    for toleration in pod.tolerations:
        if any(is_unknown(v) for v in (toleration.key, toleration.operator, toleration.effect)):
            return UNKNOWN
        if toleration.effect not in (None, "", taint.effect):
            continue
        if toleration.operator == "Exists" and toleration.key in (None, "", taint.key):
            return True
        if toleration.key == taint.key and toleration.value == taint.value:
            return True
    return False


def check_data_workload(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:
    for workload in (r for r in records if isinstance(r, Workload)):
        plane = workload_plane(workload)
        if is_unknown(plane):
            findings.unknown(workload.ref.title, "pod labels")
            continue
        if plane != DATA:
            continue
        if is_unknown(workload.pod):
            findings.unknown(workload.ref.title, "pod template")
            continue
        selects = _selects_data_nodes(workload.pod)
        if is_unknown(selects):
            findings.unknown(workload.ref.title, "node selector")
        elif not selects:
            findings.violation(
                f"{workload.ref.title}: data-plane pods do not select nodes labelled "
                f"{KUBERNETES_PLANE_LABEL}={DATA}, so they may run beside the control plane"
            )


def _can_schedule(pod: PodSpec, pool: NodePool) -> Any:
    """Tell whether the scheduler may put the pod on a node of the pool."""
    if is_unknown(pod.node_selector) or is_unknown(pool.node_labels) or is_unknown(pool.taints):
        return UNKNOWN
    for key, value in pod.node_selector.items():
        if pool.node_labels.get(key) != value:
            return False
    if is_unknown(pod.required_node_terms):
        return UNKNOWN
    if pod.required_node_terms and not any(
        _term_matches(term, pool.node_labels) for term in pod.required_node_terms
    ):
        return False
    for taint in pool.taints:
        if taint.effect not in _BLOCKING_EFFECTS:
            continue
        tolerated = tolerates(pod, taint)
        if tolerated is not True:
            return tolerated
    return True


def _term_matches(term: dict[str, Any], node_labels: dict[str, Any]) -> bool:
    for key, (operator, values) in term.items():
        present = key in node_labels
        value = node_labels.get(key)
        if operator == "In" and (not present or value not in values):
            return False
        if operator == "NotIn" and present and value in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def check_no_shared_scheduling(
    view: StackView, findings: Findings, _config: Mapping[str, Any]
) -> None:
    pools_by_cluster: dict[str | None, list[NodePool]] = {}
    for urn, pool in _all_pools(view):
        clusters = view.targets(urn, pool.cluster_property) if pool.cluster_property else [urn]
        for cluster in clusters or [None]:
            pools_by_cluster.setdefault(cluster, []).append(pool)

    for workload in view.records(Workload):
        plane = workload_plane(workload)
        if is_unknown(plane):
            findings.unknown(workload.ref.title, "pod labels")
            continue
        if plane not in _ISOLATED_PLANES:
            continue
        if is_unknown(workload.pod):
            findings.unknown(workload.ref.title, "pod template")
            continue
        clusters = view.clusters_of(workload.ref.urn)
        pools = [p for c in clusters for p in pools_by_cluster.get(c, [])]
        data_pools = [p for p in pools if pool_plane(p) == DATA]
        for pool in pools:
            if is_unknown(pool_plane(pool)):
                # The pool may be a data-plane pool; its labels decide once known.
                findings.unknown(workload.ref.title, f"plane of {pool.ref.title}")
        if not data_pools:
            # No pool of its cluster in this stack: judge by the data-plane taint alone.
            _check_taint_alone(workload, plane, findings)
            continue
        for pool in data_pools:
            schedulable = _can_schedule(workload.pod, pool)
            if is_unknown(schedulable):
                findings.unknown(workload.ref.title, f"scheduling onto {pool.ref.title}")
            elif schedulable:
                findings.violation(
                    f"{workload.ref.title}: {plane}-plane pods can be scheduled onto "
                    f"data-plane {pool.ref.title}",
                    workload.ref.urn,
                )


def _check_taint_alone(workload: Workload, plane: str, findings: Findings) -> None:
    taint = Taint(key=KUBERNETES_PLANE_LABEL, value=DATA, effect="NoSchedule")
    tolerated = tolerates(workload.pod, taint)
    selects = _selects_data_nodes(workload.pod)
    if is_unknown(tolerated) or is_unknown(selects):
        findings.unknown(workload.ref.title, "tolerations and node selector")
    elif tolerated or selects:
        findings.violation(
            f"{workload.ref.title}: {plane}-plane pods "
            + (
                "tolerate the data-plane taint " + DATA_TAINT
                if tolerated
                else "select data-plane nodes"
            ),
            workload.ref.urn,
        )


def _all_pools(view: StackView) -> list[tuple[str, NodePool]]:
    found = [(pool.ref.urn, pool) for pool in view.records(NodePool)]
    for cluster in view.records(Cluster):
        if cluster.implicit_pool is not None:
            found.append((cluster.ref.urn, cluster.implicit_pool))
    return found


def check_control_plane_cluster(
    view: StackView, findings: Findings, _config: Mapping[str, Any]
) -> None:
    planes_by_cluster: dict[str, set[str]] = {}
    for workload in view.records(Workload):
        plane = workload_plane(workload)
        if is_unknown(plane):
            findings.unknown(workload.ref.title, "pod labels")
            continue
        if not isinstance(plane, str):
            continue
        for cluster in view.clusters_of(workload.ref.urn):
            planes_by_cluster.setdefault(cluster, set()).add(plane)
            cells = view.membership(cluster).cells
            if plane == "control" and cells:
                findings.violation(
                    f"{workload.ref.title}: control-plane workload runs in "
                    f"{view.title(cluster)} of cell {', '.join(sorted(cells))}; the region's "
                    "control plane needs a cluster of its own",
                    workload.ref.urn,
                )
    for cluster, planes in planes_by_cluster.items():
        if {"control", DATA} <= planes:
            findings.violation(
                f"{view.title(cluster)}: runs both control-plane and data-plane workloads",
                cluster,
            )


RULES = [
    Rule(
        name="i01-data-pool-isolated",
        invariant="I1",
        description=(
            "Data-plane node pools carry the plane label and the data-plane NoSchedule taint."
        ),
        level=MANDATORY,
        checks={
            "aws": f"EKS node groups tagged plane=data: label and taint {DATA_TAINT}",
            "gcp": "GKE node pools (and a kept default pool) labelled data: label and taint "
            f"{DATA_TAINT}",
        },
        resource_check=check_data_pool,
    ),
    Rule(
        name="i01-data-workload-on-data-pool",
        invariant="I1",
        description=(
            "Data-plane pods select the data-plane nodes, so they never share nodes with the "
            "control plane."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": f"data-plane workloads select nodes with {KUBERNETES_PLANE_LABEL}=data",
        },
        resource_check=check_data_workload,
    ),
    Rule(
        name="i01-no-shared-scheduling",
        invariant="I1",
        description=(
            "No control-plane or observability workload can be scheduled onto a data-plane node "
            "pool."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "control-plane and observability workloads against the labels and "
            "taints of the data-plane pools of the cluster they are deployed to",
        },
        stack_check=check_no_shared_scheduling,
    ),
    Rule(
        name="i01-control-plane-own-cluster",
        invariant="I1",
        description=(
            "The region's control plane runs in a cluster of its own, never in a cell's cluster."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "the cluster each workload's provider deploys to: no control-plane "
            "workload in a cell's cluster, no cluster with both control and data workloads",
        },
        stack_check=check_control_plane_cluster,
    ),
]
