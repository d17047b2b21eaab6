"""Region: the cells of one cloud region, their router, control plane and shock absorber.

A region is a set of cells that share nothing, a router that maps each user to one cell,
a control-plane cluster of its own (I1), a queue with a dead-letter queue that turns
overload into lag, and a rollout order of its cells in waves behind a canary (I7).
"""

import math
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_tls as tls

from components.addressing import SubnetPrefixLengths
from components.arguments import coerce_args
from components.cell import Cell, CellAddressArgs, CellArgs, NodePoolArgs, validate_cell
from components.cloud.base import explicit_provider
from components.config import (
    DEFAULT_CELL_SIZE,
    DEFAULT_CELL_SIZE_CAP,
    RegionConfig,
    parse_region_layout,
)
from components.control_plane import ControlPlaneSpec, create_control_plane
from components.errors import ConfigError
from components.kubernetes.args import BundleSource, ServiceSpec
from components.labels import LabelContext
from components.queue import QueueArgs, create_shock_absorber
from components.rollout import rollout_waves
from components.router import RouterArgs, deploy_router
from components.telemetry.trust import TelemetryAuthority, endpoint_host

TYPE_TOKEN = "cellarch:index:Region"
# Users one data-plane node serves, which sizes a cell's data pool from its user count.
USERS_PER_DATA_NODE = 2_500


@dataclass
class RegionCellArgs:
    """One cell of a region given by name."""

    name: str
    """DNS label of up to 20 characters, unique in the region."""
    users: int | None = DEFAULT_CELL_SIZE
    """Users the cell is sized for; at most the region's cell size cap."""
    cidr: str | None = None
    """Range of the cell; None takes the next free block of the region's supernet."""


@dataclass
class RolloutArgs:
    """Order in which a change reaches the cells."""

    canary: str | None = None
    """Cell that gets every change first, alone; None takes the first cell."""
    max_wave_size: int | None = 4
    """Largest wave after the canary; waves double up to this size."""


@dataclass
class RegionArgs:
    """Arguments of a Region. Give the cells as `cell_count` or as a `cells` list."""

    cloud: str
    """`aws` or `gcp`."""
    region: str
    """Cloud region, e.g. `us-east-1` or `europe-west1`."""
    supernet: str
    """Private range the region's cells and control plane take their ranges from."""
    services: list[ServiceSpec]
    """Services every cell runs, each behind an Envoy sidecar and a policy agent."""
    bundle: BundleSource
    """Where the cells' policy agents fetch the signed policy bundle from."""
    telemetry_endpoint: str
    """OTLP/gRPC `host:port` of the region's collector gateway."""
    cell_count: int | None = None
    """Number of cells named `cell-1`, `cell-2`, ... of the default size."""
    cells: list[RegionCellArgs] | None = None
    """Cells with names, sizes and optionally ranges; instead of `cell_count`."""
    project: str | None = None
    """GCP project; required on GCP."""
    environment: str | None = "production"
    """`production`, `staging` or `dev`."""
    jurisdiction: str | None = None
    """Data jurisdiction such as `us` or `eu`; None takes the region's."""
    zones: list[str] | None = None
    """Zones every cell spreads over; None takes the first `zone_count` of the region."""
    zone_count: int | None = 3
    cell_prefix_length: int | None = 16
    """Prefix length of each cell's range."""
    subnet_prefix_lengths: SubnetPrefixLengths | None = None
    """Sizes of the subnets carved from each cell's range."""
    control_plane_cidr: str | None = None
    """Range of the control-plane network; None takes the last block of the supernet."""
    cell_size_cap: int | None = DEFAULT_CELL_SIZE_CAP
    """Most users a cell may be sized for (I7)."""
    rollout: RolloutArgs | None = field(default_factory=RolloutArgs)
    queue: QueueArgs | None = field(default_factory=QueueArgs)
    router: RouterArgs | None = field(default_factory=RouterArgs)
    kubernetes_version: str | None = "1.33"
    stack: str | None = ""
    """Stack name for the `stack` label; empty takes the current Pulumi stack."""

    def to_config(self, stack: str) -> RegionConfig:
        """Check the arguments as the stack config is checked, and plan the addresses."""
        try:
            return parse_region_layout(self._config_values(), stack)
        except ConfigError as error:
            raise ConfigError(
                _argument_name(error.key), error.value, error.accepted, error.detail
            ) from None

    def _config_values(self) -> dict:
        values: dict = {
            "cloud": self.cloud,
            "region": self.region,
            "environment": self.environment,
            "kubernetesVersion": self.kubernetes_version,
            "cellSizeCap": self.cell_size_cap,
            "rollout": {"maxWaveSize": self.rollout.max_wave_size},
        }
        if self.project is not None:
            values["project"] = self.project
        if self.jurisdiction is not None:
            values["jurisdiction"] = self.jurisdiction
        if self.rollout.canary is not None:
            values["rollout"]["canary"] = self.rollout.canary
        if self.zones is not None:
            values["zones"] = self.zones
        else:
            values["zoneCount"] = self.zone_count
        network: dict = {"supernet": self.supernet, "cellPrefixLength": self.cell_prefix_length}
        if self.subnet_prefix_lengths is not None:
            network["subnetPrefixLengths"] = vars(self.subnet_prefix_lengths)
        if self.control_plane_cidr is not None:
            network["controlPlaneCidr"] = self.control_plane_cidr
        values["network"] = network
        if (self.cell_count is None) == (self.cells is None):
            raise ConfigError(
                "cells", self.cells, "either cell_count or a list of cells, not both or neither"
            )
        if self.cell_count is not None:
            values["cells"] = self.cell_count
        else:
            values["cells"] = [_cell_values(cell) for cell in self.cells or []]
        return values


