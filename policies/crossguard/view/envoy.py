"""Facts about an Envoy bootstrap that the rules check: listeners, ext_authz, TLS, clusters.

The bootstrap reaches the view as text in a ConfigMap. `parse_bootstrap` reads the parts
the invariants speak about and nothing else: where each listener binds, whether its HTTP
filters ask an authorization service, where that service is (I2), whether a failure of it
allows the request (I3), and which TLS and SPIFFE identities guard each connection (I8).
"""

import ipaddress
from dataclasses import dataclass
from typing import Any

EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz"
EXT_AUTHZ_TYPE = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"
HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager"
HTTP_CONNECTION_MANAGER_TYPE = (
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)
TLS_TRANSPORT = "envoy.transport_sockets.tls"


@dataclass(frozen=True)
class Endpoint:
    """A TCP address or a Unix socket path."""

    host: str | None = None
    port: int | None = None
    pipe: str | None = None

    @property
    def is_local(self) -> bool:
        """True for a Unix socket or a loopback address, which stay inside the pod."""
        if self.pipe:
            return True
        return is_loopback(self.host)

    def __str__(self) -> str:
        if self.pipe:
            return f"unix://{self.pipe}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class AuthzFilter:
    failure_mode_allow: bool
    target: str
    """How the filter names its service: `cluster policy_agent`, a gRPC target or a URI."""
    cluster: str | None
    """Envoy cluster the filter calls, when it calls one."""
    remote_uri: str | None = None
    """A target named directly (google_grpc or http_service), not through a cluster."""


@dataclass(frozen=True)
class TlsContext:
    require_client_certificate: bool
    san_matchers: tuple[tuple[str, str, str], ...]
    """(SAN type, match kind, pattern), e.g. ("URI", "prefix", "spiffe://cell.example/")."""
    has_certificate: bool


@dataclass(frozen=True)
class FilterChain:
    http: bool
    authz: tuple[AuthzFilter, ...]
    tls: TlsContext | None
    routes_without_authz: tuple[str, ...]
    """Routes or virtual hosts whose per-filter config disables ext_authz."""
    route_clusters: tuple[str, ...] = ()
    """Clusters the chain's routes send requests to."""


@dataclass(frozen=True)
class Listener:
    name: str
    endpoint: Endpoint
    chains: tuple[FilterChain, ...]


@dataclass(frozen=True)
class UpstreamCluster:
    name: str
    endpoints: tuple[Endpoint, ...]
    tls: TlsContext | None


@dataclass(frozen=True)
class EnvoyBootstrap:
    listeners: tuple[Listener, ...]
    clusters: dict[str, UpstreamCluster]

    def fronts_local_service(self, chain: FilterChain) -> bool:
        """Tell whether the chain may send requests to a service in the pod.

        A chain whose routes all go to clusters outside the pod forwards requests, as the
        region's router does, and the sidecar of the workload it reaches authorizes them.
        A chain with no route to a named cluster counts as fronting the pod.
        """
        if not chain.route_clusters:
            return True
        for name in chain.route_clusters:
            cluster = self.clusters.get(name)
            if cluster is None or any(endpoint.is_local for endpoint in cluster.endpoints):
                return True
        return False

    def authz_endpoints(self, authz: AuthzFilter) -> tuple[Endpoint, ...]:
        cluster = self.clusters.get(authz.cluster or "")
        return cluster.endpoints if cluster else ()


def is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_bootstrap(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("static_resources"), dict)


def parse_bootstrap(document: dict[str, Any]) -> EnvoyBootstrap:
    resources = document.get("static_resources", {})
    clusters = {}
    for cluster in _list(resources.get("clusters")):
        if isinstance(cluster, dict) and isinstance(cluster.get("name"), str):
            clusters[cluster["name"]] = _cluster(cluster)
    listeners = tuple(
        _listener(listener)
        for listener in _list(resources.get("listeners"))
        if isinstance(listener, dict)
    )
    return EnvoyBootstrap(listeners=listeners, clusters=clusters)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def endpoint_of(address: Any) -> Endpoint:
    address = _dict(address)
    if "pipe" in address:
        return Endpoint(pipe=_dict(address["pipe"]).get("path"))
    socket = _dict(address.get("socket_address"))
    port = socket.get("port_value")
    return Endpoint(host=socket.get("address"), port=int(port) if isinstance(port, int) else None)


def _cluster(cluster: dict[str, Any]) -> UpstreamCluster:
    endpoints = []
    assignment = _dict(cluster.get("load_assignment"))
    for locality in _list(assignment.get("endpoints")):
        for lb_endpoint in _list(_dict(locality).get("lb_endpoints")):
            address = _dict(_dict(lb_endpoint).get("endpoint")).get("address")
            endpoints.append(endpoint_of(address))
    return UpstreamCluster(
        name=cluster["name"],
        endpoints=tuple(endpoints),
        tls=_tls(cluster.get("transport_socket")),
    )


