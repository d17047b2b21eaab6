"""Seams between a cell and its cloud: one small interface per concern.

A cell needs the same six things on every cloud: an encryption key, a network, a
Kubernetes cluster with a tainted data-plane node pool, a PostgreSQL database, an ingress
and an identity that lets its policy agents read bundles. Each concern is an abstract class
here with one implementation per cloud in `components/cloud/<cloud>/<concern>.py`. The cell
calls the seams in that order and passes each result on, so a cloud's cluster seam only
ever receives that cloud's network result. Everything above the seams (the Cell, the
Kubernetes layer, the address plan) is written once.

Every seam creates its resources with `CellContext.opts()`, which parents them to the cell
and passes the cell's provider explicitly, so no child falls back to a default provider.
"""

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.labels import KUBERNETES_PREFIX, PLANE_KEY

# Kubernetes label and taint key that marks the plane of a node pool (I1). The data-plane
# pool carries `cellarch.io/plane=data` as a label and as a NoSchedule taint.
PLANE_LABEL_KEY = KUBERNETES_PREFIX + PLANE_KEY
POOL_LABEL_KEY = KUBERNETES_PREFIX + "pool"
DATA_PLANE = "data"
CONTROL_PLANE = "control"


@dataclass(frozen=True)
class CellContext:
    """Identity, placement, labels and resource options shared by every seam of one cell."""

    cell: str
    """Cell name, unique within the stack; prefixes every logical resource name."""
    region: str
    """Region name of the architecture (the `region` label)."""
    cloud_region: str
    """Cloud region of the cell, e.g. `us-east-1` or `europe-west1`."""
    environment: str
    """`production`, `staging` or `dev`."""
    zones: tuple[str, ...]
    """Availability zones the cell spreads over, at least three."""
    parent: pulumi.Resource
    """The Cell component; parent of every resource a seam creates."""
    provider: pulumi.ProviderResource
    """The cloud provider every resource of the cell uses."""
    cloud_labels: Callable[[str], dict[str, str]]
    """Return the tags or labels for a plane, spelled for this cloud (I11)."""
    project: str | None = None
    """GCP project of the cell; None on AWS."""

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def resource_name(self, role: str) -> str:
        """Return the logical name of a cell resource, unique within the stack."""
        return f"{self.cell}-{role}"

    def labels(self, plane: str = DATA_PLANE) -> dict[str, str]:
        return self.cloud_labels(plane)

    def label_text(self, plane: str = DATA_PLANE) -> str:
        """Return the labels as sorted `key=value` words, for resources that take no labels.

        Some GCP resources (networks, subnetworks, routers, service accounts) have a
        description but no labels, so the description carries them (I11).
        """
        return " ".join(f"{key}={value}" for key, value in sorted(self.labels(plane).items()))

    def opts(self, **options: Any) -> pulumi.ResourceOptions:
        """Return resource options that parent to the cell and pin its provider."""
        return pulumi.ResourceOptions(parent=self.parent, provider=self.provider, **options)


@dataclass(frozen=True)
class NetworkSpec:
    """Address ranges and egress settings of a cell network, taken from the address plan."""

    cidr: str
    """Primary range of the cell, disjoint from every other cell (I6)."""
    public_subnets: tuple[str, ...]
    """One range per zone for load balancers and NAT gateways (AWS)."""
    private_subnets: tuple[str, ...]
    """One range per zone for nodes (AWS); the first is the node subnetwork on GCP."""
    isolated_subnets: tuple[str, ...]
    """One range per zone with no route to the internet, for databases."""
    pods_cidr: str
    """Secondary range for pod addresses (GKE)."""
    services_cidr: str
    """Secondary range for Kubernetes service addresses (GKE)."""
    control_plane_cidr: str
    """A /28 for the private GKE control plane endpoint."""
    nat_gateway_count: int
    """NAT gateways (AWS), one per zone for production, down to one for cheap stacks."""
    flow_log_retention_days: int


@dataclass(frozen=True)
class NodePoolSpec:
    """Sizing of one node pool."""

    machine_type: str
    min_size: int
    max_size: int
    desired_size: int
    disk_size_gb: int


@dataclass(frozen=True)
class ClusterSpec:
    """Kubernetes cluster of a cell: version, API access and its two node pools."""

    kubernetes_version: str
    data_pool: NodePoolSpec
    """Tainted pool that runs only data-plane workloads (I1)."""
    system_pool: NodePoolSpec
    """Untainted pool for cluster add-ons such as DNS, labelled as control plane."""
    api_allowed_cidrs: tuple[str, ...]
    """Ranges allowed to reach the public API endpoint; empty keeps the endpoint private."""


@dataclass(frozen=True)
class DatabaseSpec:
    """PostgreSQL of a cell."""

    engine_version: str
    instance_class: str
    """AWS instance class (`db.r6g.large`) or Cloud SQL tier (`db-custom-2-7680`)."""
    storage_gb: int
    max_storage_gb: int
    backup_retention_days: int
    database_name: str
    username: str


@dataclass(frozen=True)
class IngressSpec:
    """Entry point of a cell, which the region's router sends user traffic to."""

    port: int
    """Port the load balancer listens on."""
    node_port: int
    """Node port of the Kubernetes Service behind an instance-target load balancer (AWS)."""
    allowed_cidrs: tuple[str, ...]
    """Source ranges allowed to reach the load balancer."""


