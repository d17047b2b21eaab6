"""The configuration each container of a pod runs with, read from the ConfigMaps it mounts.

Envoy, the policy agent and the collector each take a configuration file on the command
line. A container's file is found by following its flag to the volume mounted at that path,
then to the ConfigMap behind the volume, in the same namespace and cluster. The document is
classified by its content, not by the image name, so a renamed image changes nothing.
"""

from dataclasses import dataclass, field
from typing import Any

from ..findings import Findings
from ..values import UNKNOWN, is_unknown
from .agent import AgentConfig, is_agent_config, parse_agent_config
from .collector import CollectorConfig, is_collector_config, parse_collector_config
from .documents import InvalidDocument, parse_yaml
from .envoy import EnvoyBootstrap, is_bootstrap, parse_bootstrap
from .graph import StackView
from .model import ConfigMap, Container, Workload

KUBERNETES_PLANE_LABEL = "cellarch.io/plane"
# Flags that name a configuration file: Envoy (-c, --config-path), OPA (-c, --config-file)
# and the OpenTelemetry collector (--config).
CONFIG_FLAGS = ("--config-path", "--config-file", "--config", "-c")


@dataclass(frozen=True)
class ContainerConfig:
    container: Container
    path: str
    document: Any
    """The parsed document, UNKNOWN when its text is not known yet."""


@dataclass
class PodConfigs:
    """The configurations found in one workload's pod, by what they configure."""

    sidecars: list[tuple[Container, EnvoyBootstrap]] = field(default_factory=list)
    agents: list[tuple[Container, AgentConfig]] = field(default_factory=list)
    collectors: list[tuple[Container, CollectorConfig]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """What could not be read yet, e.g. `arguments of container policy-agent`."""
    missing: list[str] = field(default_factory=list)
    """Configuration files that point at nothing in this stack."""


def workload_plane(workload: Workload) -> Any:
    """Return the plane of a workload's pods, else of the workload object."""
    if not is_unknown(workload.pod) and not is_unknown(workload.pod.labels):
        plane = workload.pod.labels.get(KUBERNETES_PLANE_LABEL)
        if plane is not None:
            return plane
    elif is_unknown(workload.pod) or is_unknown(workload.pod.labels):
        return UNKNOWN
    return workload.labels.get("plane")


def is_data_plane(workload: Workload, findings: Findings) -> bool:
    """Tell whether a workload's pods are data-plane pods; name the labels if unknown."""
    plane = workload_plane(workload)
    if is_unknown(plane):
        findings.unknown(workload.ref.title, "pod labels")
        return False
    return plane == "data"


def config_path(container: Container) -> Any:
    """Return the configuration file a container's arguments name, UNKNOWN or None."""
    arguments: list[Any] = []
    for part in (container.command, container.args):
        if is_unknown(part):
            return UNKNOWN
        arguments.extend(part)
    for index, argument in enumerate(arguments):
        if is_unknown(argument):
            return UNKNOWN
        if not isinstance(argument, str):
            continue
        flag, sep, value = argument.partition("=")
        if flag not in CONFIG_FLAGS:
            continue
        if sep:
            return value
        if index + 1 < len(arguments):
            following = arguments[index + 1]
            return UNKNOWN if is_unknown(following) else following
    return None


def pod_configs(view: StackView, workload: Workload) -> PodConfigs:
    found = PodConfigs()
    pod = workload.pod
    if is_unknown(pod) or is_unknown(pod.containers):
        found.unknown.append("the pod's containers")
        return found
    for container in pod.containers:
        config = _container_config(view, workload, container, found)
        if config is None:
            continue
        document = config.document
        if is_unknown(document):
            found.unknown.append(f"configuration {config.path} of container {container.name}")
        elif is_bootstrap(document):
            found.sidecars.append((container, parse_bootstrap(document)))
        elif is_agent_config(document):
            found.agents.append((container, parse_agent_config(document)))
        elif is_collector_config(document):
            found.collectors.append((container, parse_collector_config(document)))
    return found


def _container_config(
    view: StackView, workload: Workload, container: Container, found: PodConfigs
) -> ContainerConfig | None:
    path = config_path(container)
    if is_unknown(path):
        found.unknown.append(f"arguments of container {container.name}")
        return None
    if (
        not isinstance(path, str)
        or is_unknown(container.mounts)
        or is_unknown(workload.pod.volumes)
    ):
        if isinstance(path, str):
            found.unknown.append(f"volumes of container {container.name}")
        return None
    mount = _mount_for(container, path)
    if mount is None:
        return None
    volume = workload.pod.volumes.get(mount.volume)
    if volume is None or volume.source != "configMap":
        return None
    key = path[len(mount.path) :].lstrip("/") if path != mount.path else ""
    config_map = find_config_map(view, workload, volume.reference)
    if config_map is None:
        found.missing.append(
            f"ConfigMap {volume.reference} of container {container.name} is not in this stack"
        )
        return None
    if is_unknown(config_map.data):
        return ContainerConfig(container, path, UNKNOWN)
    text = config_map.data.get(key)
    if is_unknown(text):
        return ContainerConfig(container, path, UNKNOWN)
    if not isinstance(text, str):
        found.missing.append(
            f"ConfigMap {volume.reference} has no key {key} for container {container.name}"
        )
        return None
    try:
        document = parse_yaml(text)
    except InvalidDocument:
        found.missing.append(f"{path} of container {container.name} is not valid YAML")
        return None
    return ContainerConfig(container, path, document)


def _mount_for(container: Container, path: str) -> Any:
    best = None
    for mount in container.mounts:
        if not isinstance(mount.path, str):
            continue
        prefix = mount.path.rstrip("/")
        if (path == prefix or path.startswith(prefix + "/")) and (
            best is None or len(prefix) > len(best.path.rstrip("/"))
        ):
            best = mount
    return best


def find_config_map(view: StackView, workload: Workload, name: Any) -> ConfigMap | None:
    """Return the ConfigMap `name` in the workload's namespace and cluster."""
    key = (name, workload.namespace, _provider_urn(view, workload.ref.urn))
    try:
        return view.index("config maps", lambda: _config_maps_by_key(view)).get(key)
    except TypeError:  # an unknown or structured name or namespace cannot be a key
        return None


def _config_maps_by_key(view: StackView) -> dict[tuple, ConfigMap]:
    """Index the ConfigMaps by name, namespace and provider. The first one of a key wins."""
    index: dict[tuple, ConfigMap] = {}
    for config_map in view.records(ConfigMap):
        key = (
            config_map.object_name,
            config_map.namespace,
            _provider_urn(view, config_map.ref.urn),
        )
        try:
            index.setdefault(key, config_map)
        except TypeError:
            continue
    return index


def _provider_urn(view: StackView, urn: str) -> str | None:
    resource = view.resource(urn)
    if resource is None or resource.provider is None:
        return None
    return resource.provider.urn


def shares_volume(first: Container, second: Container, path: str) -> bool:
    """Tell whether both containers see `path` through the same mounted volume."""
    first_mount = _mount_for(first, path) if not is_unknown(first.mounts) else None
    second_mount = _mount_for(second, path) if not is_unknown(second.mounts) else None
    return (
        first_mount is not None
        and second_mount is not None
        and first_mount.volume == second_mount.volume
    )
