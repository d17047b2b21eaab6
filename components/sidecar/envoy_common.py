"""Envoy configuration pieces shared by the sidecar and the router bootstrap."""

from components.sidecar.validation import Endpoint, is_ip_address

HTTP_CONNECTION_MANAGER = (
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)
ROUTER_FILTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
HTTP_PROTOCOL_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
STDOUT_ACCESS_LOG = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
FILE_ACCESS_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"

# One JSON object per request. RESPONSE_CODE_DETAILS tells an authorization denial
# (ext_authz_denied) from an agent failure (ext_authz_error).
ACCESS_LOG_FORMAT = {
    "time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "status": "%RESPONSE_CODE%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "flags": "%RESPONSE_FLAGS%",
    "duration_ms": "%DURATION%",
    "upstream": "%UPSTREAM_HOST%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "user": "%REQ(X-USER-ID)%",
}


def duration(milliseconds: int) -> str:
    """Format milliseconds as a protobuf Duration string, e.g. 250 -> '0.250s'."""
    return f"{milliseconds // 1000}.{milliseconds % 1000:03d}s"


def socket_address(host: str, port: int) -> dict:
    return {"socket_address": {"address": host, "port_value": port}}


def endpoint_address(endpoint: Endpoint) -> dict:
    if endpoint.is_unix:
        return {"pipe": {"path": endpoint.unix_path}}
    return socket_address(endpoint.host, endpoint.port)


def admin(port: int) -> dict:
    # The admin interface can drain listeners and change log levels, so it binds loopback
    # only; no spec field can move it.
    return {"address": socket_address("127.0.0.1", port)}


def access_log(path: str | None) -> list[dict]:
    json_format = {"json_format": ACCESS_LOG_FORMAT}
    if path is None:
        return [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {"@type": STDOUT_ACCESS_LOG, "log_format": json_format},
            }
        ]
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {"@type": FILE_ACCESS_LOG, "path": path, "log_format": json_format},
        }
    ]


def router_filter() -> dict:
    return {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER_FILTER}}


def http2_protocol_options() -> dict:
    return {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": HTTP_PROTOCOL_OPTIONS,
            "explicit_http_config": {"http2_protocol_options": {}},
        }
    }


def discovery_type(hosts: list[str]) -> str:
    """Return STATIC when every host is an IP address, else STRICT_DNS."""
    return "STATIC" if all(is_ip_address(host) for host in hosts) else "STRICT_DNS"
