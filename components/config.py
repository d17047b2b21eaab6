"""Typed model of a region stack's configuration, checked before any resource exists.

A region stack sets keys in the `cellarch` namespace of its `Pulumi.<stack>.yaml`, for
example `cellarch:cloud: aws` or `cellarch:cells: 4`. `parse_region_config` turns those
values into a `RegionConfig` or raises `ConfigError` with one line that names the key, the
bad value and what would be accepted. `load_region_config` reads the values from the
running Pulumi program.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from components.addressing import (
    RegionAddressPlan,
    SubnetPrefixLengths,
    check_private,
    check_subnet_prefix_lengths,
    longest_cell_prefix,
    parse_network,
    plan_region,
)
from components.errors import ConfigError
from components.labels import CLOUDS, LabelContext
from components.regions import CloudRegion, lookup_region
from components.telemetry.trust import endpoint_host

NAMESPACE = "cellarch"
PREFIX = NAMESPACE + ":"
ENVIRONMENTS = ("production", "staging", "dev")
PROMETHEUS_KINDS = ("managed", "in-cluster")
# Zones a cell spreads over: three keeps a quorum through the loss of one zone.
MIN_ZONES = 3
DEFAULT_CELL_SIZE = 10_000
DEFAULT_CELL_SIZE_CAP = 20_000
# The cap bounds a region, not the address plan, which checks its own supernet size.
MAX_CELLS = 128
DEFAULT_CELL_PREFIX = 16
MAX_CELL_PREFIX = 24
# A DNS label that leaves room for suffixes such as `-bundle-reader` in cloud names.
_CELL_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$")
_NAME_RULE = "a DNS label of 1 to 20 lower-case letters, digits and '-', starting with a letter"
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_AWS_ACCOUNT = re.compile(r"^[0-9]{12}$")
_KUBERNETES_VERSION = re.compile(r"^1\.[0-9]{2}$")
_DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class CellConfig:
    name: str
    size: int
    """Users the cell is sized for."""
    cidr: str
    """The cell's range from the address plan."""


@dataclass(frozen=True)
class NetworkConfig:
    supernet: str
    cell_prefix_length: int
    subnet_prefix_lengths: SubnetPrefixLengths


@dataclass(frozen=True)
class RolloutConfig:
    canary: str
    """The cell that receives every change first, alone in wave 0."""
    max_wave_size: int
    """Waves after the canary double in size up to this many cells."""


@dataclass(frozen=True)
class QueueConfig:
    """The region's shock-absorber queue and its dead-letter queue."""

    max_receive_count: int = 5
    message_retention_seconds: int = 4 * 24 * 3600
    visibility_timeout_seconds: int = 60
    dead_letter_retention_seconds: int = 14 * 24 * 3600


@dataclass(frozen=True)
class GovernanceConfig:
    bundle_name: str = "authz"


@dataclass(frozen=True)
class ObservabilityConfig:
    prometheus: str = "managed"
    """`managed` (Amazon or Google Managed Prometheus) or `in-cluster`."""
    collector_memory_limit_mib: int = 512
    collector_queue_size: int = 5000
    """Batches the collector holds for a slow backend before it drops new ones (I9)."""
    gateway_endpoint: str | None = None
    """OTLP/gRPC `host:port` the cells export to; None takes `otel.<region>.<domain>:4317`."""


@dataclass(frozen=True)
class ServiceConfig:
    """A service every cell runs; the fields of `ServiceSpec`, checked by it."""

    name: str
    image: str
    port: int
    min_replicas: int = 3
    max_replicas: int = 10
    calls: tuple[str, ...] = ()
    public: bool = False
    uses_database: bool = True


@dataclass(frozen=True)
class TokenIssuerConfig:
    issuer: str
    audience: str
    public_key_pem: str


