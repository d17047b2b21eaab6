"""GCP resources mapped into the cloud-neutral view, each type once."""

from collections.abc import Callable
from typing import Any

from ..values import UNKNOWN, as_bool, as_dict, as_int, as_list, get_path, is_unknown
from .common import NO_LABELS, Source, carries_parameter, description_labels, plain_labels
from .model import (
    AddressRange,
    Bucket,
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

SOURCE = "gcp"
_TAINT_EFFECTS = {
    "NO_SCHEDULE": "NoSchedule",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
    "NO_EXECUTE": "NoExecute",
}
# Types that take no labels, but a description; the library writes `key=value` words there.
_DESCRIBED_TYPES = frozenset(
    {
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/router:Router",
        "gcp:compute/firewall:Firewall",
    }
)
# Cloud SQL keeps seven automated backups unless told otherwise.
_CLOUD_SQL_DEFAULT_BACKUPS = 7


def labels(source: Source) -> Labels:
    if source.type in _DESCRIBED_TYPES:
        return description_labels(source.get("description"))
    if not carries_parameter(source, "pulumi_gcp", "labels", "labels"):
        return NO_LABELS
    return plain_labels(source.get("labels") or {}, "labels")


def _record(source: Source, kind: str, record_type: type[Record] = Labelled, **fields) -> Record:
    return record_type(ref=source.ref(SOURCE, kind), labels=labels(source), **fields)


def _network(source: Source) -> list[Record]:
    return [_record(source, "VPC network", Network)]


def _subnetwork(source: Source) -> list[Record]:
    records: list[Record] = [
        _record(source, "subnetwork", Subnet, network_property="network"),
        _record(
            source, "subnetwork", AddressRange, cidr=source.get("ipCidrRange"), role="subnet range"
        ),
    ]
    secondary = as_list(source.get("secondaryIpRanges"))
    if is_unknown(secondary):
        records.append(
            _record(source, "subnetwork", AddressRange, cidr=UNKNOWN, role="secondary ranges")
        )
        return records
    for entry in secondary:
        name = get_path(entry, "rangeName")
        records.append(
            _record(
                source,
                "subnetwork",
                AddressRange,
                cidr=get_path(entry, "ipCidrRange"),
                role=f"secondary range {name}" if isinstance(name, str) else "secondary range",
            )
        )
    return records


def _firewall(source: Source) -> list[Record]:
    direction = source.get("direction", "INGRESS")
    direction = direction.lower() if isinstance(direction, str) else direction
    key = "destinationRanges" if direction == "egress" else "sourceRanges"
    cidrs = as_list(source.get(key))
    allows = as_list(source.get("allows"))
    if is_unknown(allows):
        allows = [UNKNOWN]
    records: list[Record] = []
    for index, allow in enumerate(allows):
        records.extend(_firewall_rules(source, direction, cidrs, index, allow))
    if not records:
        # Only deny rules: they open nothing, but the firewall still carries labels.
        records.append(_record(source, "firewall"))
    return records


def _firewall_rules(
    source: Source, direction: Any, cidrs: Any, index: int, allow: Any
) -> list[Record]:
    protocol = get_path(allow, "protocol")
    ports = as_list(get_path(allow, "ports"))
    if is_unknown(ports):
        ranges: list[tuple[Any, Any]] = [(UNKNOWN, UNKNOWN)]
    elif not ports:
        ranges = [(0, 65535)]
    else:
        ranges = [_port_range(port) for port in ports]
    return [
        SecurityRule(
            ref=source.ref(SOURCE, "firewall"),
            labels=labels(source),
            direction=direction,
            protocol=protocol,
            from_port=low,
            to_port=high,
            cidrs=cidrs,
            peer_property=None,
            group_property=None,
            inline=False,
            position=f"allows[{index}]",
            network_property="network",
        )
        for low, high in ranges
    ]


def _port_range(port: Any) -> tuple[Any, Any]:
    if is_unknown(port):
        return UNKNOWN, UNKNOWN
    text = str(port)
    low, _, high = text.partition("-")
    return as_int(low), as_int(high or low)


def _peering(connection: str, *ends: str) -> Callable[[Source], list[Record]]:
    def mapper(source: Source) -> list[Record]:
        return [_record(source, connection, Peering, connection=connection, end_properties=ends)]

    return mapper


def _gke_cluster(source: Source) -> list[Record]:
    cluster_labels = plain_labels(source.get("resourceLabels") or {}, "resourceLabels")
    implicit_pool = None
    remove_default = as_bool(source.get("removeDefaultNodePool", False))
    if remove_default is not True:
        node_config = source.get("nodeConfig") or {}
        implicit_pool = NodePool(
            ref=source.ref(SOURCE, "default node pool"),
            labels=cluster_labels,
            node_labels=_node_labels(node_config),
            taints=_taints(node_config),
            cluster_property=None,
        )
    records: list[Record] = [
        Cluster(
            ref=source.ref(SOURCE, "GKE cluster"),
            labels=cluster_labels,
            implicit_pool=implicit_pool,
        )
    ]
    master_range = get_path(source.props, "privateClusterConfig", "masterIpv4CidrBlock")
    if master_range is not None:
        records.append(
            AddressRange(
                ref=source.ref(SOURCE, "GKE cluster"),
                labels=NO_LABELS,
                cidr=master_range,
                role="control plane endpoint range",
            )
        )
    return records


def _node_labels(node_config: Any) -> Any:
    if is_unknown(node_config):
        return UNKNOWN
    values = node_config.get("labels")
    return {} if values is None else values


def _taints(node_config: Any) -> Any:
    if is_unknown(node_config):
        return UNKNOWN
    taints = as_list(node_config.get("taints"))
    if is_unknown(taints):
        return UNKNOWN
    result = []
    for taint in taints:
        if is_unknown(taint):
            result.append(Taint(key=UNKNOWN, value=UNKNOWN, effect=UNKNOWN))
            continue
        effect = taint.get("effect")
        result.append(
            Taint(
                key=taint.get("key"),
                value=taint.get("value"),
                effect=_TAINT_EFFECTS.get(effect, effect) if isinstance(effect, str) else effect,
            )
        )
    return result


def _node_pool(source: Source) -> list[Record]:
    node_config = source.get("nodeConfig") or {}
    resource_labels = UNKNOWN if is_unknown(node_config) else node_config.get("resourceLabels")
    return [
        NodePool(
            ref=source.ref(SOURCE, "node pool"),
            labels=plain_labels(resource_labels or {}, "nodeConfig.resourceLabels"),
            node_labels=_node_labels(node_config),
            taints=_taints(node_config),
            cluster_property="cluster",
        )
    ]


def _sql_instance(source: Source) -> list[Record]:
    settings = as_dict(source.get("settings"))
    ip_configuration = get_path(settings, "ipConfiguration", default={})
    public, reason = _cloud_sql_public(ip_configuration)
    backup = get_path(settings, "backupConfiguration", default={})
    backup_enabled = as_bool(get_path(backup, "enabled", default=False))
    if is_unknown(backup_enabled):
        retention: Any = UNKNOWN
    elif backup_enabled:
        retained = as_int(get_path(backup, "backupRetentionSettings", "retainedBackups"))
        retention = _CLOUD_SQL_DEFAULT_BACKUPS if retained is None else retained
    else:
        retention = 0
    availability = get_path(settings, "availabilityType", default="ZONAL")
    user_labels = get_path(settings, "userLabels", default={})
    key = source.get("encryptionKeyName")
    return [
        Database(
            ref=source.ref(SOURCE, "database"),
            labels=plain_labels(user_labels or {}, "settings.userLabels"),
            engine=source.get("databaseVersion"),
            public=public,
            public_reason=reason,
            # Cloud SQL always encrypts; the key decides whether it is the cell's own.
            encrypted=True,
            key=key,
            key_property="encryptionKeyName",
            backup_retention_days=retention,
            multi_zone=UNKNOWN if is_unknown(availability) else availability == "REGIONAL",
            deletion_protection=as_bool(
                get_path(settings, "deletionProtectionEnabled", default=False)
            ),
            protected=source.protect,
        )
    ]


def _cloud_sql_public(ip_configuration: Any) -> tuple[Any, str | None]:
    if is_unknown(ip_configuration):
        return UNKNOWN, "settings.ipConfiguration"
    # Cloud SQL gives an instance a public address unless ipv4Enabled is false.
    ipv4 = as_bool(get_path(ip_configuration, "ipv4Enabled", default=True))
    if is_unknown(ipv4):
        return UNKNOWN, "settings.ipConfiguration.ipv4Enabled"
    if ipv4:
        return True, "settings.ipConfiguration.ipv4Enabled"
    return False, None


def _crypto_key(source: Source) -> list[Record]:
    return [_record(source, "KMS key", Key)]


def _bucket(source: Source) -> list[Record]:
    prevention = source.get("publicAccessPrevention")
    uniform = as_bool(source.get("uniformBucketLevelAccess", False))
    if is_unknown(prevention) or is_unknown(uniform):
        blocked: Any = UNKNOWN
    else:
        blocked = prevention == "enforced" and uniform is True
    versioning = source.get("versioning")
    enabled = as_bool(get_path(versioning, "enabled", default=False)) if versioning else False
    return [
        _record(
            source,
            "storage bucket",
            Bucket,
            public_access_blocked=blocked,
            versioning=enabled,
            # NOTE: Cloud Storage has no bucket setting that requires TLS. Its JSON and XML
            # APIs take the OAuth tokens that non-public access needs over HTTPS, and public
            # access is what public_access_blocked rules out.
            tls_required=True,
            encryption_key_property="encryption",
        )
    ]


def _address(source: Source) -> list[Record]:
    address_type = source.get("addressType", "EXTERNAL")
    if address_type == "INTERNAL":
        return [_record(source, "internal address")]
    address = source.get("address")
    addresses = () if address is None else (address,)
    return [_record(source, "external address", Ingress, addresses=addresses)]


def _forwarding_rule(source: Source) -> list[Record]:
    scheme = source.get("loadBalancingScheme", "EXTERNAL")
    if isinstance(scheme, str) and scheme.startswith("EXTERNAL"):
        address = source.get("ipAddress")
        addresses = () if address is None else (address,)
        return [_record(source, "forwarding rule", Ingress, addresses=addresses)]
    return [_record(source, "forwarding rule")]


def _secret(source: Source) -> list[Record]:
    return [_record(source, "secret", Secret)]


MAPPERS: dict[str, Callable[[Source], list[Record]]] = {
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/firewall:Firewall": _firewall,
    "gcp:compute/networkPeering:NetworkPeering": _peering("peering", "network", "peerNetwork"),
    "gcp:servicenetworking/connection:Connection": _peering("service connection", "network"),
    "gcp:networkconnectivity/spoke:Spoke": _peering(
        "transit attachment", "linkedVpcNetwork", "hub"
    ),
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:compute/address:Address": _address,
    "gcp:compute/forwardingRule:ForwardingRule": _forwarding_rule,
    "gcp:secretmanager/secret:Secret": _secret,
}


def records(source: Source) -> list[Record]:
    """Map one GCP resource; a type with no mapping still yields its labels (I11)."""
    mapper = MAPPERS.get(source.type)
    if mapper is not None:
        return mapper(source)
    return [_record(source, source.type.rsplit(":", 1)[-1])]
