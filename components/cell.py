"""Cell: a complete, isolated copy of the data plane, sized for a fixed number of users.

A cell owns its network, Kubernetes cluster, PostgreSQL database, encryption key, ingress
and bundle identity, and shares none of them with another cell (I6). The cloud-specific
parts come from `components.cloud.seams_for(cloud)`. The workloads on the cluster come
from `CellWorkloads`, which is the same on every cloud.
"""

import ipaddress
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.addressing import CellAddresses
from components.arguments import coerce_args
from components.cloud import CLOUDS, seams_for
from components.cloud.base import (
    DATA_PLANE,
    CellContext,
    CellDatabase,
    ClusterSpec,
    DatabaseSpec,
    IdentitySpec,
    IngressSpec,
    NetworkSpec,
    NodePoolSpec,
    explicit_provider,
)
from components.errors import ConfigError
from components.kubernetes.args import (
    BundleSource,
    CellWorkloadsArgs,
    DatabaseConnection,
    IngressExposure,
    ServiceSpec,
)
from components.kubernetes.workloads import CellWorkloads
from components.labels import (
    CELL_KEY,
    MANAGED_BY_KEY,
    PLANE_KEY,
    REGION_KEY,
    STACK_KEY,
    LabelContext,
)
from components.telemetry.trust import TelemetryTLSArgs

