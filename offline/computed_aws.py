"""Values AWS computes for the resources the components create, keyed as the engine keys them."""

import base64
from collections.abc import Callable
from typing import Any

from offline.ids import auto_name, hex_id, private_ip, public_ip, uuid_id

Computed = dict[str, Any]


class AwsContext:
    """The account and region a mock AWS resource lives in, taken from its provider."""

    def __init__(self, account: str, region: str, urn: str, name: str, inputs: dict) -> None:
        self.account = account
        self.region = region
        self.urn = urn
        self.name = name
        self.inputs = inputs

    def arn(self, service: str, resource: str, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        owner = self.account if account else ""
        return f"arn:aws:{service}:{region}:{owner}:{resource}"

    def physical_name(self, key: str = "name", max_length: int = 63) -> str:
        given = self.inputs.get(key)
        return (
            given
            if isinstance(given, str) and given
            else auto_name(self.name, self.urn, max_length)
        )


def _prefixed(prefix: str, service: str = "ec2", kind: str | None = None) -> Callable:
    def compute(ctx: AwsContext) -> tuple[str, Computed]:
        resource_id = f"{prefix}-{hex_id(ctx.urn)}"
        computed: Computed = {"ownerId": ctx.account}
        if kind:
            computed["arn"] = ctx.arn(service, f"{kind}/{resource_id}")
        return resource_id, computed

    return compute


def _vpc(ctx: AwsContext) -> tuple[str, Computed]:
    vpc_id = f"vpc-{hex_id(ctx.urn)}"
    return vpc_id, {
        "arn": ctx.arn("ec2", f"vpc/{vpc_id}"),
        "ownerId": ctx.account,
        "defaultSecurityGroupId": f"sg-{hex_id(ctx.urn + 'sg')}",
        "defaultNetworkAclId": f"acl-{hex_id(ctx.urn + 'acl')}",
        "mainRouteTableId": f"rtb-{hex_id(ctx.urn + 'rtb')}",
        "dhcpOptionsId": f"dopt-{hex_id(ctx.urn + 'dopt')}",
    }


def _subnet(ctx: AwsContext) -> tuple[str, Computed]:
    subnet_id = f"subnet-{hex_id(ctx.urn)}"
    zone = ctx.inputs.get("availabilityZone", f"{ctx.region}a")
    return subnet_id, {
        "arn": ctx.arn("ec2", f"subnet/{subnet_id}"),
        "ownerId": ctx.account,
        "availabilityZone": zone,
        "availabilityZoneId": f"use1-az{ord(zone[-1]) - 96}",
    }


def _nat_gateway(ctx: AwsContext) -> tuple[str, Computed]:
    return f"nat-{hex_id(ctx.urn)}", {
        "publicIp": public_ip(ctx.urn),
        "privateIp": private_ip(ctx.urn),
        "networkInterfaceId": f"eni-{hex_id(ctx.urn + 'eni')}",
    }


def _eip(ctx: AwsContext) -> tuple[str, Computed]:
    allocation = f"eipalloc-{hex_id(ctx.urn)}"
    return allocation, {
        "allocationId": allocation,
        "publicIp": public_ip(ctx.urn),
        "publicDns": f"ec2-{public_ip(ctx.urn).replace('.', '-')}.compute-1.amazonaws.com",
        "arn": ctx.arn("ec2", f"elastic-ip/{allocation}"),
    }


def _role(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=64)
    return name, {
        "name": name,
        "arn": ctx.arn(
            "iam", f"role/{ctx.inputs.get('path', '/').lstrip('/')}{name}", regional=False
        ),
        "uniqueId": "AROA" + hex_id(ctx.urn, 17).upper(),
        "createDate": "2025-01-01T00:00:00Z",
    }


def _policy(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=128)
    arn = ctx.arn("iam", f"policy/{name}", regional=False)
    return arn, {"name": name, "arn": arn, "policyId": "ANPA" + hex_id(ctx.urn).upper()}


def _oidc_provider(ctx: AwsContext) -> tuple[str, Computed]:
    url = str(ctx.inputs.get("url", f"https://oidc.eks.{ctx.region}.amazonaws.com/id/X"))
    arn = ctx.arn("iam", "oidc-provider/" + url.removeprefix("https://"), regional=False)
    return arn, {"arn": arn}


def _kms_key(ctx: AwsContext) -> tuple[str, Computed]:
    key_id = uuid_id(ctx.urn)
    return key_id, {"keyId": key_id, "arn": ctx.arn("kms", f"key/{key_id}")}


def _kms_alias(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name()
    return name, {"arn": ctx.arn("kms", name), "targetKeyArn": ctx.arn("kms", "key/target")}


def _bucket(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name("bucket")
    return name, {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
        "hostedZoneId": "Z3AQBSTGFYJSTF",
        "region": ctx.region,
    }


def _bucket_setting(ctx: AwsContext) -> tuple[str, Computed]:
    return str(ctx.inputs.get("bucket", ctx.name)), {}


def _bucket_object(ctx: AwsContext) -> tuple[str, Computed]:
    return str(ctx.inputs.get("key", ctx.name)), {
        "etag": hex_id(ctx.urn, 32),
        "versionId": hex_id(ctx.urn + "version", 32),
        "arn": f"arn:aws:s3:::{ctx.inputs.get('bucket', 'bucket')}/{ctx.inputs.get('key', '')}",
    }


def _queue(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=80)
    url = f"https://sqs.{ctx.region}.amazonaws.com/{ctx.account}/{name}"
    return url, {"name": name, "url": url, "arn": ctx.arn("sqs", name)}


def _eks_cluster(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=100)
    oidc = hex_id(ctx.urn + "oidc", 32).upper()
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n")
    return name, {
        "name": name,
        "arn": ctx.arn("eks", f"cluster/{name}"),
        "endpoint": f"https://{oidc}.gr7.{ctx.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": ca.decode()},
        "identities": [
            {"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{oidc}"}]}
        ],
        "platformVersion": "eks.10",
        "status": "ACTIVE",
        "clusterId": uuid_id(ctx.urn),
        "version": ctx.inputs.get("version", "1.33"),
        "vpcConfig": {
            **(ctx.inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{hex_id(ctx.urn + 'cluster-sg')}",
            "vpcId": f"vpc-{hex_id(ctx.urn + 'vpc')}",
        },
    }


def _node_group(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name("nodeGroupName")
    cluster = ctx.inputs.get("clusterName", "cluster")
    return f"{cluster}:{name}", {
        "nodeGroupName": name,
        "arn": ctx.arn("eks", f"nodegroup/{cluster}/{name}/{uuid_id(ctx.urn)}"),
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{uuid_id(ctx.urn)}"}]}],
    }


def _joined_id(*keys: str) -> Callable:
    def compute(ctx: AwsContext) -> tuple[str, Computed]:
        parts = [str(ctx.inputs.get(key, ctx.name)) for key in keys]
        return ":".join(parts), {}

    return compute


def _rds_cluster(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name("clusterIdentifier")
    suffix = hex_id(ctx.urn, 12)
    computed: Computed = {
        "clusterIdentifier": name,
        "arn": ctx.arn("rds", f"cluster:{name}"),
        "endpoint": f"{name}.cluster-{suffix}.{ctx.region}.rds.amazonaws.com",
        "readerEndpoint": f"{name}.cluster-ro-{suffix}.{ctx.region}.rds.amazonaws.com",
        "port": 5432,
        "clusterResourceId": "cluster-" + hex_id(ctx.urn, 26).upper(),
        "hostedZoneId": "Z2R2ITUGPM61AM",
    }
    if ctx.inputs.get("manageMasterUserPassword"):
        secret = ctx.arn(
            "secretsmanager", f"secret:rds!cluster-{uuid_id(ctx.urn)}-{hex_id(ctx.urn, 6)}"
        )
        computed["masterUserSecrets"] = [{"secretArn": secret, "secretStatus": "active"}]
    return name, computed


def _rds_instance(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name("identifier")
    address = f"{name}.{hex_id(ctx.urn, 12)}.{ctx.region}.rds.amazonaws.com"
    return name, {
        "identifier": name,
        "arn": ctx.arn("rds", f"db:{name}"),
        "address": address,
        "endpoint": f"{address}:5432",
        "port": 5432,
        "resourceId": "db-" + hex_id(ctx.urn, 26).upper(),
    }


def _rds_named(kind: str) -> Callable:
    def compute(ctx: AwsContext) -> tuple[str, Computed]:
        name = ctx.physical_name()
        return name, {"name": name, "arn": ctx.arn("rds", f"{kind}:{name}")}

    return compute


def _load_balancer(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=32)
    kind = "net" if ctx.inputs.get("loadBalancerType") == "network" else "app"
    arn = ctx.arn("elasticloadbalancing", f"loadbalancer/{kind}/{name}/{hex_id(ctx.urn, 16)}")
    return arn, {
        "arn": arn,
        "name": name,
        "dnsName": f"{name}-{hex_id(ctx.urn, 10)}.elb.{ctx.region}.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
        "arnSuffix": arn.split("loadbalancer/", 1)[1],
    }


def _target_group(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=32)
    arn = ctx.arn("elasticloadbalancing", f"targetgroup/{name}/{hex_id(ctx.urn, 16)}")
    return arn, {"arn": arn, "name": name, "arnSuffix": arn.split(":", 5)[5]}


def _listener(ctx: AwsContext) -> tuple[str, Computed]:
    arn = ctx.arn(
        "elasticloadbalancing", f"listener/app/lb/{hex_id(ctx.urn, 16)}/{hex_id(ctx.urn + 'l', 16)}"
    )
    return arn, {"arn": arn}


def _log_group(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=512)
    return name, {"name": name, "arn": ctx.arn("logs", f"log-group:{name}")}


def _amp_workspace(ctx: AwsContext) -> tuple[str, Computed]:
    workspace = f"ws-{uuid_id(ctx.urn)}"
    return workspace, {
        "arn": ctx.arn("aps", f"workspace/{workspace}"),
        "prometheusEndpoint": f"https://aps-workspaces.{ctx.region}.amazonaws.com/workspaces/{workspace}/",
    }


def _grafana_workspace(ctx: AwsContext) -> tuple[str, Computed]:
    workspace = f"g-{hex_id(ctx.urn, 10)}"
    return workspace, {
        "arn": ctx.arn("grafana", f"/workspaces/{workspace}"),
        "endpoint": f"{workspace}.grafana-workspace.{ctx.region}.amazonaws.com",
    }


def _dashboard(ctx: AwsContext) -> tuple[str, Computed]:
    name = str(ctx.inputs.get("dashboardName", ctx.name))
    return name, {"dashboardArn": ctx.arn("cloudwatch", f"dashboard/{name}", regional=False)}


def _accelerator(ctx: AwsContext) -> tuple[str, Computed]:
    arn = f"arn:aws:globalaccelerator::{ctx.account}:accelerator/{uuid_id(ctx.urn)}"
    return arn, {
        "dnsName": f"a{hex_id(ctx.urn, 16)}.awsglobalaccelerator.com",
        "dualStackDnsName": f"a{hex_id(ctx.urn, 16)}.dualstack.awsglobalaccelerator.com",
        "hostedZoneId": "Z2BJ6XQ5FK7U4H",
        "ipSets": [
            {"ipFamily": "IPv4", "ipAddresses": [public_ip(ctx.urn), public_ip(ctx.urn + "2")]}
        ],
    }


def _accelerator_child(kind: str) -> Callable:
    def compute(ctx: AwsContext) -> tuple[str, Computed]:
        arn = f"arn:aws:globalaccelerator::{ctx.account}:accelerator/x/{kind}/{hex_id(ctx.urn, 8)}"
        return arn, {"arn": arn}

    return compute


def _zone(ctx: AwsContext) -> tuple[str, Computed]:
    zone_id = "Z" + hex_id(ctx.urn, 20).upper()
    return zone_id, {
        "zoneId": zone_id,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "nameServers": [f"ns-{n}.awsdns-{n}.org" for n in (101, 202, 303, 404)],
    }


def _record(ctx: AwsContext) -> tuple[str, Computed]:
    name = str(ctx.inputs.get("name", ctx.name))
    return f"{ctx.inputs.get('zoneId', 'Z')}_{name}_{ctx.inputs.get('type', 'A')}", {"fqdn": name}


def _secret(ctx: AwsContext) -> tuple[str, Computed]:
    name = ctx.physical_name(max_length=512)
    arn = ctx.arn("secretsmanager", f"secret:{name}-{hex_id(ctx.urn, 6)}")
    return arn, {"arn": arn, "name": name}


def _launch_template(ctx: AwsContext) -> tuple[str, Computed]:
    template = f"lt-{hex_id(ctx.urn)}"
    return template, {
        "arn": ctx.arn("ec2", f"launch-template/{template}"),
        "latestVersion": 1,
        "defaultVersion": 1,
    }


def _generic(ctx: AwsContext) -> tuple[str, Computed]:
    return f"{ctx.name}-{hex_id(ctx.urn, 8)}", {}


_SSE_TYPE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
_SSE_TYPE_V2 = (
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
)

COMPUTERS: dict[str, Callable[[AwsContext], tuple[str, Computed]]] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/internetGateway:InternetGateway": _prefixed("igw", kind="internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/routeTable:RouteTable": _prefixed("rtb", kind="route-table"),
    "aws:ec2/route:Route": _prefixed("r-rtb"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _prefixed("rtbassoc"),
    "aws:ec2/securityGroup:SecurityGroup": _prefixed("sg", kind="security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _prefixed("sg", kind="security-group"),
    "aws:ec2/securityGroupRule:SecurityGroupRule": _prefixed("sgrule"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _prefixed(
        "sgr", kind="security-group-rule"
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _prefixed(
        "sgr", kind="security-group-rule"
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _prefixed("vpce", kind="vpc-endpoint"),
    "aws:ec2/flowLog:FlowLog": _prefixed("fl", kind="vpc-flow-log"),
    "aws:ec2/networkAcl:NetworkAcl": _prefixed("acl", kind="network-acl"),
    "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": _prefixed("acl", kind="network-acl"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _policy,
    "aws:iam/rolePolicy:RolePolicy": _joined_id("role", "name"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _joined_id("role", "policyArn"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_setting,
    "aws:s3/bucketVersioningV2:BucketVersioningV2": _bucket_setting,
    _SSE_TYPE: _bucket_setting,
    _SSE_TYPE_V2: _bucket_setting,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _bucket_setting,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_setting,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _bucket_setting,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _bucket_setting,
    "aws:s3/bucketObjectv2:BucketObjectv2": _bucket_object,
    "aws:s3/bucketObject:BucketObject": _bucket_object,
    "aws:sqs/queue:Queue": _queue,
    "aws:sqs/queuePolicy:QueuePolicy": _joined_id("queueUrl"),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _joined_id("queueUrl"),
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:eks/addon:Addon": _joined_id("clusterName", "addonName"),
    "aws:eks/accessEntry:AccessEntry": _joined_id("clusterName", "principalArn"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _joined_id(
        "clusterName", "policyArn"
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _joined_id(
        "clusterName", "serviceAccount"
    ),
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _rds_instance,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/subnetGroup:SubnetGroup": _rds_named("subgrp"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": _rds_named("cluster-pg"),
    "aws:rds/parameterGroup:ParameterGroup": _rds_named("pg"),
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:lb/listener:Listener": _listener,
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": _generic,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:grafana/workspace:Workspace": _grafana_workspace,
    "aws:globalaccelerator/accelerator:Accelerator": _accelerator,
    "aws:globalaccelerator/listener:Listener": _accelerator_child("listener"),
    "aws:globalaccelerator/endpointGroup:EndpointGroup": _accelerator_child("endpoint-group"),
    "aws:route53/zone:Zone": _zone,
    "aws:route53/record:Record": _record,
    "aws:secretsmanager/secret:Secret": _secret,
}


def compute(type_: str, ctx: AwsContext) -> tuple[str, Computed]:
    """Return the physical ID and the computed outputs of an AWS resource."""
    resource_id, computed = COMPUTERS.get(type_, _generic)(ctx)
    tags = ctx.inputs.get("tags")
    if isinstance(tags, dict):
        computed.setdefault("tagsAll", dict(tags))
    if type_ not in COMPUTERS and "arn" not in computed:
        module = type_.split(":")[1].split("/")[0]
        computed["arn"] = ctx.arn(module, f"{type_.rsplit(':', 1)[1].lower()}/{resource_id}")
    return resource_id, computed