class Region(pulumi.ComponentResource):
    """The cells of one region with their router, control-plane cluster and shock absorber.

    Pass the cloud provider in the options (`provider=` or `providers=`); the region passes
    it down to every child and rejects options without one, so nothing can fall back to a
    default provider in another region or account.
    """

    cell_names: pulumi.Output[list[str]]
    """Names of the cells, in configured order."""
    cell_cidrs: pulumi.Output[dict[str, str]]
    """Range of each cell from the address plan."""
    cell_ingress: pulumi.Output[dict[str, str]]
    """Address of each cell's ingress, which the router sends users to."""
    canary: pulumi.Output[str]
    """The cell that receives every change first."""
    rollout_waves: pulumi.Output[list[list[str]]]
    """Cells in rollout order: the canary alone, then waves that double in size."""
    router_address: pulumi.Output[str]
    """DNS name or address of the router's load balancer; the region's entry point."""
    control_plane_cluster: pulumi.Output[str]
    """Name of the region's control-plane cluster."""
    queue_id: pulumi.Output[str]
    """URL of the SQS queue or id of the Pub/Sub topic that absorbs overload."""
    dead_letter_queue_id: pulumi.Output[str]
    telemetry_ca_certificate: pulumi.Output[str]
    """Authority of the gateway's certificate and of the cells' client certificates."""
    telemetry_gateway_certificate: pulumi.Output[str]
    """Certificate for the collector gateway at the host of `telemetry_endpoint`."""
    telemetry_gateway_private_key: pulumi.Output[str]
    """Private key of that certificate, which Pulumi stores as a secret."""

    def __init__(
        self,
        name: str,
        args: RegionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = coerce_args(RegionArgs, args)
        stack = args.stack or pulumi.get_stack()
        config = args.to_config(stack)
        args.router.validate()
        provider = explicit_provider(opts, config.cloud)
        if provider is None:
            raise ConfigError(
                "opts.provider",
                None,
                f"a pulumi {config.cloud} provider in provider= or providers= of the options",
            )
        gateway_host = endpoint_host(args.telemetry_endpoint)
        # Every cell's arguments are checked before the region creates anything.
        cells_args = {
            cell.name: _cell_args(args, config, cell.name, stack) for cell in config.cells
        }
        for cell_name, cell_args in cells_args.items():
            validate_cell(cell_name, cell_args)
        super().__init__(TYPE_TOKEN, name, None, opts)
        labels = LabelContext(region=config.region, stack=stack)
        child = pulumi.ResourceOptions(parent=self)
        tls_provider = explicit_provider(opts, "tls") or tls.Provider(
            f"{name}-tls", opts=pulumi.ResourceOptions(parent=self)
        )
        # One authority per region signs the gateway's certificate and each cell's own
        # client certificate, so OTLP between them runs over mutual TLS (I8).
        authority = TelemetryAuthority(f"{name}-telemetry", config.region, tls_provider, self)

        self.cells: dict[str, Cell] = {}
        for cell_name, cell_args in cells_args.items():
            cell_args.telemetry_tls = authority.client(cell_name)
            self.cells[cell_name] = Cell(cell_name, cell_args, child)

        control_plane = create_control_plane(
            self,
            provider,
            ControlPlaneSpec(
                cloud=config.cloud,
                region=config.region,
                zones=config.zones,
                environment=config.environment,
                addresses=config.addresses.control_plane,
                kubernetes_version=config.kubernetes_version,
                router_port=args.router.port,
                router_node_port=args.router.node_port,
                project=config.project,
            ),
            labels,
        )
        # The control-plane cluster's provider, for the ObservabilityStack and other
        # control-plane workloads that a program deploys next to the router.
        self.control_plane_kubernetes = control_plane.kubernetes
        # IRSA needs the control-plane cluster's OIDC provider on AWS; GKE has no such thing.
        self.control_plane_oidc_provider_arn = getattr(
            control_plane.cluster, "oidc_provider_arn", None
        )
        self.control_plane_oidc_issuer = getattr(control_plane.cluster, "oidc_issuer", None)

        deploy_router(
            f"{name}-router",
            args.router,
            config.region,
            {cell: self.cells[cell].ingress_address for cell in config.cell_names},
            control_plane.router_ingress,
            labels,
            tls_provider,
            pulumi.ResourceOptions(
                parent=self,
                provider=control_plane.kubernetes,
                depends_on=list(control_plane.cluster.node_pools),
            ),
        )
        shock_absorber = create_shock_absorber(
            config.cloud,
            f"{name}-shock-absorber",
            args.queue,
            labels.cloud(config.cloud, "data"),
            child,
            project=config.project,
        )

        waves = rollout_waves(
            config.cell_names, config.rollout.canary, config.rollout.max_wave_size
        )
        self.cell_names = pulumi.Output.from_input(list(config.cell_names))
        self.cell_cidrs = pulumi.Output.from_input({cell.name: cell.cidr for cell in config.cells})
        self.cell_ingress = pulumi.Output.all(
            **{cell: self.cells[cell].ingress_address for cell in config.cell_names}
        )
        self.canary = pulumi.Output.from_input(config.rollout.canary)
        self.rollout_waves = pulumi.Output.from_input(waves)
        self.router_address = control_plane.router_ingress.address
        self.control_plane_cluster = control_plane.cluster.cluster_name
        self.queue_id = shock_absorber.queue_id
        self.dead_letter_queue_id = shock_absorber.dead_letter_id
        # The gateway's end of mutual TLS, for `ObservabilityStackArgs.gateway_tls`.
        self.telemetry_gateway_tls = authority.server(gateway_host)
        self.telemetry_ca_certificate = pulumi.Output.from_input(
            self.telemetry_gateway_tls.ca_certificate_pem
        )
        self.telemetry_gateway_certificate = pulumi.Output.from_input(
            self.telemetry_gateway_tls.certificate_pem
        )
        self.telemetry_gateway_private_key = pulumi.Output.secret(
            self.telemetry_gateway_tls.private_key_pem
        )
        self.register_outputs(
            {
                "cell_names": self.cell_names,
                "cell_cidrs": self.cell_cidrs,
                "cell_ingress": self.cell_ingress,
                "canary": self.canary,
                "rollout_waves": self.rollout_waves,
                "router_address": self.router_address,
                "control_plane_cluster": self.control_plane_cluster,
                "queue_id": self.queue_id,
                "dead_letter_queue_id": self.dead_letter_queue_id,
                "telemetry_ca_certificate": self.telemetry_ca_certificate,
                "telemetry_gateway_certificate": self.telemetry_gateway_certificate,
                "telemetry_gateway_private_key": self.telemetry_gateway_private_key,
            }
        )


def data_pool_for(users: int, zone_count: int) -> NodePoolArgs:
    """Return a data pool sized for `users`: at least one node per zone, room to triple."""
    desired = max(zone_count, math.ceil(users / USERS_PER_DATA_NODE))
    return NodePoolArgs(min_size=zone_count, max_size=3 * desired, desired_size=desired)


def _cell_args(args: RegionArgs, config: RegionConfig, name: str, stack: str) -> CellArgs:
    cell = next(c for c in config.cells if c.name == name)
    return CellArgs(
        cloud=config.cloud,
        region=config.region,
        zones=list(config.zones),
        addresses=CellAddressArgs.from_plan(config.addresses.cells[name]),
        jurisdiction=config.jurisdiction,
        services=args.services,
        bundle=args.bundle,
        telemetry_endpoint=args.telemetry_endpoint,
        environment=config.environment,
        users=cell.size,
        user_cap=config.cell_size_cap,
        project=config.project,
        stack=stack,
        kubernetes_version=config.kubernetes_version,
        data_pool=data_pool_for(cell.size, len(config.zones)),
        nat_gateway_count=None if config.production else 1,
    )


def _cell_values(cell: RegionCellArgs) -> dict:
    values: dict = {"name": cell.name, "size": cell.users}
    if cell.cidr is not None:
        values["cidr"] = cell.cidr
    return values


def _argument_name(config_key: str) -> str:
    """Return the RegionArgs spelling of a config key, e.g. `cell_size_cap` for `cellSizeCap`."""
    key = config_key.removeprefix("cellarch:").replace("network.", "")
    key = re.sub(r"\.size$", ".users", key)
    if key == "cells" or key.startswith("cells["):
        return key
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), key)