TYPE_TOKEN = "cellarch:index:Cell"
ENVIRONMENTS = ("production", "staging", "dev")
MIN_ZONES = 3
DEFAULT_USERS = 10_000
DEFAULT_USER_CAP = 20_000
_CELL_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$")
_KUBERNETES_VERSION = re.compile(r"^1\.[0-9]{2}$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_RESERVED_LABELS = (PLANE_KEY, REGION_KEY, CELL_KEY, STACK_KEY, MANAGED_BY_KEY)

# Defaults a platform team would start from, per cloud: general-purpose nodes with room
# for the three sidecars per pod, and a memory-optimised database with two vCPUs.
_DEFAULT_MACHINES = {
    "aws": {"data": "m6i.xlarge", "system": "m6i.large", "database": "db.r6g.large"},
    "gcp": {"data": "e2-standard-4", "system": "e2-standard-2", "database": "db-custom-2-7680"},
}


@dataclass
class NodePoolArgs:
    """Sizing of a node pool; sizes count nodes across all zones of the cell."""

    machine_type: str | None = None
    """Instance type (AWS) or machine type (GCP); None takes the cloud's default."""
    min_size: int | None = 3
    max_size: int | None = 12
    desired_size: int | None = 3
    disk_size_gb: int | None = 100


@dataclass
class DatabaseArgs:
    """Sizing and retention of the cell's PostgreSQL."""

    instance_class: str | None = None
    """RDS instance class or Cloud SQL tier; None takes the cloud's default."""
    engine_version: str | None = "16"
    """PostgreSQL major version."""
    storage_gb: int | None = 100
    max_storage_gb: int | None = 1000
    """Storage grows automatically up to this size."""
    backup_retention_days: int | None = 14
    database_name: str | None = "app"
    username: str | None = "app"


@dataclass
class CellAddressArgs:
    """The cell's ranges from the region's address plan (`components.addressing`)."""

    cidr: str
    public_subnets: list[str]
    """One per zone, in zone order."""
    private_subnets: list[str]
    isolated_subnets: list[str]
    pods_cidr: str
    services_cidr: str
    control_plane_cidr: str

    @classmethod
    def from_plan(cls, addresses: CellAddresses) -> "CellAddressArgs":
        return cls(
            cidr=addresses.cidr,
            public_subnets=list(addresses.public_subnets),
            private_subnets=list(addresses.private_subnets),
            isolated_subnets=list(addresses.isolated_subnets),
            pods_cidr=addresses.pods_cidr,
            services_cidr=addresses.services_cidr,
            control_plane_cidr=addresses.control_plane_cidr,
        )


@dataclass
class CellArgs:
    """Arguments of a Cell. Cloud, placement and addresses come from the region's config."""

    cloud: str
    """`aws` or `gcp`; chooses the cloud seams."""
    region: str
    """Cloud region, e.g. `us-east-1` or `europe-west1`; also the `region` label."""
    zones: list[str]
    """Zones the cell spreads over, at least three."""
    addresses: CellAddressArgs
    jurisdiction: str
    """Data jurisdiction (`us`, `eu`), which the policy agents see per request."""
    services: list[ServiceSpec]
    bundle: BundleSource
    telemetry_endpoint: str
    """OTLP/gRPC `host:port` of the region's collector gateway."""
    telemetry_tls: TelemetryTLSArgs | None = None
    """This cell's client certificate for the gateway, as a Region issues it. None verifies
    the gateway against the system roots and sends no client certificate, which the policy
    rule i08-telemetry-mtls reports."""
    environment: str | None = "production"
    """`production`, `staging` or `dev`; production turns on deletion protection."""
    users: int | None = DEFAULT_USERS
    """Users the cell is sized for; at most `user_cap` (I7)."""
    user_cap: int | None = DEFAULT_USER_CAP
    project: str | None = None
    """GCP project of the cell; required on GCP, rejected on AWS."""
    stack: str | None = ""
    """Stack name for the `stack` label; empty takes the current Pulumi stack."""
    kubernetes_version: str | None = "1.33"
    data_pool: NodePoolArgs | None = field(default_factory=NodePoolArgs)
    system_pool: NodePoolArgs | None = field(
        default_factory=lambda: NodePoolArgs(min_size=2, max_size=4, desired_size=2)
    )
    database: DatabaseArgs | None = field(default_factory=DatabaseArgs)
    nat_gateway_count: int | None = None
    """NAT gateways on AWS: None puts one in each zone; 1 is the cheap choice for dev stacks.
    GCP's Cloud NAT is regional and ignores this."""
    api_allowed_cidrs: list[str] | None = field(default_factory=list)
    """Ranges that may reach the cluster API; empty keeps the API endpoint private."""
    ingress_allowed_cidrs: list[str] | None = field(default_factory=lambda: ["0.0.0.0/0"])
    """Ranges that may reach the cell's ingress, normally those of the region's router."""
    ingress_port: int | None = 443
    ingress_node_port: int | None = 30443
    """Node port of the ingress Service behind the AWS load balancer."""
    flow_log_retention_days: int | None = 90
    trust_domain: str | None = None
    """SPIFFE trust domain of the cell's workloads; defaults to `<region>.cellarch`."""
    labels: dict[str, str] | None = field(default_factory=dict)
    """Extra labels for every cloud resource, e.g. a cost centre; the five standard keys are
    set by the component."""

    def validate(self, name: str) -> None:
        """Raise ConfigError naming the first invalid argument, or the cell name."""
        if not isinstance(name, str) or not _CELL_NAME.match(name):
            raise ConfigError(
                "name", name, "a DNS label of 1 to 20 lower-case letters, digits and -"
            )
        self._validate_placement()
        self._validate_zones()
        self._validate_addresses()
        self._validate_size()
        for pool_name in ("data_pool", "system_pool"):
            _validate_pool(pool_name, getattr(self, pool_name))
        self._validate_database()
        self._validate_access()
        self._validate_labels()

    def _validate_placement(self) -> None:
        if self.cloud not in CLOUDS:
            raise ConfigError("cloud", self.cloud, " or ".join(CLOUDS))
        if self.environment not in ENVIRONMENTS:
            raise ConfigError("environment", self.environment, "one of " + ", ".join(ENVIRONMENTS))
        if not isinstance(self.region, str) or not re.match(r"^[a-z]+(-[a-z]+)*-?\d$", self.region):
            raise ConfigError("region", self.region, "a cloud region such as us-east-1")
        if self.cloud == "gcp" and (
            not isinstance(self.project, str) or not _GCP_PROJECT.match(self.project)
        ):
            raise ConfigError("project", self.project, "a GCP project id on gcp")
        if self.cloud == "aws" and self.project is not None:
            raise ConfigError("project", self.project, "no project (None) on aws")
        if not isinstance(self.kubernetes_version, str) or not _KUBERNETES_VERSION.match(
            self.kubernetes_version
        ):
            raise ConfigError(
                "kubernetes_version", self.kubernetes_version, "a minor version such as 1.33"
            )

    def _validate_size(self) -> None:
        _check_int("user_cap", self.user_cap, 1, 1_000_000)
        users_is_int = isinstance(self.users, int) and not isinstance(self.users, bool)
        if users_is_int and self.users > self.user_cap:
            raise ConfigError(
                "users",
                self.users,
                f"at most the cell size cap of {self.user_cap} users; add a cell instead",
            )
        _check_int("users", self.users, 1, self.user_cap)

    def _validate_access(self) -> None:
        if self.nat_gateway_count is not None:
            _check_int("nat_gateway_count", self.nat_gateway_count, 1, len(self.zones))
        _check_cidrs("api_allowed_cidrs", self.api_allowed_cidrs, allow_empty=True)
        _check_cidrs("ingress_allowed_cidrs", self.ingress_allowed_cidrs, allow_empty=False)
        _check_int("ingress_port", self.ingress_port, 1, 65535)
        _check_int("ingress_node_port", self.ingress_node_port, 30000, 32767)
        _check_int("flow_log_retention_days", self.flow_log_retention_days, 1, 3653)

    def _validate_labels(self) -> None:
        if not isinstance(self.labels, dict):
            raise ConfigError("labels", self.labels, "a map of strings to strings")
        for key, value in self.labels.items():
            if key in _RESERVED_LABELS:
                raise ConfigError(f"labels.{key}", value, "a key other than the standard ones")
            # The stricter spelling of the two clouds, so the labels mean the same on both.
            if not isinstance(key, str) or not _LABEL_KEY.match(key):
                raise ConfigError("labels", key, "keys of lower-case letters, digits, _ and -")
            if not isinstance(value, str) or not _LABEL_VALUE.match(value):
                raise ConfigError(f"labels.{key}", value, "lower-case letters, digits, _ and -")

    def _validate_zones(self) -> None:
        if not isinstance(self.zones, list) or len(self.zones) < MIN_ZONES:
            raise ConfigError("zones", self.zones, f"a list of at least {MIN_ZONES} zones")
        if len(set(self.zones)) != len(self.zones):
            raise ConfigError("zones", self.zones, "each zone at most once")
        for index, zone in enumerate(self.zones):
            if not isinstance(zone, str) or not zone.startswith(self.region):
                raise ConfigError(f"zones[{index}]", zone, f"a zone of {self.region}")

    def _validate_addresses(self) -> None:
        addresses = self.addresses
        if not isinstance(addresses, CellAddressArgs):
            raise ConfigError("addresses", addresses, "a CellAddressArgs")
        cell = _network("addresses.cidr", addresses.cidr)
        ranges: list[tuple[str, ipaddress.IPv4Network]] = []
        for tier in ("public_subnets", "private_subnets", "isolated_subnets"):
            subnets = getattr(addresses, tier)
            if not isinstance(subnets, list) or len(subnets) != len(self.zones):
                raise ConfigError(
                    f"addresses.{tier}", subnets, f"one range per zone ({len(self.zones)})"
                )
            for index, cidr in enumerate(subnets):
                key = f"addresses.{tier}[{index}]"
                ranges.append((key, _network(key, cidr)))
        for single in ("pods_cidr", "services_cidr", "control_plane_cidr"):
            key = f"addresses.{single}"
            ranges.append((key, _network(key, getattr(addresses, single))))
        for index, (key, network) in enumerate(ranges):
            if not network.subnet_of(cell):
                raise ConfigError(key, str(network), f"a range inside the cell range {cell}")
            for other_key, other in ranges[index + 1 :]:
                if network.overlaps(other):
                    raise ConfigError(
                        key, str(network), f"a range disjoint from {other_key} {other}"
                    )
        if ipaddress.ip_network(addresses.control_plane_cidr).prefixlen != 28:
            raise ConfigError(
                "addresses.control_plane_cidr", addresses.control_plane_cidr, "a /28 range"
            )

    def _validate_database(self) -> None:
        database = self.database
        if not isinstance(database, DatabaseArgs):
            raise ConfigError("database", database, "a DatabaseArgs")
        if not isinstance(database.engine_version, str) or not re.match(
            r"^1[4-7]$", database.engine_version
        ):
            raise ConfigError(
                "database.engine_version", database.engine_version, "a major version, 14 to 17"
            )
        _check_int("database.storage_gb", database.storage_gb, 20, 65536)
        _check_int("database.max_storage_gb", database.max_storage_gb, database.storage_gb, 65536)
        # Seven days is the least that point-in-time recovery is useful with.
        _check_int("database.backup_retention_days", database.backup_retention_days, 7, 35)
        for key in ("database_name", "username"):
            value = getattr(database, key)
            if not isinstance(value, str) or not re.match(r"^[a-z][a-z0-9_]{0,62}$", value):
                raise ConfigError(f"database.{key}", value, "a lower-case PostgreSQL identifier")


def validate_cell(name: str, args: CellArgs) -> None:
    """Raise ConfigError for the first invalid argument of a Cell, its Kubernetes layer included.

    A Region calls this for every cell before it creates anything.
    """
    args.validate(name)
    stack = args.stack or pulumi.get_stack()
    _workloads_args(name, args, stack, database=None, database_cidrs=[]).validate()


class Cell(pulumi.ComponentResource):
    """One cell: network, cluster, database, key, ingress, identity and workloads.

    Pass the cloud provider in the options (`provider=` or `providers=`), or through a
    parent that has one. A cell without an explicit provider for its cloud is rejected,
    so none of its resources can land in the default provider's account or region.
    """

    network_id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cell's cluster; a secret output."""
    database_host: pulumi.Output[str]
    database_port: pulumi.Output[int]
    database_password: pulumi.Output[str]
    """Password of the database user; a secret output."""
    ingress_address: pulumi.Output[str]
    """DNS name or address the region's router sends the cell's users to."""
    key_id: pulumi.Output[str]
    namespace: pulumi.Output[str]
    users: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        args: CellArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = coerce_args(CellArgs, args)
        validate_cell(name, args)
        cloud_provider = explicit_provider(opts, args.cloud)
        if cloud_provider is None:
            raise ConfigError(
                "opts.provider",
                None,
                f"a pulumi {args.cloud} provider in provider= or providers= of the options, "
                "or on a parent",
            )
        stack = args.stack or pulumi.get_stack()
        super().__init__(TYPE_TOKEN, name, None, opts)

        label_context = LabelContext(region=args.region, stack=stack, cell=name)
        ctx = CellContext(
            cell=name,
            region=args.region,
            cloud_region=args.region,
            environment=args.environment,
            zones=tuple(args.zones),
            parent=self,
            provider=cloud_provider,
            cloud_labels=lambda plane: {
                **args.labels,
                **label_context.cloud(args.cloud, plane),
            },
            project=args.project,
        )
        seams = seams_for(args.cloud)

        key = seams.key.create(ctx)
        network = seams.network.create(ctx, _network_spec(args))
        cluster = seams.cluster.create(ctx, _cluster_spec(args), network, key)
        password = self._password(name, opts)
        database = seams.database.create(ctx, _database_spec(args), network, key, password)
        ingress = seams.ingress.create(
            ctx,
            IngressSpec(
                port=args.ingress_port,
                node_port=args.ingress_node_port,
                allowed_cidrs=tuple(args.ingress_allowed_cidrs),
            ),
            network,
            cluster,
        )
        workloads_args = _workloads_args(
            name, args, stack, database=database, database_cidrs=list(network.isolated_cidrs)
        )
        workloads_args.ingress.load_balancer_ip = ingress.load_balancer_ip
        identity = seams.identity.create(
            ctx,
            IdentitySpec(
                namespace=workloads_args.namespace_name,
                service_accounts=tuple(service.name for service in args.services),
                bundle_bucket=args.bundle.bucket,
                bundle_prefix=f"bundles/{args.bundle.name}/",
                bundle_key_id=args.bundle.bucket_key_id,
            ),
            cluster,
        )
        workloads_args.service_account_annotations = dict(identity.service_account_annotations)
        workloads_args.ingress.annotations = dict(ingress.service_annotations)

        kubernetes = k8s.Provider(
            f"{name}-kubernetes",
            kubeconfig=cluster.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        workloads = CellWorkloads(
            f"{name}-workloads",
            workloads_args,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=kubernetes,
                depends_on=[*cluster.node_pools, *identity.resources],
            ),
        )

        self.network_id = network.network_id
        self.cluster_name = cluster.cluster_name
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig)
        self.database_host = database.host
        self.database_port = database.port
        self.database_password = pulumi.Output.secret(database.password)
        self.ingress_address = ingress.address
        self.key_id = key.key_id
        self.namespace = workloads.namespace
        self.users = pulumi.Output.from_input(args.users)
        self.register_outputs(
            {
                "network_id": self.network_id,
                "cluster_name": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "database_host": self.database_host,
                "database_port": self.database_port,
                "database_password": self.database_password,
                "ingress_address": self.ingress_address,
                "key_id": self.key_id,
                "namespace": self.namespace,
                "users": self.users,
            }
        )

    def _password(self, name: str, opts: pulumi.ResourceOptions | None) -> pulumi.Output[str]:
        # A random provider from the options or a parent is used as given. Without one the
        # cell creates its own, so the password never depends on a default provider.
        provider = explicit_provider(opts, "random")
        if provider is None:
            provider = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        password = random.RandomPassword(
            f"{name}-db-password",
            length=32,
            special=True,
            # RDS rejects '/', '@', '"' and spaces in a master password.
            override_special="!#$%^&*()-_=+[]{}<>:?",
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            opts=pulumi.ResourceOptions(
                parent=self, provider=provider, additional_secret_outputs=["result"]
            ),
        )
        return pulumi.Output.secret(password.result)


