"""The Envoy sidecar in front of one cell's service.

Every request passes the ext_authz filter, which asks the pod's policy agent over loopback
TCP or a unix socket (I2) and denies when the agent fails or is slow (I3: fail closed).
"""

from dataclasses import dataclass

from components.sidecar import envoy_common as common
from components.sidecar.errors import SpecError
from components.sidecar.validation import (
    check_absolute_path,
    check_host,
    check_int_range,
    check_jurisdiction,
    check_name,
    check_port,
    is_loopback,
    parse_endpoint,
)

EXT_AUTHZ = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"
EXT_AUTHZ_PER_ROUTE = (
    "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute"
)
EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz"
AGENT_CLUSTER = "policy_agent"
SERVICE_CLUSTER = "service"
# The status Envoy returns when the agent cannot be asked or does not answer in time:
# 403, named as Envoy's StatusCode enum names it.
STATUS_ON_ERROR_CODE = "Forbidden"


@dataclass(frozen=True)
class SidecarSpec:
    """The sidecar of one cell's service.

    `agent_address` is `127.0.0.1:PORT` or `unix:///path.sock`; any other host is rejected,
    because the authorization call must not leave the pod.
    """

    cell: str
    jurisdiction: str
    region: str
    listen_port: int
    admin_port: int
    service_port: int
    agent_address: str
    # 0.0.0.0 in a pod, so the cell's ingress can reach it; loopback in the local region.
    listen_address: str = "127.0.0.1"
    service_address: str = "127.0.0.1"
    authz_timeout_ms: int = 250
    route_timeout_ms: int = 15_000
    # None logs to stdout.
    access_log_path: str | None = None
    # Present only so that a request for fail-open gets a clear rejection.
    failure_mode_allow: bool = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        check_name(name, "cell", self.cell)
        check_jurisdiction(name, "jurisdiction", self.jurisdiction)
        check_name(name, "region", self.region)
        check_port(name, "listen_port", self.listen_port)
        check_port(name, "admin_port", self.admin_port)
        check_port(name, "service_port", self.service_port)
        parse_endpoint(name, "agent_address", self.agent_address, loopback_only=True)
        check_host(name, "listen_address", self.listen_address)
        check_host(name, "service_address", self.service_address)
        check_int_range(name, "authz_timeout_ms", self.authz_timeout_ms, 10, 5_000, "ms")
        check_int_range(name, "route_timeout_ms", self.route_timeout_ms, 100, 300_000, "ms")
        if self.access_log_path is not None:
            check_absolute_path(name, "access_log_path", self.access_log_path)
        if self.failure_mode_allow is not False:
            raise SpecError(
                name,
                "failure_mode_allow",
                self.failure_mode_allow,
                "False: the sidecar denies when the policy agent fails (fail closed)",
            )
        if self.admin_port == self.listen_port:
            raise SpecError(name, "admin_port", self.admin_port, "a port other than listen_port")
        # A service on loopback shares the sidecar's network namespace, so not its ports.
        local_service = is_loopback(self.service_address)
        if local_service and self.service_port in (self.listen_port, self.admin_port):
            raise SpecError(
                name,
                "service_port",
                self.service_port,
                "a port other than listen_port and admin_port",
            )

    @property
    def context_extensions(self) -> dict[str, str]:
        """The per-route values that reach the agent as input.attributes.contextExtensions."""
        return {"cell": self.cell, "jurisdiction": self.jurisdiction, "region": self.region}


def sidecar_bootstrap(spec: SidecarSpec) -> dict:
    """Build the Envoy bootstrap of one cell's sidecar."""
    return {
        "node": {"id": f"{spec.region}-{spec.cell}-sidecar", "cluster": f"{spec.cell}-sidecar"},
        "admin": common.admin(spec.admin_port),
        "static_resources": {
            "listeners": [_ingress_listener(spec)],
            "clusters": [_agent_cluster(spec), _service_cluster(spec)],
        },
    }


def _ingress_listener(spec: SidecarSpec) -> dict:
    connection_manager = {
        "@type": common.HTTP_CONNECTION_MANAGER,
        "stat_prefix": "ingress",
        "codec_type": "AUTO",
        "access_log": common.access_log(spec.access_log_path),
        "route_config": _route_config(spec),
        "http_filters": [_ext_authz_filter(spec), common.router_filter()],
    }
    return {
        "name": "ingress",
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


def _route_config(spec: SidecarSpec) -> dict:
    route = {
        "match": {"prefix": "/"},
        "route": {
            "cluster": SERVICE_CLUSTER,
            "timeout": common.duration(spec.route_timeout_ms),
        },
        "typed_per_filter_config": {
            EXT_AUTHZ_FILTER: {
                "@type": EXT_AUTHZ_PER_ROUTE,
                "check_settings": {"context_extensions": spec.context_extensions},
            }
        },
    }
    return {
        "name": "cell",
        "virtual_hosts": [{"name": "service", "domains": ["*"], "routes": [route]}],
    }


def _ext_authz_filter(spec: SidecarSpec) -> dict:
    return {
        "name": EXT_AUTHZ_FILTER,
        "typed_config": {
            "@type": EXT_AUTHZ,
            "transport_api_version": "V3",
            "grpc_service": {
                "envoy_grpc": {"cluster_name": AGENT_CLUSTER},
                "timeout": common.duration(spec.authz_timeout_ms),
            },
            "failure_mode_allow": False,
            "status_on_error": {"code": STATUS_ON_ERROR_CODE},
        },
    }


def _agent_cluster(spec: SidecarSpec) -> dict:
    endpoint = parse_endpoint(
        "SidecarSpec", "agent_address", spec.agent_address, loopback_only=True
    )
    return {
        "name": AGENT_CLUSTER,
        "type": "STATIC",
        "connect_timeout": common.duration(spec.authz_timeout_ms),
        "typed_extension_protocol_options": common.http2_protocol_options(),
        "load_assignment": {
            "cluster_name": AGENT_CLUSTER,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": common.endpoint_address(endpoint)}}]}
            ],
        },
    }


def _service_cluster(spec: SidecarSpec) -> dict:
    return {
        "name": SERVICE_CLUSTER,
        "type": common.discovery_type([spec.service_address]),
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": SERVICE_CLUSTER,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": common.socket_address(
                                    spec.service_address, spec.service_port
                                )
                            }
                        }
                    ]
                }
            ],
        },
    }