def _listener(listener: dict[str, Any]) -> Listener:
    chains = tuple(_chain(chain) for chain in _list(listener.get("filter_chains")))
    return Listener(
        name=str(listener.get("name", "")),
        endpoint=endpoint_of(listener.get("address")),
        chains=chains,
    )


def _chain(chain: Any) -> FilterChain:
    chain = _dict(chain)
    http = False
    authz: list[AuthzFilter] = []
    routes_without_authz: list[str] = []
    route_clusters: list[str] = []
    for network_filter in _list(chain.get("filters")):
        network_filter = _dict(network_filter)
        config = _dict(network_filter.get("typed_config"))
        is_http = network_filter.get("name") == HTTP_CONNECTION_MANAGER or (
            config.get("@type") == HTTP_CONNECTION_MANAGER_TYPE
        )
        if not is_http:
            continue
        http = True
        for http_filter in _list(config.get("http_filters")):
            parsed = _authz_filter(_dict(http_filter))
            if parsed is not None:
                authz.append(parsed)
        routes_without_authz.extend(_routes_without_authz(_dict(config.get("route_config"))))
        route_clusters.extend(_route_clusters(_dict(config.get("route_config"))))
    return FilterChain(
        http=http,
        authz=tuple(authz),
        tls=_tls(chain.get("transport_socket")),
        routes_without_authz=tuple(routes_without_authz),
        route_clusters=tuple(route_clusters),
    )


def _route_clusters(route_config: dict[str, Any]) -> list[str]:
    found = []
    for host in _list(route_config.get("virtual_hosts")):
        for route in _list(_dict(host).get("routes")):
            action = _dict(_dict(route).get("route"))
            if isinstance(action.get("cluster"), str):
                found.append(action["cluster"])
            for weighted in _list(_dict(action.get("weighted_clusters")).get("clusters")):
                if isinstance(_dict(weighted).get("name"), str):
                    found.append(weighted["name"])
    return found


def _authz_filter(http_filter: dict[str, Any]) -> AuthzFilter | None:
    config = _dict(http_filter.get("typed_config"))
    if http_filter.get("name") != EXT_AUTHZ_FILTER and config.get("@type") != EXT_AUTHZ_TYPE:
        return None
    if http_filter.get("disabled") is True:
        return None
    # Envoy's default for failure_mode_allow is false, so a missing field fails closed.
    failure_mode_allow = config.get("failure_mode_allow", False) is True
    grpc = _dict(config.get("grpc_service"))
    if "envoy_grpc" in grpc:
        cluster = _dict(grpc["envoy_grpc"]).get("cluster_name")
        return AuthzFilter(failure_mode_allow, f"cluster {cluster}", cluster)
    if "google_grpc" in grpc:
        target = _dict(grpc["google_grpc"]).get("target_uri")
        return AuthzFilter(failure_mode_allow, f"gRPC target {target}", None, str(target))
    http_service = _dict(config.get("http_service"))
    server = _dict(http_service.get("server_uri"))
    uri = server.get("uri")
    cluster = server.get("cluster")
    return AuthzFilter(failure_mode_allow, f"HTTP service {uri}", cluster, str(uri))


def _routes_without_authz(route_config: dict[str, Any]) -> list[str]:
    found = []
    for host in _list(route_config.get("virtual_hosts")):
        host = _dict(host)
        if _authz_disabled(host.get("typed_per_filter_config")):
            found.append(f"virtual host {host.get('name')}")
        for index, route in enumerate(_list(host.get("routes"))):
            if _authz_disabled(_dict(route).get("typed_per_filter_config")):
                found.append(f"route {index} of virtual host {host.get('name')}")
    return found


def _authz_disabled(per_filter: Any) -> bool:
    config = _dict(_dict(per_filter).get(EXT_AUTHZ_FILTER))
    return config.get("disabled") is True


def _tls(transport_socket: Any) -> TlsContext | None:
    socket = _dict(transport_socket)
    config = _dict(socket.get("typed_config"))
    if socket.get("name") != TLS_TRANSPORT and "tls" not in str(config.get("@type", "")):
        return None
    common = _dict(config.get("common_tls_context"))
    validation = _dict(common.get("validation_context")) or _dict(
        _dict(common.get("combined_validation_context")).get("default_validation_context")
    )
    matchers = []
    for entry in _list(validation.get("match_typed_subject_alt_names")):
        entry = _dict(entry)
        matcher = _dict(entry.get("matcher"))
        for kind in ("exact", "prefix", "suffix", "contains"):
            if kind in matcher:
                matchers.append((str(entry.get("san_type")), kind, str(matcher[kind])))
    has_certificate = bool(
        _list(common.get("tls_certificates"))
        or _list(common.get("tls_certificate_sds_secret_configs"))
    )
    return TlsContext(
        require_client_certificate=config.get("require_client_certificate") is True,
        san_matchers=tuple(matchers),
        has_certificate=has_certificate,
    )
