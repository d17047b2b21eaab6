"""GCP part of the cluster concern: the cell's own private GKE cluster and node pools."""

import hashlib
import json
import math
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.cloud.base import (
    CONTROL_PLANE,
    DATA_PLANE,
    PLANE_LABEL_KEY,
    POOL_LABEL_KEY,
    CellCluster,
    CellContext,
    CellKey,
    CellNetwork,
    ClusterSeam,
    ClusterSpec,
    NodePoolSpec,
)
from components.cloud.gcp.network import GcpNetwork

# Replaces the default node roles with the minimum a GKE node needs (logs, metrics, images).
_NODE_ROLE = "roles/container.defaultNodeServiceAccount"


@dataclass(frozen=True, kw_only=True)
class GcpCluster(CellCluster):
    """A GKE cluster with the workload identity pool its service accounts map into."""

    workload_pool: str


class GcpClusterSeam(ClusterSeam):
    """A regional, private GKE cluster with Dataplane V2 and two node pools.

    Nodes have no public addresses, and the control plane endpoint is private unless
    `api_allowed_cidrs` names ranges for it. Dataplane V2 enforces NetworkPolicy. Kubernetes
    secrets are encrypted with the cell's key, and workload identity maps service accounts to
    Google service accounts. The system pool runs cluster add-ons. The data pool is labelled
    and tainted for the data plane (I1). Both run as a node service account that has only
    the default node role.
    """

    def create(
        self,
        ctx: CellContext,
        spec: ClusterSpec,
        network: CellNetwork,
        key: CellKey,
    ) -> GcpCluster:
        if not isinstance(network, GcpNetwork):
            raise TypeError(f"the GCP cluster seam needs a GcpNetwork, got {type(network)}")
        node_account = gcp.serviceaccount.Account(
            ctx.resource_name("nodes"),
            account_id=service_account_id(ctx, "nodes"),
            project=ctx.project,
            display_name=f"Nodes of cell {ctx.cell}",
            description=ctx.label_text(),
            opts=ctx.opts(),
        )
        gcp.projects.IAMMember(
            ctx.resource_name("nodes-role"),
            project=ctx.project,
            role=_NODE_ROLE,
            member=node_account.member,
            opts=ctx.opts(),
        )
        workload_pool = f"{ctx.project}.svc.id.goog"
        private_endpoint = not spec.api_allowed_cidrs
        cluster = gcp.container.Cluster(
            ctx.resource_name("gke"),
            project=ctx.project,
            location=ctx.cloud_region,
            node_locations=list(ctx.zones),
            network=network.network_id,
            subnetwork=network.node_subnetwork_id,
            min_master_version=spec.kubernetes_version,
            release_channel={"channel": "REGULAR"},
            # GKE requires a first pool; it is replaced by the two pools below.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config={"service_account": node_account.email},
            ip_allocation_policy={
                "cluster_secondary_range_name": network.pods_range_name,
                "services_secondary_range_name": network.services_range_name,
            },
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": private_endpoint,
                "master_ipv4_cidr_block": network.control_plane_cidr,
            },
            master_authorized_networks_config={
                "cidr_blocks": [
                    {"cidr_block": cidr, "display_name": "allowed"}
                    for cidr in spec.api_allowed_cidrs
                ],
            },
            datapath_provider="ADVANCED_DATAPATH",
            workload_identity_config={"workload_pool": workload_pool},
            database_encryption={"state": "ENCRYPTED", "key_name": key.key_id},
            deletion_protection=ctx.production,
            resource_labels=ctx.labels(),
            opts=ctx.opts(depends_on=list(key.resources)),
        )
        system_pool = _node_pool(
            ctx, cluster, node_account, "system", spec.system_pool, CONTROL_PLANE, False
        )
        data_pool = _node_pool(ctx, cluster, node_account, "data", spec.data_pool, DATA_PLANE, True)
        return GcpCluster(
            cluster_name=cluster.name,
            kubeconfig=pulumi.Output.secret(
                pulumi.Output.all(
                    cluster.name,
                    cluster.endpoint,
                    cluster.master_auth.apply(lambda auth: auth.cluster_ca_certificate),
                ).apply(lambda values: _kubeconfig(*values))
            ),
            node_pools=[system_pool, data_pool],
            workload_pool=workload_pool,
        )


def _node_pool(
    ctx: CellContext,
    cluster: gcp.container.Cluster,
    account: gcp.serviceaccount.Account,
    pool: str,
    spec: NodePoolSpec,
    plane: str,
    tainted: bool,
) -> gcp.container.NodePool:
    return gcp.container.NodePool(
        ctx.resource_name(f"{pool}-nodes"),
        project=ctx.project,
        location=ctx.cloud_region,
        cluster=cluster.name,
        # GKE counts nodes per zone; the totals below bound the whole pool.
        initial_node_count=math.ceil(spec.desired_size / len(ctx.zones)),
        autoscaling={
            "total_min_node_count": spec.min_size,
            "total_max_node_count": spec.max_size,
            "location_policy": "BALANCED",
        },
        management={"auto_repair": True, "auto_upgrade": True},
        upgrade_settings={"max_surge": 1, "max_unavailable": 0},
        node_config={
            "machine_type": spec.machine_type,
            "disk_size_gb": spec.disk_size_gb,
            "disk_type": "pd-balanced",
            "service_account": account.email,
            "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
            "labels": {PLANE_LABEL_KEY: plane, POOL_LABEL_KEY: pool},
            "taints": (
                [{"key": PLANE_LABEL_KEY, "value": plane, "effect": "NO_SCHEDULE"}]
                if tainted
                else []
            ),
            "resource_labels": ctx.labels(plane),
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "shielded_instance_config": {
                "enable_secure_boot": True,
                "enable_integrity_monitoring": True,
            },
        },
        opts=ctx.opts(ignore_changes=["initialNodeCount"]),
    )


def service_account_id(ctx: CellContext, role: str) -> str:
    """Return a service account id of at most 30 characters, unique per region and cell.

    Account ids are unique per project, and one project may hold cells of several regions,
    so a digest of region, cell and role follows a readable, possibly truncated prefix.
    """
    digest = hashlib.sha256(f"{ctx.region}/{ctx.cell}/{role}".encode()).hexdigest()[:6]
    prefix = f"{ctx.cell}-{role}"[:23].rstrip("-")
    return f"{prefix}-{digest}"


def _kubeconfig(name: str, endpoint: str, certificate_authority: str) -> str:
    """Return a kubeconfig that authenticates with `gke-gcloud-auth-plugin` at run time."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": f"https://{endpoint}",
                        "certificate-authority-data": certificate_authority,
                    },
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
        }
    )
