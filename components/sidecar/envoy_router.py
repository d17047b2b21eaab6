"""The router Envoy that assigns each user to one cell.

It contains no business logic. Its Lua filter (components.sidecar.router_lua) checks the
request and computes the user's cell by rendezvous hashing of the user id over all
configured cells, and the route table sends the request to that cell's cluster. The
assignment does not depend on health: active health checks and outlier detection only
decide whether a cell is served. While a cell's only host is out, the router returns 503
at once to its users, with a JSON error naming the cell, and sends them nowhere else,
because cells share no data.

A request without a user id, a repeated one or one with a comma gets 400, and a path,
query string included, longer than max_path_bytes gets 414, before it reaches any cell. The
cells' health path alone may come without a user id. It then goes to the first healthy
cell in the order of the spec, so a load balancer's probe of the router succeeds while
any cell serves.
"""

from dataclasses import dataclass

from components.sidecar import envoy_common as common
from components.sidecar.errors import SpecError
from components.sidecar.router_lua import (
    CELL_HEADER,
    CELL_METADATA_KEY,
    CELL_METADATA_NAMESPACE,
    request_filter,
)
from components.sidecar.validation import (
    check_absolute_path,
    check_host,
    check_int_range,
    check_name,
    check_port,
)

CELL_CLUSTER_PREFIX = "cell-"
# Aggregate of every cell's cluster, for the health path without a user id.
ANY_CELL_CLUSTER = "cells"
AGGREGATE_CLUSTER = "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig"
_HEADER_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def cell_cluster_name(cell_name: str) -> str:
    """Return the name of the router's cluster of one cell."""
    return CELL_CLUSTER_PREFIX + cell_name


@dataclass(frozen=True)
class RouterCell:
    """One cell of the router: the address of its sidecar listener."""

    name: str
    host: str
    port: int

    def __post_init__(self) -> None:
        check_name("RouterCell", "name", self.name)
        check_host("RouterCell", "host", self.host)
        check_port("RouterCell", "port", self.port)


@dataclass(frozen=True)
class RouterSpec:
    """The router of one region."""

    region: str
    cells: tuple[RouterCell, ...]
    listen_port: int
    admin_port: int
    listen_address: str = "127.0.0.1"
    # Header with the user id, whose hash picks the user's cell.
    hash_header: str = "x-user-id"
    health_check_path: str = "/healthz"
    health_check_interval_ms: int = 2_000
    health_check_timeout_ms: int = 1_000
    unhealthy_threshold: int = 2
    healthy_threshold: int = 1
    # Outlier detection: a cell returning this many 5xx in a row is out for a while.
    consecutive_5xx: int = 5
    base_ejection_time_ms: int = 30_000
    route_timeout_ms: int = 15_000
    access_log_path: str | None = None
    # Longer paths, query string included, get 414 from the router.
    max_path_bytes: int = 4_096

    def __post_init__(self) -> None:
        name = type(self).__name__
        check_name(name, "region", self.region)
        if not isinstance(self.cells, tuple | list) or not self.cells:
            raise SpecError(name, "cells", self.cells, "a non-empty list of RouterCell")
        object.__setattr__(self, "cells", tuple(self.cells))
        for cell in self.cells:
            if not isinstance(cell, RouterCell):
                raise SpecError(name, "cells", cell, "RouterCell items")
        names = [cell.name for cell in self.cells]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SpecError(name, "cells", duplicates, "unique cell names")
        check_port(name, "listen_port", self.listen_port)
        check_port(name, "admin_port", self.admin_port)
        if self.admin_port == self.listen_port:
            raise SpecError(name, "admin_port", self.admin_port, "a port other than listen_port")
        check_host(name, "listen_address", self.listen_address)
        if (
            not isinstance(self.hash_header, str)
            or not self.hash_header
            or not set(self.hash_header) <= _HEADER_NAME_CHARS
            or self.hash_header == CELL_HEADER
        ):
            raise SpecError(
                name,
                "hash_header",
                self.hash_header,
                f"a lower-case header name other than '{CELL_HEADER}', such as 'x-user-id'",
            )
        if not isinstance(self.health_check_path, str) or not self.health_check_path.startswith(
            "/"
        ):
            raise SpecError(
                name, "health_check_path", self.health_check_path, "a path such as '/healthz'"
            )
        check_int_range(
            name, "health_check_interval_ms", self.health_check_interval_ms, 100, 600_000, "ms"
        )
        check_int_range(
            name,
            "health_check_timeout_ms",
            self.health_check_timeout_ms,
            10,
            self.health_check_interval_ms,
            "ms, at most the interval",
        )
        check_int_range(name, "unhealthy_threshold", self.unhealthy_threshold, 1, 100, "checks")
        check_int_range(name, "healthy_threshold", self.healthy_threshold, 1, 100, "checks")
        check_int_range(name, "consecutive_5xx", self.consecutive_5xx, 1, 1_000, "responses")
        check_int_range(
            name, "base_ejection_time_ms", self.base_ejection_time_ms, 100, 3_600_000, "ms"
        )
        check_int_range(name, "route_timeout_ms", self.route_timeout_ms, 100, 300_000, "ms")
        check_int_range(name, "max_path_bytes", self.max_path_bytes, 64, 32_768, "bytes")
        if self.access_log_path is not None:
            check_absolute_path(name, "access_log_path", self.access_log_path)


def router_bootstrap(spec: RouterSpec) -> dict:
    """Build the Envoy bootstrap of the region's router."""
    return {
        "node": {"id": f"{spec.region}-router", "cluster": "router"},
        "admin": common.admin(spec.admin_port),
        "static_resources": {
            "listeners": [_listener(spec)],
            "clusters": [
                *(_cell_cluster(spec, cell) for cell in spec.cells),
                _any_cell_cluster(spec),
            ],
        },
    }


