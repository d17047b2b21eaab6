"""OpenTelemetry collector configuration of the region's gateway (I9).

Pure Python returning a dict. The gateway accepts OTLP from the cells' collector agents,
refuses data before it runs out of memory, batches, and exports through a bounded queue
that retries for a while and then drops, so a slow backend never blocks a workload.
"""

from dataclasses import dataclass

from components.telemetry import trust

OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
HEALTH_PORT = 13133
BACKENDS = ("amp", "gmp", "in-cluster")


@dataclass(frozen=True)
class GatewaySpec:
    backend: str
    """`amp` (Amazon Managed Prometheus), `gmp` (Google Managed Prometheus) or `in-cluster`."""
    memory_limit_mib: int
    """Container memory limit; the memory limiter refuses data at 80 % of it."""
    queue_size: int
    """Batches held for a slow backend; beyond it new batches are dropped."""
    region: str
    remote_write_url: str | None = None
    """Prometheus remote-write URL, for `amp` and `in-cluster`."""
    project: str | None = None
    """GCP project, for `gmp`."""
    mutual_tls: bool = False
    """Serve OTLP over TLS with the files of `trust.TLS_DIRECTORY` and require client
    certificates that the telemetry authority signed."""


def gateway_config(spec: GatewaySpec) -> dict:
    """Return the collector configuration for `spec`."""
    if spec.backend not in BACKENDS:
        raise ValueError(f"unknown backend {spec.backend!r}; expected one of {BACKENDS}")
    extensions = {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}}
    exporters: dict = {}
    traces_exporter = None
    if spec.backend == "amp":
        extensions["sigv4auth"] = {"region": spec.region, "service": "aps"}
        exporters["prometheusremotewrite"] = _remote_write(spec, auth="sigv4auth")
        exporters["awsxray"] = {"region": spec.region, **_queue_and_retry(spec)}
        traces_exporter = "awsxray"
    elif spec.backend == "gmp":
        exporters["googlemanagedprometheus"] = {
            "project": spec.project,
            **_queue_and_retry(spec),
        }
        exporters["googlecloud"] = {"project": spec.project, **_queue_and_retry(spec)}
        traces_exporter = "googlecloud"
    else:
        exporters["prometheusremotewrite"] = _remote_write(spec, auth=None)
    metrics_exporter = next(name for name in exporters if name not in ("awsxray", "googlecloud"))

    processors = ["memory_limiter", "batch"]
    pipelines = {
        "metrics": {
            "receivers": ["otlp"],
            "processors": processors,
            "exporters": [metrics_exporter],
        }
    }
    if traces_exporter is not None:
        pipelines["traces"] = {
            "receivers": ["otlp"],
            "processors": processors,
            "exporters": [traces_exporter],
        }
    return {
        "extensions": extensions,
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": _receiver(OTLP_GRPC_PORT, spec.mutual_tls),
                    "http": _receiver(OTLP_HTTP_PORT, spec.mutual_tls),
                }
            }
        },
        "processors": {
            "memory_limiter": {
                "check_interval": "1s",
                "limit_percentage": 80,
                "spike_limit_percentage": 20,
            },
            "batch": {"timeout": "5s", "send_batch_size": 8192, "send_batch_max_size": 16384},
        },
        "exporters": exporters,
        "service": {
            "extensions": list(extensions),
            "pipelines": pipelines,
            "telemetry": {"metrics": {"level": "detailed"}},
        },
    }


def _receiver(port: int, mutual_tls: bool) -> dict:
    receiver: dict = {"endpoint": f"0.0.0.0:{port}"}
    if mutual_tls:
        receiver["tls"] = trust.receiver_tls()
    return receiver


def _queue_and_retry(spec: GatewaySpec) -> dict:
    return {
        "sending_queue": {"enabled": True, "num_consumers": 4, "queue_size": spec.queue_size},
        "retry_on_failure": {
            "enabled": True,
            "initial_interval": "5s",
            "max_interval": "30s",
            # After five minutes a batch is dropped, so the queue drains instead of growing.
            "max_elapsed_time": "300s",
        },
    }


def _remote_write(spec: GatewaySpec, auth: str | None) -> dict:
    queue_and_retry = _queue_and_retry(spec)
    exporter: dict = {
        "endpoint": spec.remote_write_url,
        # The remote-write exporter spells its bounded queue `remote_write_queue`.
        "remote_write_queue": {
            "enabled": True,
            "queue_size": spec.queue_size,
            "num_consumers": 4,
        },
        "retry_on_failure": queue_and_retry["retry_on_failure"],
        "resource_to_telemetry_conversion": {"enabled": True},
    }
    if auth is not None:
        exporter["auth"] = {"authenticator": auth}
    return exporter
