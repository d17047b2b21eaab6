"""AWS resources mapped into the cloud-neutral view, each type once."""

import json
from collections.abc import Callable
from typing import Any

from ..values import UNKNOWN, as_bool, as_dict, as_int, as_list, get_path, is_unknown
from .common import NO_LABELS, Source, carries_parameter, merged, plain_labels
from .model import (
    AddressRange,
    Bucket,
    BucketSetting,
    Cluster,
    Database,
    Ingress,
    Key,
    Labelled,
    Labels,
    Network,
    NodePool,
    Peering,
    Record,
    Secret,
    SecurityRule,
    Subnet,
    Taint,
)

SOURCE = "aws"
_TAINT_EFFECTS = {
    "NO_SCHEDULE": "NoSchedule",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
    "NO_EXECUTE": "NoExecute",
}


def labels(source: Source) -> Labels:
    """Return the resource's tags over its provider's default tags, or none if untaggable."""
    if not carries_parameter(source, "pulumi_aws", "tags", "tags"):
        return NO_LABELS
    tags = source.get("tags")
    if tags is None and "tagsAll" in source.props:
        tags = source.get("tagsAll")
    own = plain_labels(tags if tags is not None else {}, "tags")
    default_tags = get_path(_provider_default_tags(source), "tags", default={})
    return merged(plain_labels(default_tags, "tags"), own)


def _provider_default_tags(source: Source) -> Any:
    """Return the provider's `defaultTags` input.

    The engine sends a provider's inputs as the SDK registered them, where every value that
    is not a string is JSON-encoded, e.g. `defaultTags` as `{"tags": {...}}` in a string.
    """
    value = (source.provider_props or {}).get("defaultTags", {})
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value


def _record(source: Source, kind: str, record_type: type[Record] = Labelled, **fields) -> Record:
    return record_type(ref=source.ref(SOURCE, kind), labels=labels(source), **fields)


def _vpc(source: Source) -> list[Record]:
    records: list[Record] = [_record(source, "VPC", Network)]
    cidr = source.get("cidrBlock")
    if cidr is not None:
        records.append(_record(source, "VPC", AddressRange, cidr=cidr, role="VPC range"))
    return records


def _vpc_cidr_association(source: Source) -> list[Record]:
    return [
        _record(
            source,
            "VPC range association",
            AddressRange,
            cidr=source.get("cidrBlock"),
            role="secondary VPC range",
            network_property="vpcId",
        )
    ]


def _subnet(source: Source) -> list[Record]:
    return [
        _record(source, "subnet", Subnet, network_property="vpcId"),
        _record(source, "subnet", AddressRange, cidr=source.get("cidrBlock"), role="subnet range"),
    ]


def _cidrs(rule: dict[str, Any], *keys: str) -> list[Any]:
    result: list[Any] = []
    for key in keys:
        values = as_list(rule.get(key))
        if is_unknown(values):
            return UNKNOWN
        result.extend(values)
    return result


def _security_group(source: Source) -> list[Record]:
    records: list[Record] = [_record(source, "security group")]
    for direction in ("ingress", "egress"):
        rules = as_list(source.get(direction))
        if is_unknown(rules):
            records.append(_inline_rule(source, direction, f"{direction}", UNKNOWN))
            continue
        for index, rule in enumerate(rules):
            records.append(_inline_rule(source, direction, f"{direction}[{index}]", rule))
    return records


def _inline_rule(source: Source, direction: str, position: str, rule: Any) -> Record:
    if is_unknown(rule):
        protocol = from_port = to_port = cidrs = UNKNOWN
    else:
        rule = as_dict(rule)
        protocol = rule.get("protocol")
        from_port = as_int(rule.get("fromPort"))
        to_port = as_int(rule.get("toPort"))
        cidrs = _cidrs(rule, "cidrBlocks", "ipv6CidrBlocks")
    return SecurityRule(
        ref=source.ref(SOURCE, "security group"),
        labels=NO_LABELS,
        direction=direction,
        protocol=protocol,
        from_port=from_port,
        to_port=to_port,
        cidrs=cidrs,
        peer_property=direction,
        group_property=None,
        inline=True,
        position=position,
    )