def _network_spec(args: CellArgs) -> NetworkSpec:
    addresses = args.addresses
    return NetworkSpec(
        cidr=addresses.cidr,
        public_subnets=tuple(addresses.public_subnets),
        private_subnets=tuple(addresses.private_subnets),
        isolated_subnets=tuple(addresses.isolated_subnets),
        pods_cidr=addresses.pods_cidr,
        services_cidr=addresses.services_cidr,
        control_plane_cidr=addresses.control_plane_cidr,
        nat_gateway_count=args.nat_gateway_count or len(args.zones),
        flow_log_retention_days=args.flow_log_retention_days,
    )


def _pool_spec(args: CellArgs, pool: NodePoolArgs, role: str) -> NodePoolSpec:
    return NodePoolSpec(
        machine_type=pool.machine_type or _DEFAULT_MACHINES[args.cloud][role],
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.desired_size,
        disk_size_gb=pool.disk_size_gb,
    )


def _cluster_spec(args: CellArgs) -> ClusterSpec:
    return ClusterSpec(
        kubernetes_version=args.kubernetes_version,
        data_pool=_pool_spec(args, args.data_pool, DATA_PLANE),
        system_pool=_pool_spec(args, args.system_pool, "system"),
        api_allowed_cidrs=tuple(args.api_allowed_cidrs),
    )


