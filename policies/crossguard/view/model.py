"""The cloud-neutral view of a stack: typed records that every rule is written against.

Each AWS, GCP and Kubernetes resource type the pack understands is mapped once, in
`view/aws.py`, `view/gcp.py` or `view/kubernetes.py`, into one or more of these records.
A rule reads records and never a provider's property names, so it holds on every cloud
alike (I12).

A field that the engine does not know yet holds `UNKNOWN`. A field that the resource does
not set holds None, so a rule can tell "not set" from "not known yet". A relation to another
resource is kept as the name of the input property that carries it (`network_property`,
`key_property`, ...), because IDs are unknown during preview while the engine still sends
each property's dependencies; `view/graph.py` resolves them.
"""

from dataclasses import dataclass, field
from typing import Any

from ..values import UNKNOWN, Unknown

PLANES = ("data", "control", "governance", "observability")
LABEL_KEYS = ("plane", "region", "cell", "stack", "managed-by")


@dataclass(frozen=True)
class Ref:
    """Identity of the resource a record was mapped from."""

    urn: str
    name: str
    """Logical name in the Pulumi program."""
    type: str
    """Type token, e.g. `aws:rds/instance:Instance`."""
    source: str
    """`aws`, `gcp` or `kubernetes`."""
    kind: str
    """What the resource is in this view's words, e.g. `database` or `node pool`."""

    @property
    def title(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Labels:
    """The plane, region, cell, stack and managed-by labels, under their plain keys."""

    values: dict[str, Any] | Unknown
    """Label values by plain key; UNKNOWN when the whole map is unknown."""
    carrier: str | None
    """Where the labels live (`tags`, `labels`, `metadata.labels`, `description`), or None
    when the type carries no labels at all."""

    def get(self, key: str) -> Any:
        if self.values is UNKNOWN:
            return UNKNOWN
        return self.values.get(key)


NO_LABELS = Labels(values={}, carrier=None)


@dataclass(frozen=True)
class Record:
    ref: Ref
    labels: Labels


@dataclass(frozen=True)
class Labelled(Record):
    """A resource that no rule looks at beyond its labels (I11)."""


@dataclass(frozen=True)
class AddressRange(Record):
    """One address range a network resource takes: a VPC, subnet or secondary range (I6)."""

    cidr: Any
    role: str
    """What the range is for, e.g. `VPC range`, `subnet range`, `secondary range pods`."""
    network_property: str | None = None
    """For a range that is a resource of its own, the input property naming its network."""


@dataclass(frozen=True)
class Network(Record):
    """A VPC or VPC network."""


@dataclass(frozen=True)
class Subnet(Record):
    network_property: str | None
    """Input property that names the network, resolved through its dependencies."""


@dataclass(frozen=True)
class Cluster(Record):
    """A managed Kubernetes cluster."""

    implicit_pool: "NodePool | None" = None
    """The cluster's default node pool, when the cluster keeps one."""


@dataclass(frozen=True)
class Taint:
    key: Any
    value: Any
    effect: Any
    """`NoSchedule`, `PreferNoSchedule` or `NoExecute`, in Kubernetes spelling."""


@dataclass(frozen=True)
class NodePool(Record):
    node_labels: dict[str, Any] | Unknown
    """Kubernetes labels every node of the pool carries."""
    taints: list[Taint] | Unknown
    cluster_property: str | None


@dataclass(frozen=True)
class Database(Record):
    engine: Any
    public: Any
    """True when the database has a public address or accepts connections from anywhere."""
    public_reason: str | None
    """The setting that makes it public, for the message."""
    encrypted: Any
    key: Any
    """The key reference as set (ARN or key name); None for the provider's default key."""
    key_property: str | None
    backup_retention_days: Any
    """Days of automated backups; 0 when backups are off."""
    multi_zone: Any
    deletion_protection: Any
    protected: bool | None
    """Pulumi's `protect` resource option; None when the engine did not send options."""
    settings_property: str | None = None
    """For a database configured by a parent cluster (Aurora), the link to it."""
    firewall_property: str | None = None
    """Input property naming the security groups in front of the database."""


@dataclass(frozen=True)
class Key(Record):
    """An encryption key."""


@dataclass(frozen=True)
class Bucket(Record):
    public_access_blocked: Any
    """True, False, UNKNOWN, or None when the bucket leaves it to a separate resource."""
    versioning: Any
    tls_required: Any
    encryption_key_property: str | None = None


@dataclass(frozen=True)
class BucketSetting(Record):
    """A separate resource that configures a bucket (AWS keeps these apart from the bucket)."""

    bucket_property: str
    setting: str
    """`public access block`, `versioning` or `policy`."""
    public_access_blocked: Any = None
    versioning: Any = None
    tls_required: Any = None


@dataclass(frozen=True)
class Ingress(Record):
    """A load balancer, external address or Kubernetes Service exposed outside the cluster."""

    addresses: tuple[Any, ...] = ()
    """DNS names or IP addresses clients reach it at, as far as the resource states them."""


@dataclass(frozen=True)
class Secret(Record):
    key_property: str | None = None


@dataclass(frozen=True)
class SecurityRule(Record):
    """One opening in a firewall, whether inline in its group or a resource of its own."""

    direction: str
    """`ingress` or `egress`."""
    protocol: Any
    from_port: Any
    to_port: Any
    cidrs: list[Any] | Unknown
    """Peer ranges (sources for ingress, destinations for egress)."""
    peer_property: str | None
    """Input property naming peer groups, resolved through its dependencies."""
    group_property: str | None
    """Input property naming the group the rule belongs to; None for an inline rule,
    whose group is the resource itself."""
    inline: bool
    position: str
    """Where the rule sits, e.g. `ingress[0]`, for the message."""
    network_property: str | None = None
    """For a firewall that belongs to a network rather than a group (GCP)."""


@dataclass(frozen=True)
class Peering(Record):
    """A peering, transit attachment or service connection between networks (I6)."""

    connection: str
    """`peering`, `transit attachment`, `peering acceptance` or `service connection`."""
    end_properties: tuple[str, ...]
    """Input properties that name the networks, or the connection, at each end."""


@dataclass(frozen=True)
class Toleration:
    key: Any
    operator: Any
    value: Any
    effect: Any


@dataclass(frozen=True)
class Mount:
    volume: Any
    path: Any
    read_only: bool


@dataclass(frozen=True)
class Container:
    name: Any
    image: Any
    command: list[Any] | Unknown
    args: list[Any] | Unknown
    env: dict[str, Any] | Unknown
    """Variable name to its literal value; a variable taken from elsewhere maps to None."""
    ports: dict[Any, Any] | Unknown
    """Container port number to its name (None when unnamed)."""
    mounts: list[Mount] | Unknown
    memory_limit: Any


@dataclass(frozen=True)
class Volume:
    name: Any
    source: str
    """`configMap`, `secret`, `emptyDir`, `persistentVolumeClaim`, `csi`, `hostPath`, ..."""
    reference: Any
    """Name of the ConfigMap, Secret or claim; None for other sources."""


@dataclass(frozen=True)
class PodSpec:
    labels: dict[str, Any] | Unknown
    node_selector: dict[str, Any] | Unknown
    required_node_terms: list[dict[str, Any]] | Unknown
    """Required node affinity: each term maps a label key to (operator, values)."""
    tolerations: list[Toleration] | Unknown
    containers: list[Container] | Unknown
    init_containers: list[Container] | Unknown
    volumes: dict[Any, Volume] | Unknown
    host_network: Any


@dataclass(frozen=True)
class Workload(Record):
    namespace: Any
    workload_kind: str
    """`Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `CronJob`, `ReplicaSet` or `Pod`."""
    object_name: Any
    pod: PodSpec | Unknown
    rolling_max_unavailable: Any = None


@dataclass(frozen=True)
class ConfigMap(Record):
    namespace: Any
    object_name: Any
    data: dict[str, Any] | Unknown


@dataclass(frozen=True)
class ServicePort:
    port: Any
    target_port: Any
    """A number or the name of a container port."""
    node_port: Any = None


@dataclass(frozen=True)
class KubeService(Record):
    namespace: Any
    object_name: Any
    service_type: Any
    selector: dict[str, Any] | Unknown
    ports: list[ServicePort] | Unknown


@dataclass(frozen=True)
class KubeProvider(Record):
    """A Kubernetes provider, which names the cluster its resources go to."""

    cluster_properties: tuple[str, ...] = ("kubeconfig",)


@dataclass(frozen=True)
class Component(Record):
    """A component resource of this library, e.g. a Cell, with the values it declares."""

    values: dict[str, Any] = field(default_factory=dict)
