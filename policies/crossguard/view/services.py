"""The Kubernetes Services that send traffic to each workload, and the container port they reach."""

from dataclasses import dataclass
from typing import Any

from ..values import is_unknown
from .graph import StackView
from .model import Container, KubeService, ServicePort, Workload

EXTERNAL_TYPES = ("LoadBalancer", "NodePort")


@dataclass(frozen=True)
class Exposure:
    service: KubeService
    port: ServicePort
    container: Container | None
    """The container that exposes the target port; None when no container names it."""
    container_port: Any
    """The port number inside the pod; None when a port name matches no container port."""

    @property
    def external(self) -> bool:
        return self.service.service_type in EXTERNAL_TYPES


def _provider(view: StackView, urn: str) -> str | None:
    resource = view.resource(urn)
    return resource.provider.urn if resource is not None and resource.provider else None


def selects(service: KubeService, workload: Workload) -> Any:
    """Tell whether the Service's selector matches the workload's pods."""
    if is_unknown(service.selector) or is_unknown(workload.pod) or is_unknown(workload.pod.labels):
        return None
    if not service.selector:
        return False
    return all(workload.pod.labels.get(k) == v for k, v in service.selector.items())


def unknown_services(view: StackView, workload: Workload) -> list[str]:
    """Return the Services of the workload's namespace and cluster whose selector or ports
    are unknown, so that whether they reach the workload is not known yet."""
    provider = _provider(view, workload.ref.urn)
    return [
        service.ref.title
        for service in view.records(KubeService)
        if service.namespace == workload.namespace
        and _provider(view, service.ref.urn) == provider
        and (is_unknown(service.selector) or is_unknown(service.ports))
    ]


def exposures(view: StackView, workload: Workload) -> list[Exposure]:
    """Return every Service port that sends traffic to the workload's pods."""
    found = []
    provider = _provider(view, workload.ref.urn)
    for service in view.records(KubeService):
        if service.namespace != workload.namespace or _provider(view, service.ref.urn) != provider:
            continue
        if not selects(service, workload) or is_unknown(service.ports):
            continue
        for port in service.ports:
            container, number = _target(workload, port.target_port)
            found.append(Exposure(service, port, container, number))
    return found


def _target(workload: Workload, target: Any) -> tuple[Container | None, Any]:
    if is_unknown(workload.pod.containers):
        return None, None
    for container in workload.pod.containers:
        if is_unknown(container.ports):
            continue
        for number, name in container.ports.items():
            if target == number or (isinstance(target, str) and target == name):
                return container, number
    return None, target if isinstance(target, int) else None
