"""AWS part of the ingress concern: a network load balancer in front of the data nodes."""

import pulumi_aws as aws

from components.cloud.aws.cluster import AwsCluster
from components.cloud.aws.network import AwsNetwork
from components.cloud.base import (
    CellCluster,
    CellContext,
    CellIngress,
    CellNetwork,
    IngressSeam,
    IngressSpec,
)


class AwsIngressSeam(IngressSeam):
    """An internet-facing NLB that forwards TCP to a node port on the data-plane nodes.

    Pulumi owns the load balancer, so it carries the cell's tags and needs no in-cluster
    controller. The target group is attached to the data node group's Auto Scaling group,
    and the Kubernetes layer exposes the ingress Service on the same node port. The cluster
    security group admits that port only from the load balancer's security group.
    """

    def create(
        self,
        ctx: CellContext,
        spec: IngressSpec,
        network: CellNetwork,
        cluster: CellCluster,
    ) -> CellIngress:
        if not isinstance(network, AwsNetwork) or not isinstance(cluster, AwsCluster):
            raise TypeError("the AWS ingress seam needs an AwsNetwork and an AwsCluster")
        security_group = aws.ec2.SecurityGroup(
            ctx.resource_name("ingress-sg"),
            description=f"Ingress load balancer of cell {ctx.cell}",
            vpc_id=network.network_id,
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": spec.port,
                    "to_port": spec.port,
                    "cidr_blocks": list(spec.allowed_cidrs),
                    "description": "Traffic from the region's router",
                }
            ],
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": spec.node_port,
                    "to_port": spec.node_port,
                    "cidr_blocks": list(network.private_cidrs),
                    "description": "Node port of the ingress Service on the data nodes",
                }
            ],
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        load_balancer = aws.lb.LoadBalancer(
            ctx.resource_name("ingress"),
            load_balancer_type="network",
            internal=False,
            subnets=list(network.public_subnet_ids),
            security_groups=[security_group.id],
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=ctx.production,
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        target_group = aws.lb.TargetGroup(
            ctx.resource_name("ingress-targets"),
            port=spec.node_port,
            protocol="TCP",
            target_type="instance",
            vpc_id=network.network_id,
            deregistration_delay=30,
            health_check={"protocol": "TCP", "interval": 10, "healthy_threshold": 2},
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        aws.lb.Listener(
            ctx.resource_name("ingress-listener"),
            load_balancer_arn=load_balancer.arn,
            port=spec.port,
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            tags=ctx.labels(),
            opts=ctx.opts(),
        )
        aws.autoscaling.Attachment(
            ctx.resource_name("ingress-nodes"),
            autoscaling_group_name=cluster.data_node_group.resources.apply(
                lambda resources: resources[0].autoscaling_groups[0].name
            ),
            lb_target_group_arn=target_group.arn,
            opts=ctx.opts(),
        )
        aws.ec2.SecurityGroupRule(
            ctx.resource_name("ingress-to-nodes"),
            type="ingress",
            security_group_id=cluster.cluster_security_group_id,
            source_security_group_id=security_group.id,
            protocol="tcp",
            from_port=spec.node_port,
            to_port=spec.node_port,
            description="Ingress load balancer to the node port of the ingress Service",
            opts=ctx.opts(),
        )
        return CellIngress(
            address=load_balancer.dns_name,
            service_type="NodePort",
            node_port=spec.node_port,
            load_balancer_ip=None,
            service_annotations={},
        )
