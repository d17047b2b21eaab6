"""GCP part of the network concern: the cell's VPC network, subnetworks, router and NAT."""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.cloud.base import CellContext, CellNetwork, NetworkSeam, NetworkSpec

PODS_RANGE = "pods"
SERVICES_RANGE = "services"
_FLOW_LOGS = {
    "aggregation_interval": "INTERVAL_5_SEC",
    "flow_sampling": 0.5,
    "metadata": "INCLUDE_ALL_METADATA",
}


@dataclass(frozen=True, kw_only=True)
class GcpNetwork(CellNetwork):
    """The VPC network of a cell with its node and database subnetworks."""

    network_self_link: pulumi.Output[str]
    node_subnetwork_id: pulumi.Output[str]
    database_subnetwork_id: pulumi.Output[str]
    node_cidr: str
    control_plane_cidr: str
    pods_range_name: str
    services_range_name: str


class GcpNetworkSeam(NetworkSeam):
    """A custom-mode VPC network with two regional subnetworks, Cloud Router and Cloud NAT.

    GCP subnetworks are regional, so one node subnetwork spans every zone of the cell. It
    takes the first private range of the address plan, with secondary ranges for GKE pods
    and services. The database subnetwork takes the first isolated range and only holds the
    Private Service Connect endpoint of Cloud SQL. Cloud NAT serves the node subnetwork
    alone, so nothing in the database subnetwork reaches the internet. Both subnetworks
    write flow logs. GCP networks carry no labels, so their descriptions name the cell.
    """

    def create(self, ctx: CellContext, spec: NetworkSpec) -> GcpNetwork:
        description = ctx.label_text()
        network = gcp.compute.Network(
            ctx.resource_name("vpc"),
            project=ctx.project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description=description,
            opts=ctx.opts(),
        )
        nodes = gcp.compute.Subnetwork(
            ctx.resource_name("nodes"),
            project=ctx.project,
            region=ctx.cloud_region,
            network=network.id,
            ip_cidr_range=spec.private_subnets[0],
            secondary_ip_ranges=[
                {"range_name": PODS_RANGE, "ip_cidr_range": spec.pods_cidr},
                {"range_name": SERVICES_RANGE, "ip_cidr_range": spec.services_cidr},
            ],
            private_ip_google_access=True,
            log_config=_FLOW_LOGS,
            description=description,
            opts=ctx.opts(),
        )
        database = gcp.compute.Subnetwork(
            ctx.resource_name("database"),
            project=ctx.project,
            region=ctx.cloud_region,
            network=network.id,
            ip_cidr_range=spec.isolated_subnets[0],
            private_ip_google_access=False,
            log_config=_FLOW_LOGS,
            description=description,
            opts=ctx.opts(),
        )
        router = gcp.compute.Router(
            ctx.resource_name("router"),
            project=ctx.project,
            region=ctx.cloud_region,
            network=network.id,
            description=description,
            opts=ctx.opts(),
        )
        gcp.compute.RouterNat(
            ctx.resource_name("nat"),
            project=ctx.project,
            region=ctx.cloud_region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": nodes.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=ctx.opts(),
        )
        return GcpNetwork(
            network_id=network.id,
            isolated_cidrs=(spec.isolated_subnets[0],),
            network_self_link=network.self_link,
            node_subnetwork_id=nodes.id,
            database_subnetwork_id=database.id,
            node_cidr=spec.private_subnets[0],
            control_plane_cidr=spec.control_plane_cidr,
            pods_range_name=PODS_RANGE,
            services_range_name=SERVICES_RANGE,
        )
