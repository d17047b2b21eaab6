"""Ports and loopback addresses inside every data-plane pod.

The containers of a pod share one network namespace, so a service's own port must differ
from every port here.
"""

from components.kubernetes import collector

MESH_PORT = 8443
"""Envoy's mTLS listener for calls from other services of the cell."""
EDGE_PORT = 8080
"""Envoy's listener for the ingress, on public services only."""
ENVOY_ADMIN_PORT = 9901
AGENT_AUTHZ_PORT = 9191
AGENT_AUTHZ_ADDRESS = f"127.0.0.1:{AGENT_AUTHZ_PORT}"
AGENT_HTTP_PORT = 8181
AGENT_HTTP_ADDRESS = f"127.0.0.1:{AGENT_HTTP_PORT}"
AGENT_DIAGNOSTIC_PORT = 8282
UPSTREAM_FIRST_PORT = 15001
"""First loopback port of the outbound listeners, one per called service in `calls` order."""
UPSTREAM_MAX_COUNT = 64

RESERVED_PORTS = frozenset(
    {
        MESH_PORT,
        EDGE_PORT,
        ENVOY_ADMIN_PORT,
        AGENT_AUTHZ_PORT,
        AGENT_HTTP_PORT,
        AGENT_DIAGNOSTIC_PORT,
        collector.OTLP_GRPC_PORT,
        collector.OTLP_HTTP_PORT,
        collector.HEALTH_PORT,
        *range(UPSTREAM_FIRST_PORT, UPSTREAM_FIRST_PORT + UPSTREAM_MAX_COUNT),
    }
)
RESERVED_PORTS_TEXT = (
    "a port the sidecars do not use: not "
    + ", ".join(str(port) for port in sorted(RESERVED_PORTS) if port < UPSTREAM_FIRST_PORT)
    + f", nor {UPSTREAM_FIRST_PORT} to {UPSTREAM_FIRST_PORT + UPSTREAM_MAX_COUNT - 1}"
)
