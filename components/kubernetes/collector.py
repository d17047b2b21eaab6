"""Configuration of the OpenTelemetry collector that runs beside every service (I9).

The collector runs as a container in each data-plane pod, so the service exports to
loopback and never waits on the network. It is bounded three ways, so it drops data under
pressure instead of blocking the service or growing without end:
- `memory_limiter` refuses new data above a fixed memory limit, below the container limit;
- the exporter's `sending_queue` holds a fixed number of batches;
- `retry_on_failure` gives up after a fixed time.

With a client certificate, the exporter verifies the gateway against the telemetry
authority and presents the cell's own certificate (mutual TLS, I8).
"""

from components.telemetry import trust

OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
HEALTH_PORT = 13133
# The container's memory limit; the limiter keeps the collector's heap below 80% of it.
MEMORY_LIMIT_MIB = 128
MEMORY_LIMITER_MIB = 100
MEMORY_SPIKE_MIB = 20
QUEUE_SIZE = 1000
RETRY_MAX_ELAPSED = "300s"


def collector_config(
    *,
    gateway_endpoint: str,
    insecure: bool,
    resource_attributes: dict[str, str],
    client_certificate: bool = False,
) -> dict:
    """Build the collector configuration that sends a pod's telemetry to the gateway.

    With `client_certificate`, the exporter uses the files of `trust.TLS_DIRECTORY`.
    """
    if insecure and client_certificate:
        raise ValueError("insecure and client_certificate cannot both be set: choose one")
    tls = trust.exporter_tls() if client_certificate else {"insecure": insecure}
    return {
        "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"127.0.0.1:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {
            "memory_limiter": {
                "check_interval": "1s",
                "limit_mib": MEMORY_LIMITER_MIB,
                "spike_limit_mib": MEMORY_SPIKE_MIB,
            },
            "resource": {
                "attributes": [
                    {"key": key, "value": value, "action": "upsert"}
                    for key, value in sorted(resource_attributes.items())
                ]
            },
            "batch": {"send_batch_size": 512, "send_batch_max_size": 1024, "timeout": "5s"},
        },
        "exporters": {
            "otlp": {
                "endpoint": gateway_endpoint,
                "tls": tls,
                "timeout": "5s",
                "sending_queue": {"enabled": True, "num_consumers": 2, "queue_size": QUEUE_SIZE},
                "retry_on_failure": {
                    "enabled": True,
                    "initial_interval": "1s",
                    "max_interval": "30s",
                    "max_elapsed_time": RETRY_MAX_ELAPSED,
                },
            }
        },
        "service": {
            "extensions": ["health_check"],
            "pipelines": {signal: _pipeline() for signal in ("traces", "metrics", "logs")},
            "telemetry": {"metrics": {"level": "basic"}},
        },
    }


def _pipeline() -> dict:
    # A new dict per signal: shared objects would be dumped as YAML anchors and aliases.
    return {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", "resource", "batch"],
        "exporters": ["otlp"],
    }