def _routes(spec: RouterSpec) -> list[dict]:
    timeout = common.duration(spec.route_timeout_ms)
    # No retry policy, and each cell's cluster has one host, so a request never reaches a
    # second cell.
    cell_routes = [
        {
            "name": cell_cluster_name(cell.name),
            "match": {
                "prefix": "/",
                "headers": [{"name": CELL_HEADER, "string_match": {"exact": cell.name}}],
            },
            "route": {"cluster": cell_cluster_name(cell.name), "timeout": timeout},
            "request_headers_to_remove": [CELL_HEADER],
        }
        for cell in spec.cells
    ]
    health_route = {
        "name": "health",
        "match": {"path": spec.health_check_path},
        "route": {"cluster": ANY_CELL_CLUSTER, "timeout": timeout},
    }
    # Reached only by a request that the Lua filter let through without naming a cell, which
    # it does for no valid request. Such a request goes to no cell at all.
    no_cell_route = {
        "name": "no-cell",
        "match": {"prefix": "/"},
        "direct_response": {
            "status": 500,
            "body": {"inline_string": '{"error": "the router assigned no cell to the request"}'},
        },
        "response_headers_to_add": [
            {
                "header": {"key": "content-type", "value": "application/json"},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        ],
    }
    return [*cell_routes, health_route, no_cell_route]


def _local_replies() -> dict:
    cell = f"%DYNAMIC_METADATA({CELL_METADATA_NAMESPACE}:{CELL_METADATA_KEY})%"
    no_healthy_host = {"response_flag_filter": {"flags": ["UH"]}}
    return {
        "mappers": [
            {
                "filter": {
                    "and_filter": {
                        "filters": [
                            no_healthy_host,
                            {
                                "metadata_filter": {
                                    "matcher": {
                                        "filter": CELL_METADATA_NAMESPACE,
                                        "path": [{"key": CELL_METADATA_KEY}],
                                        "value": {"present_match": True},
                                    },
                                    # The filter matches a missing key by default.
                                    "match_if_key_not_found": False,
                                }
                            },
                        ]
                    }
                },
                "body_format_override": {
                    "json_format": {
                        "error": f"cell {cell} is unavailable: it fails the router's health "
                        "checks; retry later",
                        "cell": cell,
                    }
                },
            },
            {
                "filter": no_healthy_host,
                "body_format_override": {
                    "json_format": {"error": "no cell is available; retry later"}
                },
            },
        ]
    }


def _listener(spec: RouterSpec) -> dict:
    connection_manager = {
        "@type": common.HTTP_CONNECTION_MANAGER,
        "stat_prefix": "router",
        "codec_type": "AUTO",
        "access_log": common.access_log(spec.access_log_path),
        "route_config": {
            "name": "cells",
            "virtual_hosts": [{"name": "cells", "domains": ["*"], "routes": _routes(spec)}],
        },
        "local_reply_config": _local_replies(),
        "http_filters": [
            request_filter(
                [cell.name for cell in spec.cells],
                spec.hash_header,
                spec.health_check_path,
                spec.max_path_bytes,
            ),
            common.router_filter(),
        ],
    }
    return {
        "name": "router",
        "address": common.socket_address(spec.listen_address, spec.listen_port),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": connection_manager,
                    }
                ]
            }
        ],
    }


def _cell_cluster(spec: RouterSpec, cell: RouterCell) -> dict:
    name = cell_cluster_name(cell.name)
    return {
        "name": name,
        "type": common.discovery_type([cell.host]),
        "connect_timeout": "1s",
        # The cluster's only host is the cell. Without a healthy host Envoy would route to
        # it anyway (panic routing), so a threshold of 0 makes it return 503 at once.
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
        "health_checks": [
            {
                "timeout": common.duration(spec.health_check_timeout_ms),
                "interval": common.duration(spec.health_check_interval_ms),
                # Envoy checks a cluster without traffic only every 60 s by default; a
                # router must notice a failed cell before users are sent to it.
                "no_traffic_interval": common.duration(spec.health_check_interval_ms),
                "unhealthy_threshold": spec.unhealthy_threshold,
                "healthy_threshold": spec.healthy_threshold,
                "http_health_check": {"path": spec.health_check_path},
            }
        ],
        # NOTE: with Envoy 1.40, after outlier detection ejected the cell, the router sends
        # requests to it again one health check interval after the first passing check,
        # although the admin interface shows the host healthy at that check.
        "outlier_detection": {
            "consecutive_5xx": spec.consecutive_5xx,
            "interval": "5s",
            "base_ejection_time": common.duration(spec.base_ejection_time_ms),
            # The percentage counts the hosts of this cluster, and its one host may go,
            # so no limit on how many cells are out at once can be set here.
            "max_ejection_percent": 100,
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": common.socket_address(cell.host, cell.port),
                                "hostname": cell.name,
                            }
                        }
                    ]
                }
            ],
        },
    }


def _any_cell_cluster(spec: RouterSpec) -> dict:
    # An aggregate cluster tries its clusters in order and uses the first with a healthy
    # host, with the health checks of the cells' own clusters.
    return {
        "name": ANY_CELL_CLUSTER,
        "connect_timeout": "1s",
        "lb_policy": "CLUSTER_PROVIDED",
        "cluster_type": {
            "name": "envoy.clusters.aggregate",
            "typed_config": {
                "@type": AGGREGATE_CLUSTER,
                "clusters": [cell_cluster_name(cell.name) for cell in spec.cells],
            },
        },
    }
