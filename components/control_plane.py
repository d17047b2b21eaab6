"""The region's control-plane cluster, in a network of its own, separate from every cell (I1).

It is built from the same cloud seams as a cell (key, network, cluster, ingress), under the
Region component. Its system pool runs the control-plane and observability workloads, and
its second, tainted pool runs only the router, which the ingress seam exposes.
"""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.addressing import CellAddresses
from components.cloud import seams_for
from components.cloud.base import (
    CONTROL_PLANE,
    DATA_PLANE,
    CellCluster,
    CellContext,
    CellIngress,
    CellNetwork,
    ClusterSpec,
    IngressSpec,
    NetworkSpec,
    NodePoolSpec,
)
from components.labels import LabelContext

CONTROL_PLANE_NAME = "control"
# Smaller machines than a cell's: the router is stateless and the control plane is light.
_MACHINES = {
    "aws": {"system": "m6i.large", "router": "c6i.large"},
    "gcp": {"system": "e2-standard-4", "router": "c2d-standard-2"},
}


@dataclass(frozen=True)
class ControlPlaneSpec:
    cloud: str
    region: str
    zones: tuple[str, ...]
    environment: str
    addresses: CellAddresses
    kubernetes_version: str
    router_port: int
    router_node_port: int
    project: str | None = None


@dataclass(frozen=True)
class ControlPlane:
    network: CellNetwork
    cluster: CellCluster
    router_ingress: CellIngress
    kubernetes: k8s.Provider
    """Provider of the control-plane cluster, for everything deployed into it."""


def create_control_plane(
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource,
    spec: ControlPlaneSpec,
    labels: LabelContext,
) -> ControlPlane:
    """Create the control-plane cluster and the load balancer of the router, under `parent`."""

    def cloud_labels(plane: str) -> dict[str, str]:
        # The seams label a cell's own resources `data`; here they belong to the control
        # plane. NOTE: the router's node pool is therefore tagged `control` in the cloud,
        # while its Kubernetes label and taint say `data`, which is what schedules the router.
        return labels.cloud(spec.cloud, CONTROL_PLANE if plane == DATA_PLANE else plane)

    ctx = CellContext(
        cell=CONTROL_PLANE_NAME,
        region=spec.region,
        cloud_region=spec.region,
        environment=spec.environment,
        zones=spec.zones,
        parent=parent,
        provider=provider,
        cloud_labels=cloud_labels,
        project=spec.project,
    )
    seams = seams_for(spec.cloud)
    addresses = spec.addresses
    machines = _MACHINES[spec.cloud]
    zone_count = len(spec.zones)

    key = seams.key.create(ctx)
    network = seams.network.create(
        ctx,
        NetworkSpec(
            cidr=addresses.cidr,
            public_subnets=addresses.public_subnets,
            private_subnets=addresses.private_subnets,
            isolated_subnets=addresses.isolated_subnets,
            pods_cidr=addresses.pods_cidr,
            services_cidr=addresses.services_cidr,
            control_plane_cidr=addresses.control_plane_cidr,
            nat_gateway_count=zone_count if spec.environment == "production" else 1,
            flow_log_retention_days=90,
        ),
    )
    cluster = seams.cluster.create(
        ctx,
        ClusterSpec(
            kubernetes_version=spec.kubernetes_version,
            data_pool=NodePoolSpec(machines["router"], zone_count, 4 * zone_count, zone_count, 50),
            system_pool=NodePoolSpec(
                machines["system"], zone_count, 3 * zone_count, zone_count, 100
            ),
            api_allowed_cidrs=(),
        ),
        network,
        key,
    )
    router_ingress = seams.ingress.create(
        ctx,
        IngressSpec(
            port=spec.router_port,
            node_port=spec.router_node_port,
            allowed_cidrs=("0.0.0.0/0",),
        ),
        network,
        cluster,
    )
    kubernetes = k8s.Provider(
        f"{CONTROL_PLANE_NAME}-kubernetes",
        kubeconfig=cluster.kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return ControlPlane(
        network=network, cluster=cluster, router_ingress=router_ingress, kubernetes=kubernetes
    )