def _database_spec(args: CellArgs) -> DatabaseSpec:
    database = args.database
    return DatabaseSpec(
        engine_version=database.engine_version,
        instance_class=database.instance_class or _DEFAULT_MACHINES[args.cloud]["database"],
        storage_gb=database.storage_gb,
        max_storage_gb=database.max_storage_gb,
        backup_retention_days=database.backup_retention_days,
        database_name=database.database_name,
        username=database.username,
    )


def _workloads_args(
    name: str,
    args: CellArgs,
    stack: str,
    *,
    database: CellDatabase | None,
    database_cidrs: list[str],
) -> CellWorkloadsArgs:
    connection = None
    if database is not None:
        connection = DatabaseConnection(
            host=database.host,
            port=database.port,
            database_name=database.database_name,
            username=database.username,
            password=database.password,
            cidrs=database_cidrs,
        )
    return CellWorkloadsArgs(
        cell=name,
        region=args.region,
        jurisdiction=args.jurisdiction,
        services=args.services,
        bundle=args.bundle,
        telemetry_endpoint=args.telemetry_endpoint,
        telemetry_tls=args.telemetry_tls,
        stack=stack,
        database=connection,
        ingress=IngressExposure(
            service_type="NodePort" if args.cloud == "aws" else "LoadBalancer",
            # The cell's own range covers the load balancer's health checks and addresses.
            source_cidrs=[*args.ingress_allowed_cidrs, args.addresses.cidr],
            port=args.ingress_port,
            node_port=args.ingress_node_port if args.cloud == "aws" else None,
        ),
        trust_domain=args.trust_domain,
        production=args.environment == "production",
    )


def _validate_pool(key: str, pool: object) -> None:
    if not isinstance(pool, NodePoolArgs):
        raise ConfigError(key, pool, "a NodePoolArgs")
    if pool.machine_type is not None and (
        not isinstance(pool.machine_type, str) or not pool.machine_type
    ):
        raise ConfigError(f"{key}.machine_type", pool.machine_type, "a machine type or None")
    _check_int(f"{key}.min_size", pool.min_size, 1, 1000)
    _check_int(f"{key}.max_size", pool.max_size, pool.min_size, 1000)
    _check_int(f"{key}.desired_size", pool.desired_size, pool.min_size, pool.max_size)
    _check_int(f"{key}.disk_size_gb", pool.disk_size_gb, 20, 16384)


def _check_int(key: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, value, f"an integer from {low} to {high}")


def _network(key: str, value: object) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError):
        raise ConfigError(key, value, "an IPv4 range in CIDR notation, e.g. 10.1.0.0/16") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ConfigError(key, value, "an IPv4 range")
    return network


def _check_cidrs(key: str, value: object, *, allow_empty: bool) -> None:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise ConfigError(key, value, "a list of CIDR ranges")
    for index, cidr in enumerate(value):
        _network(f"{key}[{index}]", cidr)
