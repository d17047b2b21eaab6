"""AWS part of the cluster concern: the cell's own EKS cluster and its two node groups."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cloud.aws.network import AwsNetwork
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

_CLUSTER_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",)
_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
_CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


@dataclass(frozen=True, kw_only=True)
class AwsCluster(CellCluster):
    """An EKS cluster with the OIDC provider its service accounts assume roles through."""

    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    """Issuer URL without the `https://` scheme, as IAM condition keys spell it."""
    cluster_security_group_id: pulumi.Output[str]
    data_node_group: aws.eks.NodeGroup


class AwsClusterSeam(ClusterSeam):
    """An EKS cluster in the private subnets, with secrets encrypted by the cell's key.

    Two managed node groups: a small untainted system group for cluster add-ons (CoreDNS is
    pinned to it), and the data-plane group, labelled and tainted so that only workloads
    that tolerate the data plane run there (I1). The VPC CNI add-on runs with network
    policy enforcement switched on, which the workloads' NetworkPolicies rely on, and the
    metrics-server add-on serves the CPU metrics their autoscalers read.
    """

    def create(
        self,
        ctx: CellContext,
        spec: ClusterSpec,
        network: CellNetwork,
        key: CellKey,
    ) -> AwsCluster:
        if not isinstance(network, AwsNetwork):
            raise TypeError(f"the AWS cluster seam needs an AwsNetwork, got {type(network)}")
        cluster_role = _service_role(ctx, "cluster-role", "eks.amazonaws.com", _CLUSTER_POLICIES)
        key_grant = aws.iam.RolePolicy(
            ctx.resource_name("cluster-key-policy"),
            role=cluster_role.role.id,
            policy=key.key_id.apply(_key_use_policy),
            opts=ctx.opts(),
        )
        cluster = aws.eks.Cluster(
            ctx.resource_name("eks"),
            version=spec.kubernetes_version,
            role_arn=cluster_role.role.arn,
            vpc_config={
                "subnet_ids": list(network.private_subnet_ids),
                "endpoint_private_access": True,
                "endpoint_public_access": bool(spec.api_allowed_cidrs),
                "public_access_cidrs": list(spec.api_allowed_cidrs) or None,
            },
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": True,
            },
            encryption_config={"provider": {"key_arn": key.key_id}, "resources": ["secrets"]},
            enabled_cluster_log_types=_CONTROL_PLANE_LOGS,
            tags=ctx.labels(),
            opts=ctx.opts(depends_on=[*cluster_role.attachments, key_grant]),
        )
        issuer_url = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            ctx.resource_name("oidc"),
            url=issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            tags=ctx.labels(),
            opts=ctx.opts(),
        )

        node_role = _service_role(ctx, "node-role", "ec2.amazonaws.com", _NODE_POLICIES)
        system_group = _node_group(
            ctx, cluster, network, node_role, "system", spec.system_pool, CONTROL_PLANE, False
        )
        data_group = _node_group(
            ctx, cluster, network, node_role, "data", spec.data_pool, DATA_PLANE, True
        )
        self._addons(ctx, cluster, [system_group, data_group])

        return AwsCluster(
            cluster_name=cluster.name,
            kubeconfig=pulumi.Output.secret(
                pulumi.Output.all(
                    cluster.name,
                    cluster.endpoint,
                    cluster.certificate_authority.apply(lambda authority: authority.data),
                ).apply(lambda values: _kubeconfig(ctx.cloud_region, *values))
            ),
            node_pools=[system_group, data_group],
            oidc_provider_arn=oidc.arn,
            oidc_issuer=issuer_url.apply(lambda url: url.removeprefix("https://")),
            cluster_security_group_id=cluster.vpc_config.apply(
                lambda config: config.cluster_security_group_id
            ),
            data_node_group=data_group,
        )

    def _addons(
        self,
        ctx: CellContext,
        cluster: aws.eks.Cluster,
        node_groups: list[aws.eks.NodeGroup],
    ) -> None:
        configuration = {
            # Without this the VPC CNI ignores NetworkPolicy objects, and the workloads'
            # default-deny policies would not be enforced.
            "vpc-cni": {"enableNetworkPolicy": "true"},
            "coredns": {"nodeSelector": {POOL_LABEL_KEY: "system"}},
            "kube-proxy": None,
            # The workloads' autoscalers read container CPU from the metrics API, which EKS
            # serves only with this add-on (GKE serves it by default).
            "metrics-server": None,
        }
        for addon_name, values in configuration.items():
            aws.eks.Addon(
                ctx.resource_name(f"addon-{addon_name}"),
                cluster_name=cluster.name,
                addon_name=addon_name,
                configuration_values=json.dumps(values) if values else None,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                tags=ctx.labels(),
                opts=ctx.opts(depends_on=node_groups),
            )


@dataclass(frozen=True)
class _ServiceRole:
    role: aws.iam.Role
    attachments: list[aws.iam.RolePolicyAttachment]


def _service_role(
    ctx: CellContext,
    role_name: str,
    service: str,
    policy_arns: tuple[str, ...],
) -> _ServiceRole:
    role = aws.iam.Role(
        ctx.resource_name(role_name),
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
        tags=ctx.labels(),
        opts=ctx.opts(),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            ctx.resource_name(f"{role_name}-{arn.rsplit('/', 1)[-1]}"),
            role=role.name,
            policy_arn=arn,
            opts=ctx.opts(),
        )
        for arn in policy_arns
    ]
    return _ServiceRole(role, attachments)


def _node_group(
    ctx: CellContext,
    cluster: aws.eks.Cluster,
    network: AwsNetwork,
    node_role: _ServiceRole,
    pool: str,
    spec: NodePoolSpec,
    plane: str,
    tainted: bool,
) -> aws.eks.NodeGroup:
    return aws.eks.NodeGroup(
        ctx.resource_name(f"{pool}-nodes"),
        cluster_name=cluster.name,
        node_role_arn=node_role.role.arn,
        subnet_ids=list(network.private_subnet_ids),
        instance_types=[spec.machine_type],
        disk_size=spec.disk_size_gb,
        scaling_config={
            "min_size": spec.min_size,
            "max_size": spec.max_size,
            "desired_size": spec.desired_size,
        },
        update_config={"max_unavailable": 1},
        labels={PLANE_LABEL_KEY: plane, POOL_LABEL_KEY: pool},
        taints=(
            [{"key": PLANE_LABEL_KEY, "value": plane, "effect": "NO_SCHEDULE"}] if tainted else []
        ),
        tags=ctx.labels(plane),
        # The desired size moves with the cluster autoscaler; Pulumi keeps min and max.
        opts=ctx.opts(
            depends_on=node_role.attachments,
            ignore_changes=["scalingConfig.desiredSize"],
        ),
    )


def _key_use_policy(key_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:CreateGrant",
                        "kms:ListGrants",
                    ],
                    "Resource": key_arn,
                }
            ],
        }
    )


def _kubeconfig(aws_region: str, name: str, endpoint: str, certificate_authority: str) -> str:
    """Return a kubeconfig that authenticates with `aws eks get-token` at run time."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {
                        "server": endpoint,
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
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                name,
                                "--region",
                                aws_region,
                            ],
                        }
                    },
                }
            ],
        }
    )