@dataclass(frozen=True)
class IdentitySpec:
    """Workload identity for the policy agents of a cell."""

    namespace: str
    service_accounts: tuple[str, ...]
    """Kubernetes service accounts that run the agents, one per service."""
    bundle_bucket: pulumi.Input[str]
    """Bucket of the bundle repository; the identity may read only its bundle prefix."""
    bundle_prefix: str
    bundle_key_id: pulumi.Input[str] | None = None
    """KMS key of the bucket on AWS, which readers need to decrypt objects; None for none."""


@dataclass(frozen=True, kw_only=True)
class CellKey:
    """The cell's own encryption key (I6, I10)."""

    key_id: pulumi.Output[str]
    """ARN (AWS) or crypto key id (GCP), as the cloud's encryption settings expect it."""
    resources: Sequence[pulumi.Resource] = ()
    """Resources that must exist before the key is usable (e.g. IAM grants)."""


@dataclass(frozen=True, kw_only=True)
class CellNetwork:
    """The cell's network.

    Each cloud subclasses the results of its seams with what its own later seams read, such
    as the subnet ids of an AWS network or the OIDC provider of an EKS cluster.
    """

    network_id: pulumi.Output[str]
    isolated_cidrs: tuple[str, ...]
    """Ranges of the database subnets, the target of the workloads' egress allowance."""


@dataclass(frozen=True, kw_only=True)
class CellCluster:
    """The cell's Kubernetes cluster."""

    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Kubeconfig for the Kubernetes provider; a secret output."""
    node_pools: Sequence[pulumi.Resource]
    """Node pools the workloads depend on (they cannot schedule before these exist)."""


@dataclass(frozen=True, kw_only=True)
class CellDatabase:
    """The cell's PostgreSQL database and the credentials the services use."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]
    """A secret output."""


@dataclass(frozen=True, kw_only=True)
class CellIngress:
    """The cell's ingress and how the Kubernetes Service behind it is exposed."""

    address: pulumi.Output[str]
    """DNS name or IP address the router sends traffic to."""
    service_type: str
    """`NodePort` or `LoadBalancer`."""
    node_port: int | None
    load_balancer_ip: pulumi.Output[str] | None
    service_annotations: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class WorkloadIdentity:
    """Cloud identity of the agents' service accounts, which lets them read bundles."""

    service_account_annotations: Mapping[str, pulumi.Output[str]]
    """Annotations for each Kubernetes service account (IRSA role or GCP service account)."""
    resources: Sequence[pulumi.Resource] = ()


class KeySeam(abc.ABC):
    """Create the cell's own encryption key."""

    @abc.abstractmethod
    def create(self, ctx: CellContext) -> CellKey: ...


class NetworkSeam(abc.ABC):
    """Create the cell's network: subnets over all zones, egress through NAT, flow logs."""

    @abc.abstractmethod
    def create(self, ctx: CellContext, spec: NetworkSpec) -> CellNetwork: ...


class ClusterSeam(abc.ABC):
    """Create the cell's Kubernetes cluster with a system pool and a tainted data pool."""

    @abc.abstractmethod
    def create(
        self,
        ctx: CellContext,
        spec: ClusterSpec,
        network: CellNetwork,
        key: CellKey,
    ) -> CellCluster: ...


class DatabaseSeam(abc.ABC):
    """Create the cell's private, encrypted, backed-up, multi-zone PostgreSQL (I10)."""

    @abc.abstractmethod
    def create(
        self,
        ctx: CellContext,
        spec: DatabaseSpec,
        network: CellNetwork,
        key: CellKey,
        password: pulumi.Output[str],
    ) -> CellDatabase: ...


class IngressSeam(abc.ABC):
    """Create the cell's ingress load balancer or address."""

    @abc.abstractmethod
    def create(
        self,
        ctx: CellContext,
        spec: IngressSpec,
        network: CellNetwork,
        cluster: CellCluster,
    ) -> CellIngress: ...


class IdentitySeam(abc.ABC):
    """Create the read-only bundle identity of the cell's policy agents."""

    @abc.abstractmethod
    def create(
        self,
        ctx: CellContext,
        spec: IdentitySpec,
        cluster: CellCluster,
    ) -> WorkloadIdentity: ...


@dataclass(frozen=True)
class CloudSeams:
    """One cloud's implementation of every concern of a cell."""

    key: KeySeam
    network: NetworkSeam
    cluster: ClusterSeam
    database: DatabaseSeam
    ingress: IngressSeam
    identity: IdentitySeam


def explicit_provider(
    opts: pulumi.ResourceOptions | None,
    package: str,
) -> pulumi.ProviderResource | None:
    """Return the provider for `package` that a component's options name, or None.

    Looks where Pulumi looks, in order: `opts.provider`, `opts.providers`, and the
    providers the parent passes down. A component calls this before it registers itself,
    so that it can reject options without a provider instead of leaving its children to
    Pulumi's default provider.
    """
    if opts is None:
        return None
    if opts.provider is not None and opts.provider.package == package:
        return opts.provider
    providers = opts.providers
    if isinstance(providers, Mapping) and package in providers:
        return providers[package]
    if isinstance(providers, Sequence):
        for provider in providers:
            if provider.package == package:
                return provider
    if opts.parent is not None:
        return opts.parent.get_provider(f"{package}::")
    return None
