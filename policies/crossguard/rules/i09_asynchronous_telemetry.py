"""I9 Asynchronous telemetry: workloads export to a local collector with a bounded queue and
a memory limit; the collector retries and drops, it never blocks a workload."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..findings import Findings
from ..values import is_unknown
from ..view.collector import (
    MEMORY_LIMITER,
    CollectorConfig,
    is_collector_config,
    parse_collector_config,
)
from ..view.envoy import is_loopback
from ..view.graph import StackView
from ..view.model import ConfigMap, Record, Workload
from ..view.pods import is_data_plane, pod_configs
from .base import MANDATORY, Rule
from .i02_no_synchronous_call import config_map_documents

DEFAULT_MAX_QUEUE_SIZE = 100_000
OTLP_ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
)
# A collector on the pod's node is local too: the address comes from the downward API.
NODE_ADDRESS_REFERENCES = ("$(HOST_IP)", "$(NODE_IP)", "$(K8S_NODE_IP)")


def collector_problems(config: CollectorConfig, max_queue: int) -> list[str]:
    problems = []
    if not config.memory_limiter_configured:
        problems.append(f"no {MEMORY_LIMITER} processor with a limit")
    for pipeline in config.pipelines:
        if not pipeline.processors or pipeline.processors[0] != MEMORY_LIMITER:
            problems.append(f"pipeline {pipeline.name} does not start with {MEMORY_LIMITER}")
        for name in pipeline.exporters:
            exporter = config.exporters.get(name)
            if exporter is None:
                continue
            if not exporter.queue_enabled:
                problems.append(
                    f"exporter {name} has no sending queue, so a slow backend blocks the pipeline"
                )
            elif exporter.queue_size is None or exporter.queue_size > max_queue:
                problems.append(
                    f"exporter {name} queues {exporter.queue_size} batches, above the maximum "
                    f"of {max_queue}"
                )
    return sorted(set(problems), key=problems.index)


def check_collector_bounded(
    records: list[Record], findings: Findings, config: Mapping[str, Any]
) -> None:
    max_queue = config.get("maxQueueSize", DEFAULT_MAX_QUEUE_SIZE)
    for config_map in (r for r in records if isinstance(r, ConfigMap)):
        for key, document in config_map_documents(config_map, findings):
            if is_collector_config(document):
                for problem in collector_problems(parse_collector_config(document), max_queue):
                    findings.violation(f"{config_map.ref.title} ({key}): {problem}")


def is_local_endpoint(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if any(reference in value for reference in NODE_ADDRESS_REFERENCES):
        return True
    host = urlsplit(value if "://" in value else f"http://{value}").hostname
    return is_loopback(host)


def check_exports_locally(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    for workload in view.records(Workload):
        if not is_data_plane(workload, findings):
            continue
        if is_unknown(workload.pod) or is_unknown(workload.pod.containers):
            findings.unknown(workload.ref.title, "containers")
            continue
        configs = pod_configs(view, workload)
        exports_to_loopback = False
        for container in workload.pod.containers:
            if is_unknown(container.env):
                findings.unknown(workload.ref.title, f"environment of container {container.name}")
                continue
            for variable in OTLP_ENDPOINT_VARIABLES:
                if variable not in container.env:
                    continue
                value = container.env[variable]
                if is_unknown(value):
                    findings.unknown(
                        workload.ref.title, f"{variable} of container {container.name}"
                    )
                elif value is not None and not is_local_endpoint(value):
                    findings.violation(
                        f"{workload.ref.title}: container {container.name} exports telemetry "
                        f"to {value}, not to a collector on loopback or its node",
                        workload.ref.urn,
                    )
                elif value is not None and not any(r in value for r in NODE_ADDRESS_REFERENCES):
                    exports_to_loopback = True
        if exports_to_loopback and not configs.collectors and not configs.unknown:
            findings.violation(
                f"{workload.ref.title}: exports telemetry to loopback, but no collector runs in "
                "the pod",
                workload.ref.urn,
            )
        for container, _ in configs.collectors:
            if container.memory_limit is None:
                findings.violation(
                    f"{workload.ref.title}: collector container {container.name} has no memory "
                    "limit",
                    workload.ref.urn,
                )


RULES = [
    Rule(
        name="i09-collector-bounded",
        invariant="I9",
        description=(
            "Collectors limit their memory first in every pipeline and queue a bounded number of "
            "batches."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "collector configurations in ConfigMaps: a memory_limiter with a "
            "limit first in every pipeline; every exporter with its sending queue on and at "
            "most maxQueueSize batches",
        },
        resource_check=check_collector_bounded,
        config={
            "maxQueueSize": {
                "type": "integer",
                "minimum": 1,
                "description": "Most batches an exporter's sending queue may hold.",
                "default": DEFAULT_MAX_QUEUE_SIZE,
            }
        },
    ),
    Rule(
        name="i09-export-to-local-collector",
        invariant="I9",
        description=(
            "Data-plane workloads export telemetry to a collector in their pod or on their node, "
            "which has a memory limit."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "OTEL_EXPORTER_OTLP_*ENDPOINT of data-plane containers: loopback or "
            "the node's address; a loopback export needs a collector container, with a memory "
            "limit, in the pod",
        },
        stack_check=check_exports_locally,
    ),
]
