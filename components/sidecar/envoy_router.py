"""The router Envoy that assigns each user to one cell.

It contains no business logic. A consistent hash of the user id picks the cell's sidecar,
and active health checks and outlier detection take a failing cell out of the ring.

NOTE: when a cell leaves the ring, Envoy (1.40) rebuilds the ring with more entries per
remaining cell, so besides the failed cell's users about 12% of the other cells' users
move too (localregion.ring models this; 3 or 5 cells, 1024 entries). Cells share no data,
so a moved user reaches a cell without their data until the failed cell returns.

Before any cell sees a request, a Lua filter rejects it with a JSON error when its path,
query string included, is longer than max_path_bytes (414), or when the user-id header is
repeated, contains a comma, is missing or is empty (400). So a user id is one non-empty
header value without a comma. The cells' health path alone may come without a user id.
"""

import json
from dataclasses import dataclass

from components.sidecar import envoy_common as common
from components.sidecar.errors import SpecError
from components.sidecar.validation import (
    check_absolute_path,
    check_host,
    check_int_range,
    check_name,
    check_port,
)

CELLS_CLUSTER = "cells"
LUA_FILTER = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
PREVIOUS_HOSTS_PREDICATE = (
    "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
)
_HEADER_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


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
    hash_header: str = "x-user-id"
    health_check_path: str = "/healthz"
    health_check_interval_ms: int = 2_000
    health_check_timeout_ms: int = 1_000
    unhealthy_threshold: int = 2
    healthy_threshold: int = 1
    # Outlier detection: a cell answering this many 5xx in a row leaves the ring for a while.
    consecutive_5xx: int = 5
    base_ejection_time_ms: int = 30_000
    max_ejection_percent: int = 50
    route_timeout_ms: int = 15_000
    # The ring has at least this many entries; more entries spread users more evenly.
    minimum_ring_size: int = 1024
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
        ):
            raise SpecError(
                name,
                "hash_header",
                self.hash_header,
                "a lower-case header name such as 'x-user-id'",
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
        check_int_range(name, "max_ejection_percent", self.max_ejection_percent, 0, 100, "percent")
        check_int_range(name, "route_timeout_ms", self.route_timeout_ms, 100, 300_000, "ms")
        check_int_range(name, "minimum_ring_size", self.minimum_ring_size, 1, 8_388_608, "entries")
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
            "clusters": [_cells_cluster(spec)],
        },
    }


def _request_checks(spec: RouterSpec) -> dict:
    """Return the Lua filter that rejects a request before the ring hash picks a cell.

    Route header matchers test each value of a repeated header on its own, so they cannot
    see a repeated user id, and the Lua filter counts the values instead.
    """
    code = _REQUEST_CHECKS_LUA
    for name, value in {
        "HEADER": spec.hash_header,
        "HEALTH_PATH": spec.health_check_path,
        "MAX_PATH_BYTES": str(spec.max_path_bytes),
        "TOO_LONG_BODY": _error_body(f"request path longer than {spec.max_path_bytes} bytes"),
        "REPEATED_BODY": _error_body(
            f"header {spec.hash_header} is repeated or contains a comma; "
            "send it once, without a comma"
        ),
        "MISSING_BODY": _error_body(f"missing header {spec.hash_header}; send the user id in it"),
    }.items():
        code = code.replace(f"@{name}@", _lua_string(value))
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {"@type": LUA_FILTER, "default_source_code": {"inline_string": code}},
    }


def _error_body(message: str) -> str:
    return json.dumps({"error": message})


def _lua_string(value: str) -> str:
    # Decimal escapes for quotes, backslashes and anything outside printable ASCII, so no
    # spec value can end the Lua string early.
    characters = (
        c if c.isascii() and c.isprintable() and c not in '"\\' else f"\\{ord(c):03d}"
        for c in value
    )
    return '"' + "".join(characters) + '"'


# A user id is one header value, not empty and without a comma: a comma would make one
# value look like the list that HTTP makes of a repeated header. The path limit counts
# the query string too. The cells' health path needs no user id.
_REQUEST_CHECKS_LUA = """
local header = @HEADER@
local health_path = @HEALTH_PATH@
local max_path_bytes = tonumber(@MAX_PATH_BYTES@)

local function reject(handle, status, body)
  handle:respond({[":status"] = status, ["content-type"] = "application/json"}, body)
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local path = headers:get(":path") or ""
  if #path > max_path_bytes then
    return reject(handle, "414", @TOO_LONG_BODY@)
  end
  local count = headers:getNumValues(header)
  local route_path = string.match(path, "^[^?]*")
  if count == 0 and route_path == health_path then
    return
  end
  if count > 1 or (count == 1 and string.find(headers:get(header), ",", 1, true)) then
    return reject(handle, "400", @REPEATED_BODY@)
  end
  if count == 0 or headers:get(header) == "" then
    return reject(handle, "400", @MISSING_BODY@)
  end
end
"""


def _cells_route(spec: RouterSpec) -> dict:
    return {
        "cluster": CELLS_CLUSTER,
        "timeout": common.duration(spec.route_timeout_ms),
        "hash_policy": [{"header": {"header_name": spec.hash_header}}],
        # A connection refused by a cell is retried once on the next cell of the ring.
        # Nothing else is retried, so a write is never sent to two cells.
        "retry_policy": {
            "retry_on": "connect-failure",
            "num_retries": 1,
            "retry_host_predicate": [
                {
                    "name": "envoy.retry_host_predicates.previous_hosts",
                    "typed_config": {"@type": PREVIOUS_HOSTS_PREDICATE},
                }
            ],
            "host_selection_retry_max_attempts": 3,
        },
    }


def _listener(spec: RouterSpec) -> dict:
    connection_manager = {
        "@type": common.HTTP_CONNECTION_MANAGER,
        "stat_prefix": "router",
        "codec_type": "AUTO",
        "access_log": common.access_log(spec.access_log_path),
        "route_config": {
            "name": "cells",
            "virtual_hosts": [
                {
                    "name": "cells",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": _cells_route(spec)}],
                }
            ],
        },
        "http_filters": [_request_checks(spec), common.router_filter()],
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


def _cells_cluster(spec: RouterSpec) -> dict:
    return {
        "name": CELLS_CLUSTER,
        "type": common.discovery_type([cell.host for cell in spec.cells]),
        "connect_timeout": "1s",
        "lb_policy": "RING_HASH",
        "ring_hash_lb_config": {"minimum_ring_size": spec.minimum_ring_size},
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
        "outlier_detection": {
            "consecutive_5xx": spec.consecutive_5xx,
            "interval": "5s",
            "base_ejection_time": common.duration(spec.base_ejection_time_ms),
            "max_ejection_percent": spec.max_ejection_percent,
        },
        "load_assignment": {
            "cluster_name": CELLS_CLUSTER,
            "endpoints": [{"lb_endpoints": [_cell_endpoint(cell) for cell in spec.cells]}],
        },
    }


def _cell_endpoint(cell: RouterCell) -> dict:
    # The ring is keyed by cell name, not address, so a user keeps their cell when the
    # cell's sidecar moves to another address.
    return {
        "endpoint": {
            "address": common.socket_address(cell.host, cell.port),
            "hostname": cell.name,
        },
        "metadata": {"filter_metadata": {"envoy.lb": {"hash_key": cell.name}}},
    }
