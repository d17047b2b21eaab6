"""AWS part of the network concern: the cell's VPC, its three subnet tiers and egress."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cloud.base import CellContext, CellNetwork, NetworkSeam, NetworkSpec

# Subnet tags that let EKS and its load balancer controllers find the subnets by role.
_PUBLIC_ELB_TAG = {"kubernetes.io/role/elb": "1"}
_INTERNAL_ELB_TAG = {"kubernetes.io/role/internal-elb": "1"}


@dataclass(frozen=True, kw_only=True)
class AwsNetwork(CellNetwork):
    """The VPC of a cell and its subnets, one of each tier per zone, in zone order."""

    vpc_cidr: str
    private_cidrs: tuple[str, ...]
    public_subnet_ids: tuple[pulumi.Output[str], ...]
    private_subnet_ids: tuple[pulumi.Output[str], ...]
    isolated_subnet_ids: tuple[pulumi.Output[str], ...]


class AwsNetworkSeam(NetworkSeam):
    """A VPC with public, private and isolated subnets in every zone.

    Public subnets hold the NAT gateways and the ingress load balancer, private subnets the
    nodes and pods, and isolated subnets the database with no route out of the VPC. Private
    subnets leave through a NAT gateway in their own zone, or share the first ones when the
    stack runs fewer gateways than zones. An S3 gateway endpoint keeps bundle downloads off
    the NAT gateways. Flow logs of all traffic go to CloudWatch Logs.
    """

    def create(self, ctx: CellContext, spec: NetworkSpec) -> AwsNetwork:
        vpc = aws.ec2.Vpc(
            ctx.resource_name("vpc"),
            cidr_block=spec.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=_tags(ctx, "vpc"),
            opts=ctx.opts(),
        )
        # Adopting the default security group with no rules removes its allow-all rules.
        aws.ec2.DefaultSecurityGroup(
            ctx.resource_name("default-sg"),
            vpc_id=vpc.id,
            tags=_tags(ctx, "default-deny"),
            opts=ctx.opts(),
        )
        gateway = aws.ec2.InternetGateway(
            ctx.resource_name("igw"),
            vpc_id=vpc.id,
            tags=_tags(ctx, "igw"),
            opts=ctx.opts(),
        )

        public = self._subnets(ctx, vpc, "public", spec.public_subnets, _PUBLIC_ELB_TAG)
        private = self._subnets(ctx, vpc, "private", spec.private_subnets, _INTERNAL_ELB_TAG)
        isolated = self._subnets(ctx, vpc, "isolated", spec.isolated_subnets, {})

        public_table = aws.ec2.RouteTable(
            ctx.resource_name("public-rt"),
            vpc_id=vpc.id,
            tags=_tags(ctx, "public"),
            opts=ctx.opts(),
        )
        aws.ec2.Route(
            ctx.resource_name("public-default-route"),
            route_table_id=public_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
            opts=ctx.opts(),
        )
        self._associate(ctx, "public", public, [public_table] * len(public))

        gateways = [
            self._nat_gateway(ctx, index, public[index], gateway)
            for index in range(spec.nat_gateway_count)
        ]
        private_tables = []
        for index, zone in enumerate(ctx.zones):
            table = aws.ec2.RouteTable(
                ctx.resource_name(f"private-rt-{zone}"),
                vpc_id=vpc.id,
                tags=_tags(ctx, f"private-{zone}"),
                opts=ctx.opts(),
            )
            aws.ec2.Route(
                ctx.resource_name(f"private-default-route-{zone}"),
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=gateways[index % len(gateways)].id,
                opts=ctx.opts(),
            )
            private_tables.append(table)
        self._associate(ctx, "private", private, private_tables)

        # The isolated tier has only the VPC's local route: the database never reaches out.
        isolated_table = aws.ec2.RouteTable(
            ctx.resource_name("isolated-rt"),
            vpc_id=vpc.id,
            tags=_tags(ctx, "isolated"),
            opts=ctx.opts(),
        )
        self._associate(ctx, "isolated", isolated, [isolated_table] * len(isolated))

        aws.ec2.VpcEndpoint(
            ctx.resource_name("s3-endpoint"),
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{ctx.cloud_region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in private_tables],
            tags=_tags(ctx, "s3"),
            opts=ctx.opts(),
        )
        self._flow_logs(ctx, vpc, spec.flow_log_retention_days)

        return AwsNetwork(
            network_id=vpc.id,
            isolated_cidrs=spec.isolated_subnets,
            vpc_cidr=spec.cidr,
            private_cidrs=spec.private_subnets,
            public_subnet_ids=tuple(subnet.id for subnet in public),
            private_subnet_ids=tuple(subnet.id for subnet in private),
            isolated_subnet_ids=tuple(subnet.id for subnet in isolated),
        )

    def _subnets(
        self,
        ctx: CellContext,
        vpc: aws.ec2.Vpc,
        tier: str,
        cidrs: tuple[str, ...],
        extra_tags: dict[str, str],
    ) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(
                ctx.resource_name(f"{tier}-{zone}"),
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**_tags(ctx, f"{tier}-{zone}"), "cellarch.io/tier": tier, **extra_tags},
                opts=ctx.opts(),
            )
            for zone, cidr in zip(ctx.zones, cidrs, strict=True)
        ]

    def _associate(
        self,
        ctx: CellContext,
        tier: str,
        subnets: list[aws.ec2.Subnet],
        tables: list[aws.ec2.RouteTable],
    ) -> None:
        for zone, subnet, table in zip(ctx.zones, subnets, tables, strict=True):
            aws.ec2.RouteTableAssociation(
                ctx.resource_name(f"{tier}-rta-{zone}"),
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=ctx.opts(),
            )

    def _nat_gateway(
        self,
        ctx: CellContext,
        index: int,
        subnet: aws.ec2.Subnet,
        gateway: aws.ec2.InternetGateway,
    ) -> aws.ec2.NatGateway:
        zone = ctx.zones[index]
        address = aws.ec2.Eip(
            ctx.resource_name(f"nat-eip-{zone}"),
            domain="vpc",
            tags=_tags(ctx, f"nat-{zone}"),
            opts=ctx.opts(depends_on=[gateway]),
        )
        return aws.ec2.NatGateway(
            ctx.resource_name(f"nat-{zone}"),
            subnet_id=subnet.id,
            allocation_id=address.allocation_id,
            tags=_tags(ctx, f"nat-{zone}"),
            opts=ctx.opts(depends_on=[gateway]),
        )

    def _flow_logs(self, ctx: CellContext, vpc: aws.ec2.Vpc, retention_days: int) -> None:
        labels = ctx.labels("observability")
        log_group = aws.cloudwatch.LogGroup(
            ctx.resource_name("flow-logs"),
            retention_in_days=retention_days,
            tags=labels,
            opts=ctx.opts(),
        )
        role = aws.iam.Role(
            ctx.resource_name("flow-logs-role"),
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=labels,
            opts=ctx.opts(),
        )
        aws.iam.RolePolicy(
            ctx.resource_name("flow-logs-policy"),
            role=role.id,
            policy=log_group.arn.apply(_flow_log_policy),
            opts=ctx.opts(),
        )
        aws.ec2.FlowLog(
            ctx.resource_name("flow-log"),
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=labels,
            opts=ctx.opts(),
        )


def _tags(ctx: CellContext, role: str) -> dict[str, str]:
    return {**ctx.labels(), "Name": ctx.resource_name(role)}


def _flow_log_policy(log_group_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                    ],
                    "Resource": [log_group_arn, f"{log_group_arn}:*"],
                }
            ],
        }
    )
