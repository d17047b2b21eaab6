"""GCP part of the ingress concern: a reserved address for the cell's load balancer."""

import pulumi_gcp as gcp

from components.cloud.base import (
    CellCluster,
    CellContext,
    CellIngress,
    CellNetwork,
    IngressSeam,
    IngressSpec,
)


class GcpIngressSeam(IngressSeam):
    """A regional external address, used by a Kubernetes Service of type LoadBalancer.

    GKE creates the passthrough network load balancer for the Service and keeps it in step
    with the data nodes. Pulumi owns the address, so it carries the cell's labels and
    outlives the Service when the Service is replaced.
    """

    def create(
        self,
        ctx: CellContext,
        spec: IngressSpec,
        network: CellNetwork,
        cluster: CellCluster,
    ) -> CellIngress:
        address = gcp.compute.Address(
            ctx.resource_name("ingress"),
            project=ctx.project,
            region=ctx.cloud_region,
            address_type="EXTERNAL",
            network_tier="PREMIUM",
            labels=ctx.labels(),
            opts=ctx.opts(),
        )
        return CellIngress(
            address=address.address,
            service_type="LoadBalancer",
            node_port=None,
            load_balancer_ip=address.address,
            # Backend-service-based load balancers support more than one zone's nodes
            # without the legacy target pools.
            service_annotations={"cloud.google.com/l4-rbs": "enabled"},
        )