def _security_group_rule(source: Source) -> list[Record]:
    return [
        SecurityRule(
            ref=source.ref(SOURCE, "security group rule"),
            labels=labels(source),
            direction=source.get("type") if not is_unknown(source.get("type")) else UNKNOWN,
            protocol=source.get("protocol"),
            from_port=as_int(source.get("fromPort")),
            to_port=as_int(source.get("toPort")),
            cidrs=_cidrs(source.props, "cidrBlocks", "ipv6CidrBlocks"),
            peer_property="sourceSecurityGroupId",
            group_property="securityGroupId",
            inline=False,
            position="rule",
        )
    ]


def _vpc_security_group_rule(direction: str) -> Callable[[Source], list[Record]]:
    def mapper(source: Source) -> list[Record]:
        return [
            SecurityRule(
                ref=source.ref(SOURCE, f"security group {direction} rule"),
                labels=labels(source),
                direction=direction,
                protocol=source.get("ipProtocol"),
                from_port=as_int(source.get("fromPort")),
                to_port=as_int(source.get("toPort")),
                cidrs=_cidrs(source.props, "cidrIpv4", "cidrIpv6"),
                peer_property="referencedSecurityGroupId",
                group_property="securityGroupId",
                inline=False,
                position="rule",
            )
        ]

    return mapper


def _peering(connection: str, *ends: str) -> Callable[[Source], list[Record]]:
    def mapper(source: Source) -> list[Record]:
        return [_record(source, connection, Peering, connection=connection, end_properties=ends)]

    return mapper


def _eks_cluster(source: Source) -> list[Record]:
    return [_record(source, "EKS cluster", Cluster)]


def _node_group(source: Source) -> list[Record]:
    taints = as_list(source.get("taints"))
    if not is_unknown(taints):
        taints = [_taint(taint) for taint in taints]
    node_labels = source.get("labels")
    if node_labels is None:
        node_labels = {}
    return [
        _record(
            source,
            "node pool",
            NodePool,
            node_labels=node_labels,
            taints=taints,
            cluster_property="clusterName",
        )
    ]


def _taint(taint: Any) -> Taint:
    if is_unknown(taint):
        return Taint(key=UNKNOWN, value=UNKNOWN, effect=UNKNOWN)
    effect = taint.get("effect")
    return Taint(
        key=taint.get("key"),
        value=taint.get("value"),
        effect=_TAINT_EFFECTS.get(effect, effect) if isinstance(effect, str) else effect,
    )


def _rds_instance(source: Source) -> list[Record]:
    member_of_cluster = source.get("clusterIdentifier") is not None
    retention = as_int(source.get("backupRetentionPeriod"))
    return [
        _record(
            source,
            "database",
            Database,
            engine=source.get("engine"),
            public=as_bool(source.get("publiclyAccessible", False)),
            public_reason="publiclyAccessible",
            encrypted=as_bool(source.get("storageEncrypted", False)),
            key=source.get("kmsKeyId"),
            key_property="kmsKeyId",
            # The provider's default is no automated backups.
            backup_retention_days=0 if retention is None else retention,
            multi_zone=as_bool(source.get("multiAz", False)),
            deletion_protection=as_bool(source.get("deletionProtection", False)),
            protected=source.protect,
            settings_property="clusterIdentifier" if member_of_cluster else None,
            firewall_property="vpcSecurityGroupIds",
        )
    ]


def _rds_cluster(source: Source) -> list[Record]:
    retention = as_int(source.get("backupRetentionPeriod"))
    zones = as_list(source.get("availabilityZones"))
    # NOTE: an Aurora cluster's storage spans three zones, but its compute fails over only
    # to a reader in another zone; the readers are separate ClusterInstance resources, and
    # this rule counts the zones the cluster names rather than its instances.
    multi_zone = UNKNOWN if is_unknown(zones) else (len(zones) >= 2 or None)
    if source.get("dbClusterInstanceClass") is not None:
        multi_zone = True  # A Multi-AZ DB cluster always has standbys in two more zones.
    return [
        _record(
            source,
            "database cluster",
            Database,
            engine=source.get("engine"),
            public=False,
            public_reason=None,
            encrypted=as_bool(source.get("storageEncrypted", False)),
            key=source.get("kmsKeyId"),
            key_property="kmsKeyId",
            backup_retention_days=1 if retention is None else retention,
            multi_zone=False if multi_zone is None else multi_zone,
            deletion_protection=as_bool(source.get("deletionProtection", False)),
            protected=source.protect,
            firewall_property="vpcSecurityGroupIds",
        )
    ]


