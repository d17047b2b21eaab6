"""Facts about an OpenTelemetry collector configuration: limits and queues (I9)."""

from dataclasses import dataclass
from typing import Any

MEMORY_LIMITER = "memory_limiter"
# The exporter helper's queue holds 1000 batches unless configured otherwise.
DEFAULT_QUEUE_SIZE = 1000


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
class CollectorConfig:
    pipelines: tuple[Pipeline, ...]
    exporters: dict[str, Exporter]
    memory_limiter_configured: bool
    receiver_endpoints: tuple[str, ...]


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
    for receiver in _dict(document.get("receivers")).values():
        for protocol in _dict(_dict(receiver).get("protocols")).values():
            endpoint = _dict(protocol).get("endpoint")
            if isinstance(endpoint, str):
                endpoints.append(endpoint)
    return CollectorConfig(
        pipelines=tuple(pipelines),
        exporters=exporters,
        memory_limiter_configured=configured,
        receiver_endpoints=tuple(endpoints),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
