"""Facts about an OpenTelemetry collector configuration: limits and queues (I9), and the
TLS settings of its OTLP receivers and exporters (I8)."""

from dataclasses import dataclass
from typing import Any

MEMORY_LIMITER = "memory_limiter"
# The exporter helper's queue holds 1000 batches unless configured otherwise.
DEFAULT_QUEUE_SIZE = 1000
# Collector v0.144.0 renamed `otlp` and `otlphttp` to `otlp_grpc` and `otlp_http`.
OTLP_EXPORTER_KINDS = ("otlp", "otlphttp", "otlp_grpc", "otlp_http")
# An OTLP/HTTP exporter may name one URL per signal instead of `endpoint`.
SIGNAL_ENDPOINT_KEYS = ("traces_endpoint", "metrics_endpoint", "logs_endpoint")


@dataclass(frozen=True)
class Pipeline:
    name: str
    processors: tuple[str, ...]
    exporters: tuple[str, ...]


@dataclass(frozen=True)
class Exporter:
    name: str
    queue_enabled: bool
    queue_size: int | None


@dataclass(frozen=True)
class OtlpEndpoint:
    """An OTLP receiver protocol or OTLP exporter, with its `tls` section (None if absent)."""

    role: str
    """`receiver` or `exporter`."""
    name: str
    """The exporter's name, or the receiver's name and protocol, e.g. `otlp/grpc`."""
    address: str | None
    tls: dict[str, Any] | None


@dataclass(frozen=True)
class CollectorConfig:
    pipelines: tuple[Pipeline, ...]
    exporters: dict[str, Exporter]
    memory_limiter_configured: bool
    receiver_endpoints: tuple[str, ...]
    otlp_endpoints: tuple[OtlpEndpoint, ...] = ()


def is_collector_config(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("receivers"), dict)
        and isinstance(document.get("exporters"), dict)
        and isinstance(document.get("service"), dict)
    )


def parse_collector_config(document: dict[str, Any]) -> CollectorConfig:
    pipelines = []
    for name, pipeline in _dict(_dict(document.get("service")).get("pipelines")).items():
        pipeline = _dict(pipeline)
        pipelines.append(
            Pipeline(
                name=str(name),
                processors=tuple(str(p) for p in _list(pipeline.get("processors"))),
                exporters=tuple(str(e) for e in _list(pipeline.get("exporters"))),
            )
        )
    exporters = {}
    for name, exporter in _dict(document.get("exporters")).items():
        queue = _dict(_dict(exporter).get("sending_queue"))
        size = queue.get("queue_size", DEFAULT_QUEUE_SIZE)
        exporters[str(name)] = Exporter(
            name=str(name),
            queue_enabled=queue.get("enabled", True) is not False,
            queue_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        )
    processors = _dict(document.get("processors"))
    limiter = _dict(processors.get(MEMORY_LIMITER))
    configured = any(key in limiter for key in ("limit_mib", "limit_percentage"))
    endpoints = []
    otlp = []
    for receiver_name, receiver in _dict(document.get("receivers")).items():
        for protocol_name, protocol in _dict(_dict(receiver).get("protocols")).items():
            endpoint = _dict(protocol).get("endpoint")
            if isinstance(endpoint, str):
                endpoints.append(endpoint)
            if _kind(receiver_name) == "otlp":
                otlp.append(
                    OtlpEndpoint(
                        "receiver",
                        f"{receiver_name}/{protocol_name}",
                        endpoint if isinstance(endpoint, str) else None,
                        _tls(protocol),
                    )
                )
    for exporter_name, exporter in _dict(document.get("exporters")).items():
        if _kind(exporter_name) not in OTLP_EXPORTER_KINDS:
            continue
        settings = _dict(exporter)
        for key in ("endpoint", *SIGNAL_ENDPOINT_KEYS):
            address = settings.get(key)
            if isinstance(address, str):
                name = str(exporter_name) if key == "endpoint" else f"{exporter_name} ({key})"
                otlp.append(OtlpEndpoint("exporter", name, address, _tls(exporter)))
    return CollectorConfig(
        pipelines=tuple(pipelines),
        exporters=exporters,
        memory_limiter_configured=configured,
        receiver_endpoints=tuple(endpoints),
        otlp_endpoints=tuple(otlp),
    )


def _kind(name: Any) -> str:
    """Return a component's type from its name: `otlp/gateway` is an `otlp`."""
    return str(name).split("/", 1)[0]


def _tls(section: Any) -> dict[str, Any] | None:
    tls = _dict(section).get("tls")
    return tls if isinstance(tls, dict) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