def _rds_cluster_instance(source: Source) -> list[Record]:
    # Encryption, backups and deletion protection belong to the cluster (settings_property).
    return [
        _record(
            source,
            "database instance",
            Database,
            engine=source.get("engine"),
            public=as_bool(source.get("publiclyAccessible", False)),
            public_reason="publiclyAccessible",
            encrypted=None,
            key=None,
            key_property=None,
            backup_retention_days=None,
            multi_zone=None,
            deletion_protection=None,
            protected=source.protect,
            settings_property="clusterIdentifier",
        )
    ]


def _kms_key(source: Source) -> list[Record]:
    return [_record(source, "KMS key", Key)]


def _bucket(source: Source) -> list[Record]:
    versioning = source.get("versioning")
    enabled = None if versioning is None else as_bool(get_path(versioning, "enabled"))
    return [
        _record(
            source,
            "S3 bucket",
            Bucket,
            public_access_blocked=None,
            versioning=enabled,
            tls_required=None,
        )
    ]


def _public_access_block(source: Source) -> list[Record]:
    flags = [
        as_bool(source.get(flag, False))
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    ]
    if any(is_unknown(flag) for flag in flags):
        blocked: Any = UNKNOWN
    else:
        blocked = all(flags)
    return [
        _record(
            source,
            "bucket public access block",
            BucketSetting,
            bucket_property="bucket",
            setting="public access block",
            public_access_blocked=blocked,
        )
    ]


def _bucket_versioning(source: Source) -> list[Record]:
    status = get_path(source.props, "versioningConfiguration", "status")
    enabled = UNKNOWN if is_unknown(status) else status == "Enabled"
    return [
        _record(
            source,
            "bucket versioning",
            BucketSetting,
            bucket_property="bucket",
            setting="versioning",
            versioning=enabled,
        )
    ]


def _bucket_policy(source: Source) -> list[Record]:
    return [
        _record(
            source,
            "bucket policy",
            BucketSetting,
            bucket_property="bucket",
            setting="policy",
            tls_required=denies_insecure_transport(source.get("policy")),
        )
    ]


def denies_insecure_transport(policy: Any) -> Any:
    """Tell whether a bucket policy denies every request that does not use TLS."""
    if is_unknown(policy):
        return UNKNOWN
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return False
    if not isinstance(policy, dict):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        condition = get_path(statement, "Condition", "Bool", "aws:SecureTransport")
        if condition in ("false", False, ["false"]) and statement.get("Principal") in (
            "*",
            {"AWS": "*"},
        ):
            return True
    return False


def _load_balancer(source: Source) -> list[Record]:
    dns_name = source.get("dnsName")
    addresses = () if dns_name is None else (dns_name,)
    return [_record(source, "load balancer", Ingress, addresses=addresses)]


def _secret(source: Source) -> list[Record]:
    return [_record(source, "secret", Secret, key_property="kmsKeyId")]


MAPPERS: dict[str, Callable[[Source], list[Record]]] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": _vpc_cidr_association,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _security_group,
    "aws:ec2/securityGroupRule:SecurityGroupRule": _security_group_rule,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _vpc_security_group_rule(
        "ingress"
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _vpc_security_group_rule("egress"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _peering("peering", "vpcId", "peerVpcId"),
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": _peering(
        "peering acceptance", "vpcPeeringConnectionId"
    ),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": _peering(
        "transit attachment", "vpcId", "transitGatewayId"
    ),
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _rds_cluster_instance,
    "aws:kms/key:Key": _kms_key,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _public_access_block,
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_versioning,
    "aws:s3/bucketVersioningV2:BucketVersioningV2": _bucket_versioning,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:elb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:secretsmanager/secret:Secret": _secret,
}


def records(source: Source) -> list[Record]:
    """Map one AWS resource; a type with no mapping still yields its labels (I11)."""
    mapper = MAPPERS.get(source.type)
    if mapper is not None:
        return mapper(source)
    return [_record(source, _kind_from_type(source.type))]


def _kind_from_type(type_token: str) -> str:
    """Return a readable kind for an unmapped type, e.g. `aws:ec2/eip:Eip` -> `Eip`."""
    return type_token.rsplit(":", 1)[-1]