@dataclass(frozen=True)
class RegionConfig:
    """Everything a region stack deploys, checked and with defaults filled in."""

    stack: str
    cloud: str
    region: str
    environment: str
    jurisdiction: str
    zones: tuple[str, ...]
    network: NetworkConfig
    cells: tuple[CellConfig, ...]
    cell_size_cap: int
    rollout: RolloutConfig
    addresses: RegionAddressPlan
    kubernetes_version: str = "1.33"
    project: str | None = None
    """GCP project; None on AWS."""
    account_id: str | None = None
    """AWS account the provider is pinned to, when set; None on GCP."""
    domain: str = "cells.internal"
    """DNS domain under which the region's endpoints get their names."""
    services: tuple[ServiceConfig, ...] = ()
    token_issuers: tuple[TokenIssuerConfig, ...] = ()
    queue: QueueConfig = field(default_factory=QueueConfig)
    governance: GovernanceConfig = field(default_factory=GovernanceConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def labels(self) -> LabelContext:
        return LabelContext(region=self.region, stack=self.stack)

    @property
    def cell_names(self) -> tuple[str, ...]:
        return tuple(cell.name for cell in self.cells)

    @property
    def telemetry_endpoint(self) -> str:
        return self.observability.gateway_endpoint or f"otel.{self.region}.{self.domain}:4317"


_TOP_LEVEL_KEYS = (
    "accountId",
    "cellSizeCap",
    "cells",
    "cloud",
    "domain",
    "environment",
    "governance",
    "jurisdiction",
    "kubernetesVersion",
    "network",
    "observability",
    "project",
    "queue",
    "region",
    "rollout",
    "services",
    "tokenIssuers",
    "zoneCount",
    "zones",
)


def parse_region_config(values: Mapping[str, Any], stack: str) -> RegionConfig:
    """Check a stack's `cellarch` config values (keys without the namespace) and fill defaults."""
    layout = parse_region_layout(values, stack)
    return replace(
        layout,
        services=_parse_services(values.get("services"), layout.production),
        token_issuers=_parse_token_issuers(values.get("tokenIssuers")),
    )


def parse_region_layout(values: Mapping[str, Any], stack: str) -> RegionConfig:
    """Check every key but `services` and `tokenIssuers`, which are left empty.

    A Region component takes its services and its bundle source as arguments of their own,
    so it checks its placement, cells and addresses with this.
    """
    _check_keys("", values, _TOP_LEVEL_KEYS)

    cloud = _choice("cloud", _required(values, "cloud"), CLOUDS)
    cloud_region = lookup_region(cloud, _required(values, "region"), key=PREFIX + "region")
    environment = _choice("environment", values.get("environment", "production"), ENVIRONMENTS)
    project, account_id = _parse_account(values, cloud)
    zones = _parse_zones(values, cloud_region)
    jurisdiction = _parse_jurisdiction(values.get("jurisdiction"), cloud_region)
    kubernetes_version = str(values.get("kubernetesVersion", "1.33"))
    if not _KUBERNETES_VERSION.match(kubernetes_version):
        raise ConfigError(
            PREFIX + "kubernetesVersion", kubernetes_version, "a minor version such as '1.33'"
        )

    cap = _integer("cellSizeCap", values.get("cellSizeCap", DEFAULT_CELL_SIZE_CAP), 1, 1_000_000)
    names, sizes, pinned = _parse_cells(values, cap)
    network, plan = _parse_network(values.get("network"), names, pinned, len(zones))
    cells = tuple(
        CellConfig(name=name, size=sizes[name], cidr=plan.cells[name].cidr) for name in names
    )

    return RegionConfig(
        stack=stack,
        cloud=cloud,
        region=cloud_region.name,
        environment=environment,
        jurisdiction=jurisdiction,
        zones=zones,
        network=network,
        cells=cells,
        cell_size_cap=cap,
        rollout=_parse_rollout(values.get("rollout"), names),
        addresses=plan,
        kubernetes_version=kubernetes_version,
        project=project,
        account_id=account_id,
        domain=_parse_domain(values.get("domain", "cells.internal")),
        queue=_parse_queue(values.get("queue")),
        governance=_parse_governance(values.get("governance")),
        observability=_parse_observability(values.get("observability")),
    )


def load_region_config() -> RegionConfig:
    """Read and check the `cellarch` config of the running Pulumi program."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return parse_stack_config(raw, pulumi.get_stack())


def parse_stack_config(config: Mapping[str, Any], stack: str) -> RegionConfig:
    """Check a stack's config as the CLI passes it: `namespace:key` to JSON-encoded values."""
    values = {
        key[len(PREFIX) :]: decode_config_value(value)
        for key, value in config.items()
        if key.startswith(PREFIX)
    }
    return parse_region_config(values, stack)


def decode_config_value(value: Any) -> Any:
    """Decode a config value as the Pulumi CLI passes it: objects, lists and numbers as JSON."""
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    # A quoted JSON string stays a string; only structured values and numbers decode.
    return decoded if isinstance(decoded, (dict, list, int, float, bool)) else value


def _check_keys(path: str, values: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key, value in values.items():
        if key not in known:
            raise ConfigError(
                PREFIX + path + str(key), value, "one of " + ", ".join(known), detail="unknown key"
            )


def _required(values: Mapping[str, Any], key: str) -> Any:
    if key not in values or values[key] in (None, ""):
        raise ConfigError(
            PREFIX + key, values.get(key), "a value; the key is required", detail="missing"
        )
    return values[key]


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(PREFIX + key, value, "one of " + ", ".join(choices))
    return value


def _integer(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(PREFIX + key, value, f"an integer from {low} to {high}")
    return value


def _mapping(key: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(PREFIX + key, value, "an object of settings")
    return value


def _parse_account(values: Mapping[str, Any], cloud: str) -> tuple[str | None, str | None]:
    if cloud == "gcp":
        project = _required(values, "project")
        if not isinstance(project, str) or not _GCP_PROJECT.match(project):
            raise ConfigError(PREFIX + "project", project, "a GCP project id: 6 to 30 of [a-z0-9-]")
        if "accountId" in values:
            raise ConfigError(PREFIX + "accountId", values["accountId"], "no accountId on gcp")
        return project, None
    if "project" in values:
        raise ConfigError(PREFIX + "project", values["project"], "no project on aws")
    account_id = values.get("accountId")
    if account_id is not None:
        account_id = str(account_id)
        if not _AWS_ACCOUNT.match(account_id):
            raise ConfigError(PREFIX + "accountId", account_id, "a 12-digit AWS account id")
    return None, account_id


def _parse_jurisdiction(value: Any, region: CloudRegion) -> str:
    """Return the region's jurisdiction, which an explicit `jurisdiction` must equal.

    The policy agents enforce data residency by this value, so a stack cannot declare a
    jurisdiction other than the one its region's data is stored in. There is no override.
    """
    if value is None:
        return region.jurisdiction
    if value != region.jurisdiction:
        raise ConfigError(
            PREFIX + "jurisdiction",
            value,
            f"'{region.jurisdiction}', the jurisdiction of {region.cloud} region {region.name}; "
            "no other value is allowed, or leave the key out",
        )
    return value


def _parse_zones(values: Mapping[str, Any], region: CloudRegion) -> tuple[str, ...]:
    if "zones" in values and "zoneCount" in values:
        raise ConfigError(PREFIX + "zoneCount", values["zoneCount"], "either zones or zoneCount")
    available = len(region.zones)
    if "zones" not in values:
        count = values.get("zoneCount", MIN_ZONES)
        if isinstance(count, int) and not isinstance(count, bool) and count > available:
            raise ConfigError(
                PREFIX + "zoneCount",
                count,
                f"at most {available}, the zones of {region.name}",
            )
        count = _integer("zoneCount", count, MIN_ZONES, available)
        return region.zones[:count]

    zones = values["zones"]
    if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
        raise ConfigError(PREFIX + "zones", zones, "a list of zone names")
    for index, zone in enumerate(zones):
        if zone not in region.zones:
            raise ConfigError(
                f"{PREFIX}zones[{index}]",
                zone,
                f"a zone of {region.name}: " + ", ".join(region.zones),
            )
    if len(set(zones)) != len(zones):
        raise ConfigError(PREFIX + "zones", zones, "each zone at most once")
    if not MIN_ZONES <= len(zones) <= available:
        raise ConfigError(
            PREFIX + "zones",
            zones,
            f"from {MIN_ZONES} to {available} zones of {region.name}",
            detail=f"{len(zones)} given",
        )
    return tuple(zones)


def _parse_cells(
    values: Mapping[str, Any], cap: int
) -> tuple[list[str], dict[str, int], dict[str, tuple[str, Any]]]:
    cells = _required(values, "cells")
    accepted = f"a cell count from 1 to {MAX_CELLS}, or a list of cells with a name and a size"
    if isinstance(cells, int) and not isinstance(cells, bool):
        if not 1 <= cells <= MAX_CELLS:
            raise ConfigError(PREFIX + "cells", cells, accepted)
        if cap < DEFAULT_CELL_SIZE:
            raise ConfigError(
                PREFIX + "cellSizeCap", cap, f"at least the default cell size {DEFAULT_CELL_SIZE}"
            )
        names = [f"cell-{i}" for i in range(1, cells + 1)]
        return names, dict.fromkeys(names, DEFAULT_CELL_SIZE), {}
    if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_CELLS:
        raise ConfigError(PREFIX + "cells", cells, accepted)

    names: list[str] = []
    sizes: dict[str, int] = {}
    pinned: dict[str, tuple[str, Any]] = {}
    for index, cell in enumerate(cells):
        key = f"cells[{index}]"
        if not isinstance(cell, Mapping):
            raise ConfigError(
                PREFIX + key, cell, "an object with name, and optionally size and cidr"
            )
        _check_keys(key + ".", cell, ("cidr", "name", "size"))
        name = cell.get("name")
        if not isinstance(name, str) or not _CELL_NAME.match(name):
            raise ConfigError(f"{PREFIX}{key}.name", name, _NAME_RULE)
        if name in sizes:
            first = names.index(name)
            raise ConfigError(
                f"{PREFIX}{key}.name",
                name,
                "a name no other cell has",
                detail=f"cells[{first}] has it",
            )
        size = cell.get("size", DEFAULT_CELL_SIZE)
        if isinstance(size, int) and not isinstance(size, bool) and size > cap:
            raise ConfigError(
                f"{PREFIX}{key}.size",
                size,
                f"at most the cell size cap {cap} users (cellSizeCap); add a cell instead",
            )
        sizes[name] = _integer(f"{key}.size", size, 1, cap)
        names.append(name)
        if "cidr" in cell:
            pinned[name] = (
                f"{PREFIX}{key}.cidr",
                parse_network(f"{PREFIX}{key}.cidr", cell["cidr"]),
            )
    return names, sizes, pinned


def _parse_network(
    value: Any, names: list[str], pinned: dict[str, tuple[str, Any]], zone_count: int
) -> tuple[NetworkConfig, RegionAddressPlan]:
    if value is None:
        raise ConfigError(PREFIX + "network", None, "an object with at least a supernet")
    network = _mapping("network", value)
    _check_keys(
        "network.",
        network,
        ("cellPrefixLength", "controlPlaneCidr", "subnetPrefixLengths", "supernet"),
    )
    supernet_key = PREFIX + "network.supernet"
    supernet = parse_network(supernet_key, network.get("supernet"))
    check_private(supernet_key, supernet)

    lengths_value = _mapping("network.subnetPrefixLengths", network.get("subnetPrefixLengths"))
    known = ("isolated", "pods", "private", "public", "services")
    _check_keys("network.subnetPrefixLengths.", lengths_value, known)
    prefix = DEFAULT_CELL_PREFIX
    if "cellPrefixLength" in network:
        prefix = _integer("network.cellPrefixLength", network["cellPrefixLength"], 1, 24)
    # Only the lengths the stack sets are checked here, so an error names a key it wrote.
    lengths = SubnetPrefixLengths(**lengths_value)
    check_subnet_prefix_lengths(
        PREFIX + "network.subnetPrefixLengths", lengths, prefix, tuple(lengths_value)
    )
    prefix = _check_cell_prefix(network, supernet, prefix, lengths, zone_count, len(names), pinned)

    for key, cidr in pinned.values():
        check_private(key, cidr)
    control_plane = None
    if "controlPlaneCidr" in network:
        key = PREFIX + "network.controlPlaneCidr"
        control_plane = (key, parse_network(key, network["controlPlaneCidr"]))

    plan = plan_region(
        supernet, names, prefix, zone_count, lengths, pinned, control_plane, key_prefix=PREFIX
    )
    return NetworkConfig(str(supernet), prefix, lengths), plan


def _check_cell_prefix(
    network: Mapping[str, Any],
    supernet: Any,
    prefix: int,
    lengths: SubnetPrefixLengths,
    zone_count: int,
    cell_count: int,
    pinned: dict[str, tuple[str, Any]],
) -> int:
    """Check the cell prefix length against the subnets and the supernet it splits.

    Each error names the key the stack set: the supernet, the cell prefix length or the
    subnet prefix lengths, never a default the stack left out.
    """
    prefix_key = PREFIX + "network.cellPrefixLength"
    lengths_key = PREFIX + "network.subnetPrefixLengths"
    fit = min(longest_cell_prefix(zone_count, lengths), MAX_CELL_PREFIX)
    # Pinned ranges may take blocks of any size, so the address plan checks those stacks.
    blocks_needed = 1 if pinned or "controlPlaneCidr" in network else cell_count + 1

    if fit <= supernet.prefixlen or 2 ** (fit - supernet.prefixlen) < blocks_needed:
        raise _supernet_too_small(supernet, fit, fit, cell_count, zone_count)
    if prefix > fit:
        if "cellPrefixLength" in network:
            raise ConfigError(
                prefix_key,
                prefix,
                f"an integer from {supernet.prefixlen + 1} to {fit}, so each cell's range holds "
                f"the subnets of {zone_count} zones, or smaller {lengths_key}",
            )
        raise ConfigError(
            lengths_key,
            dict(network.get("subnetPrefixLengths") or {}),
            f"subnets of {zone_count} zones that fit a /{prefix} cell range, "
            f"or a {prefix_key} of at most {fit}",
        )
    if prefix <= supernet.prefixlen and "cellPrefixLength" in network:
        raise ConfigError(
            prefix_key,
            prefix,
            f"an integer from {supernet.prefixlen + 1} to {fit}, longer than the supernet's "
            f"/{supernet.prefixlen} and short enough for the subnets of {zone_count} zones",
        )
    if prefix <= supernet.prefixlen or 2 ** (prefix - supernet.prefixlen) < blocks_needed:
        raise _supernet_too_small(supernet, prefix, fit, cell_count, zone_count)
    return prefix


def _supernet_too_small(
    supernet: Any, prefix: int, fit: int, cell_count: int, zone_count: int
) -> ConfigError:
    blocks = cell_count + 1
    smallest = prefix - (blocks - 1).bit_length()
    if prefix < fit:
        other = f"a {PREFIX}network.cellPrefixLength up to {fit}"
    else:
        other = (
            f"smaller {PREFIX}network.subnetPrefixLengths and a longer "
            f"{PREFIX}network.cellPrefixLength"
        )
    return ConfigError(
        PREFIX + "network.supernet",
        str(supernet),
        f"a range of /{smallest} or larger, or {other}",
        detail=f"{cell_count} cells and the control plane need {blocks} blocks of /{prefix}, "
        f"each containing the subnets of {zone_count} zones",
    )


def _parse_rollout(value: Any, names: list[str]) -> RolloutConfig:
    rollout = _mapping("rollout", value)
    _check_keys("rollout.", rollout, ("canary", "maxWaveSize"))
    canary = rollout.get("canary", names[0])
    if canary not in names:
        raise ConfigError(
            PREFIX + "rollout.canary", canary, "the name of a cell: " + ", ".join(names)
        )
    max_wave = _integer("rollout.maxWaveSize", rollout.get("maxWaveSize", 4), 1, MAX_CELLS)
    return RolloutConfig(canary=canary, max_wave_size=max_wave)


def _parse_queue(value: Any) -> QueueConfig:
    queue = _mapping("queue", value)
    _check_keys(
        "queue.",
        queue,
        (
            "deadLetterRetentionSeconds",
            "maxReceiveCount",
            "messageRetentionSeconds",
            "visibilityTimeoutSeconds",
        ),
    )
    defaults = QueueConfig()
    # SQS and Pub/Sub both keep messages from 10 minutes to 14 days (Pub/Sub up to 31 days).
    retention = (600, 14 * 24 * 3600)
    return QueueConfig(
        max_receive_count=_integer(
            "queue.maxReceiveCount",
            queue.get("maxReceiveCount", defaults.max_receive_count),
            5,
            100,
        ),
        message_retention_seconds=_integer(
            "queue.messageRetentionSeconds",
            queue.get("messageRetentionSeconds", defaults.message_retention_seconds),
            *retention,
        ),
        visibility_timeout_seconds=_integer(
            "queue.visibilityTimeoutSeconds",
            queue.get("visibilityTimeoutSeconds", defaults.visibility_timeout_seconds),
            10,
            600,
        ),
        dead_letter_retention_seconds=_integer(
            "queue.deadLetterRetentionSeconds",
            queue.get("deadLetterRetentionSeconds", defaults.dead_letter_retention_seconds),
            *retention,
        ),
    )


def _parse_governance(value: Any) -> GovernanceConfig:
    governance = _mapping("governance", value)
    _check_keys("governance.", governance, ("bundleName",))
    name = governance.get("bundleName", "authz")
    if not isinstance(name, str) or not _CELL_NAME.match(name):
        raise ConfigError(PREFIX + "governance.bundleName", name, _NAME_RULE)
    return GovernanceConfig(bundle_name=name)


def _parse_observability(value: Any) -> ObservabilityConfig:
    observability = _mapping("observability", value)
    _check_keys(
        "observability.",
        observability,
        ("collectorMemoryLimitMib", "collectorQueueSize", "gatewayEndpoint", "prometheus"),
    )
    defaults = ObservabilityConfig()
    return ObservabilityConfig(
        prometheus=_choice(
            "observability.prometheus", observability.get("prometheus", "managed"), PROMETHEUS_KINDS
        ),
        collector_memory_limit_mib=_integer(
            "observability.collectorMemoryLimitMib",
            observability.get("collectorMemoryLimitMib", defaults.collector_memory_limit_mib),
            64,
            16384,
        ),
        collector_queue_size=_integer(
            "observability.collectorQueueSize",
            observability.get("collectorQueueSize", defaults.collector_queue_size),
            100,
            1_000_000,
        ),
        gateway_endpoint=_parse_endpoint(observability.get("gatewayEndpoint")),
    )


def _parse_endpoint(value: Any) -> str | None:
    if value is None:
        return None
    endpoint_host(value, PREFIX + "observability.gatewayEndpoint")
    return value


def _parse_domain(value: Any) -> str:
    if not isinstance(value, str) or not _DOMAIN.match(value):
        raise ConfigError(PREFIX + "domain", value, "a DNS domain such as cells.example.com")
    return value


_SERVICE_KEYS = (
    "calls",
    "image",
    "maxReplicas",
    "minReplicas",
    "name",
    "port",
    "public",
    "usesDatabase",
)


def _parse_services(value: Any, production: bool) -> tuple[ServiceConfig, ...]:
    if value is None:
        raise ConfigError(
            PREFIX + "services", None, "a list of services, each with name, image and port"
        )
    if not isinstance(value, list) or not value:
        raise ConfigError(PREFIX + "services", value, "a non-empty list of services")
    services = []
    for index, service in enumerate(value):
        key = f"services[{index}]"
        if not isinstance(service, Mapping):
            raise ConfigError(PREFIX + key, service, "an object with name, image and port")
        _check_keys(key + ".", service, _SERVICE_KEYS)
        for required in ("name", "image", "port"):
            if required not in service:
                raise ConfigError(
                    f"{PREFIX}{key}.{required}",
                    None,
                    "a value; the key is required",
                    detail="missing",
                )
        calls = service.get("calls", [])
        if not isinstance(calls, list):
            raise ConfigError(f"{PREFIX}{key}.calls", calls, "a list of service names")
        min_replicas, max_replicas = _parse_replicas(key, service, production)
        services.append(
            ServiceConfig(
                name=service["name"],
                image=service["image"],
                port=service["port"],
                min_replicas=min_replicas,
                max_replicas=max_replicas,
                calls=tuple(calls),
                public=_boolean(f"{key}.public", service.get("public", False)),
                uses_database=_boolean(f"{key}.usesDatabase", service.get("usesDatabase", True)),
            )
        )
    names = [service.name for service in services]
    for index, name in enumerate(names):
        if names.index(name) != index:
            raise ConfigError(
                f"{PREFIX}services[{index}].name", name, "a name no other service has"
            )
    _check_calls(services)
    _check_one_public(services)
    return tuple(services)


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(PREFIX + key, value, "true or false")
    return value


def _parse_replicas(key: str, service: Mapping[str, Any], production: bool) -> tuple[int, int]:
    # A disruption budget keeps one replica running only when there are at least two.
    low = 2 if production else 1
    min_key = f"{key}.minReplicas"
    min_replicas = service.get("minReplicas", 3)
    if isinstance(min_replicas, int) and not isinstance(min_replicas, bool) and min_replicas < low:
        raise ConfigError(
            PREFIX + min_key,
            min_replicas,
            f"an integer from {low} to 1000; production keeps at least 2 replicas",
        )
    min_replicas = _integer(min_key, min_replicas, low, 1000)
    max_replicas = service.get("maxReplicas", 10)
    is_integer = isinstance(max_replicas, int) and not isinstance(max_replicas, bool)
    if is_integer and max_replicas < min_replicas:
        raise ConfigError(
            f"{PREFIX}{key}.maxReplicas",
            max_replicas,
            f"an integer from {min_replicas} to 1000, at least {PREFIX}{min_key}",
        )
    return min_replicas, _integer(f"{key}.maxReplicas", max_replicas, min_replicas, 1000)


def _check_calls(services: list[ServiceConfig]) -> None:
    names = [service.name for service in services]
    for index, service in enumerate(services):
        others = [name for name in names if name != service.name]
        for call_index, callee in enumerate(service.calls):
            if callee not in others:
                raise ConfigError(
                    f"{PREFIX}services[{index}].calls[{call_index}]",
                    callee,
                    "the name of another service: " + (", ".join(others) or "none is configured"),
                )


def _check_one_public(services: list[ServiceConfig]) -> None:
    # The cell's ingress sends user traffic to exactly one service.
    public = [index for index, service in enumerate(services) if service.public]
    if not public:
        raise ConfigError(
            PREFIX + "services",
            [service.name for service in services],
            "exactly one service with public: true, which the ingress sends traffic to",
            detail="none is public",
        )
    if len(public) > 1:
        raise ConfigError(
            f"{PREFIX}services[{public[1]}].public",
            True,
            "exactly one service with public: true, which the ingress sends traffic to",
            detail=f"services[{public[0]}] is public too",
        )


def _parse_token_issuers(value: Any) -> tuple[TokenIssuerConfig, ...]:
    key = PREFIX + "tokenIssuers"
    if not isinstance(value, list) or not value:
        raise ConfigError(
            key,
            value,
            "a list of issuers with issuer, audience and publicKeyPem",
            detail="without one every token is rejected",
        )
    issuers = []
    for index, issuer in enumerate(value):
        where = f"tokenIssuers[{index}]"
        if not isinstance(issuer, Mapping):
            raise ConfigError(
                PREFIX + where, issuer, "an object with issuer, audience and publicKeyPem"
            )
        _check_keys(where + ".", issuer, ("audience", "issuer", "publicKeyPem"))
        for field_name in ("issuer", "audience"):
            if not isinstance(issuer.get(field_name), str) or not issuer[field_name]:
                raise ConfigError(
                    f"{PREFIX}{where}.{field_name}", issuer.get(field_name), "a non-empty string"
                )
        pem = issuer.get("publicKeyPem")
        if not isinstance(pem, str) or not pem.strip().startswith("-----BEGIN PUBLIC KEY-----"):
            raise ConfigError(
                f"{PREFIX}{where}.publicKeyPem",
                str(pem)[:40],
                "a PEM public key starting -----BEGIN PUBLIC KEY-----",
            )
        issuers.append(TokenIssuerConfig(issuer["issuer"], issuer["audience"], pem))
    return tuple(issuers)
