"""Kubernetes objects mapped into the cloud-neutral view, each kind once.

The same mapping serves every cluster, whichever cloud runs it. Workloads keep their pod
spec in the view's terms (containers, volumes, scheduling); the Envoy, agent and collector
configuration in ConfigMaps is parsed later, by the rules that need it (`view/envoy.py`,
`view/agent.py`, `view/collector.py`).
"""

from collections.abc import Callable
from typing import Any

from ..values import UNKNOWN, as_bool, as_dict, as_int, as_list, get_path, is_unknown
from .common import NO_LABELS, Source, kubernetes_labels
from .model import (
    ConfigMap,
    Container,
    Ingress,
    KubeProvider,
    KubeService,
    Labelled,
    Labels,
    Mount,
    PodSpec,
    Record,
    Secret,
    SecurityRule,
    ServicePort,
    Toleration,
    Volume,
    Workload,
)

SOURCE = "kubernetes"
PROVIDER_TYPE = "pulumi:providers:kubernetes"
# Paths of the pod template in each workload kind.
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}
_VOLUME_SOURCES = {
    "configMap": ("name",),
    "secret": ("secretName",),
    "persistentVolumeClaim": ("claimName",),
    "emptyDir": (),
    "csi": ("driver",),
    "hostPath": ("path",),
    "projected": (),
    "ephemeral": (),
}


def kind_of(type_token: str) -> str:
    """Return the object kind of a type token, e.g. `Deployment`."""
    return type_token.rsplit(":", 1)[-1]


def labels(source: Source) -> Labels:
    if "metadata" not in source.props and not _has_metadata(source.type):
        return NO_LABELS
    return kubernetes_labels(get_path(source.props, "metadata", "labels", default={}) or {})


def _has_metadata(type_token: str) -> bool:
    # Helm releases and YAML components are not objects of the API, and carry no metadata.
    return not (
        type_token.startswith("kubernetes:helm.sh/") or type_token.startswith("kubernetes:yaml")
    )


def _metadata(source: Source) -> tuple[Any, Any]:
    metadata = source.get("metadata", {})
    if is_unknown(metadata):
        return UNKNOWN, UNKNOWN
    metadata = metadata or {}
    namespace = metadata.get("namespace")
    if namespace is None:
        namespace = get_path(source.provider_props or {}, "namespace", default="default")
    return namespace, metadata.get("name")


def _workload(source: Source) -> list[Record]:
    kind = kind_of(source.type)
    namespace, name = _metadata(source)
    path = _TEMPLATE_PATHS[kind]
    template = get_path(source.props, *path) if path else source.props
    pod = UNKNOWN if is_unknown(template) else pod_spec(template or {})
    max_unavailable = None
    if kind == "Deployment":
        max_unavailable = get_path(
            source.props, "spec", "strategy", "rollingUpdate", "maxUnavailable"
        )
    return [
        Workload(
            ref=source.ref(SOURCE, kind),
            labels=labels(source),
            namespace=namespace,
            workload_kind=kind,
            object_name=name,
            pod=pod,
            rolling_max_unavailable=max_unavailable,
        )
    ]


def pod_spec(template: dict[str, Any]) -> PodSpec:
    """Return the view of a pod template (`metadata` and `spec`)."""
    spec = template.get("spec", {})
    if is_unknown(spec):
        spec = UNKNOWN
    spec_get = (lambda key, default=None: UNKNOWN) if spec is UNKNOWN else spec.get
    pod_labels = get_path(template, "metadata", "labels", default={})
    return PodSpec(
        labels={} if pod_labels is None else pod_labels,
        node_selector=spec_get("nodeSelector") or {},
        required_node_terms=_required_node_terms(spec_get("affinity")),
        tolerations=_tolerations(spec_get("tolerations")),
        containers=_containers(spec_get("containers")),
        init_containers=_containers(spec_get("initContainers")),
        volumes=_volumes(spec_get("volumes")),
        host_network=as_bool(spec_get("hostNetwork", False)),
    )


def _required_node_terms(affinity: Any) -> Any:
    terms = get_path(
        affinity,
        "nodeAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "nodeSelectorTerms",
        default=[],
    )
    terms = as_list(terms)
    if is_unknown(terms):
        return UNKNOWN
    result = []
    for term in terms:
        expressions = as_list(get_path(term, "matchExpressions", default=[]))
        if is_unknown(expressions):
            return UNKNOWN
        entry = {}
        for expression in expressions:
            if is_unknown(expression):
                return UNKNOWN
            values = as_list(expression.get("values"))
            entry[expression.get("key")] = (
                expression.get("operator"),
                UNKNOWN if is_unknown(values) else tuple(values),
            )
        result.append(entry)
    return result


def _tolerations(values: Any) -> Any:
    values = as_list(values)
    if is_unknown(values):
        return UNKNOWN
    result = []
    for value in values:
        if is_unknown(value):
            return UNKNOWN
        result.append(
            Toleration(
                key=value.get("key"),
                operator=value.get("operator", "Equal"),
                value=value.get("value"),
                effect=value.get("effect"),
            )
        )
    return result


def _containers(values: Any) -> Any:
    values = as_list(values)
    if is_unknown(values):
        return UNKNOWN
    return [container(value) for value in values]


def container(value: Any) -> Container:
    if is_unknown(value):
        return Container(
            name=UNKNOWN,
            image=UNKNOWN,
            command=UNKNOWN,
            args=UNKNOWN,
            env=UNKNOWN,
            ports=UNKNOWN,
            mounts=UNKNOWN,
            memory_limit=UNKNOWN,
        )
    return Container(
        name=value.get("name"),
        image=value.get("image"),
        command=as_list(value.get("command")),
        args=as_list(value.get("args")),
        env=_env(value.get("env")),
        ports=_ports(value.get("ports")),
        mounts=_mounts(value.get("volumeMounts")),
        memory_limit=get_path(value, "resources", "limits", "memory"),
    )


def _env(values: Any) -> Any:
    values = as_list(values)
    if is_unknown(values):
        return UNKNOWN
    result: dict[str, Any] = {}
    for value in values:
        if is_unknown(value) or is_unknown(value.get("name")):
            return UNKNOWN
        result[value.get("name")] = value.get("value") if "valueFrom" not in value else None
    return result


def _ports(values: Any) -> Any:
    values = as_list(values)
    if is_unknown(values):
        return UNKNOWN
    result: dict[Any, Any] = {}
    for value in values:
        if is_unknown(value):
            return UNKNOWN
        result[as_int(value.get("containerPort"))] = value.get("name")
    return result


def _mounts(values: Any) -> Any:
    values = as_list(values)
    if is_unknown(values):
        return UNKNOWN
    result = []
    for value in values:
        if is_unknown(value):
            return UNKNOWN
        read_only = as_bool(value.get("readOnly", False))
        result.append(
            Mount(
                volume=value.get("name"), path=value.get("mountPath"), read_only=read_only is True
            )
        )
    return result


def _volumes(values: Any) -> Any:
    values = as_list(values)
    if is_unknown(values):
        return UNKNOWN
    result: dict[Any, Volume] = {}
    for value in values:
        if is_unknown(value):
            return UNKNOWN
        source, reference = "other", None
        for candidate, reference_path in _VOLUME_SOURCES.items():
            if candidate in value:
                source = candidate
                reference = get_path(value, candidate, *reference_path) if reference_path else None
                break
        result[value.get("name")] = Volume(
            name=value.get("name"), source=source, reference=reference
        )
    return result


def _config_map(source: Source) -> list[Record]:
    namespace, name = _metadata(source)
    data = source.get("data", {})
    return [
        ConfigMap(
            ref=source.ref(SOURCE, "ConfigMap"),
            labels=labels(source),
            namespace=namespace,
            object_name=name,
            data=UNKNOWN if is_unknown(data) else (data or {}),
        )
    ]


def _service(source: Source) -> list[Record]:
    namespace, name = _metadata(source)
    spec = as_dict(source.get("spec", {}))
    service_type = UNKNOWN if is_unknown(spec) else spec.get("type", "ClusterIP")
    selector = UNKNOWN if is_unknown(spec) else (spec.get("selector") or {})
    ports: Any = UNKNOWN
    if not is_unknown(spec):
        entries = as_list(spec.get("ports"))
        ports = UNKNOWN if is_unknown(entries) else [_service_port(entry) for entry in entries]
    records: list[Record] = [
        KubeService(
            ref=source.ref(SOURCE, "Service"),
            labels=labels(source),
            namespace=namespace,
            object_name=name,
            service_type=service_type,
            selector=selector,
            ports=ports,
        )
    ]
    if service_type in ("LoadBalancer", "NodePort"):
        records.append(
            Ingress(
                ref=source.ref(SOURCE, "Service"),
                labels=labels(source),
                addresses=_service_addresses(source, spec),
            )
        )
    return records


def _service_addresses(source: Source, spec: Any) -> tuple[Any, ...]:
    """Return the addresses of a LoadBalancer Service: the `loadBalancerIP` it requests and
    those its status reports once the cloud has assigned them."""
    addresses: list[Any] = []
    if not is_unknown(spec) and spec.get("loadBalancerIP") is not None:
        addresses.append(spec["loadBalancerIP"])
    for entry in as_list(get_path(source.props, "status", "loadBalancer", "ingress", default=[])):
        for key in ("ip", "hostname"):
            value = get_path(entry, key)
            if value is not None:
                addresses.append(value)
    return tuple(addresses)


def _service_port(entry: Any) -> ServicePort:
    if is_unknown(entry):
        return ServicePort(port=UNKNOWN, target_port=UNKNOWN)
    port = as_int(entry.get("port"))
    target = entry.get("targetPort", port)
    target = as_int(target) if as_int(target) is not None else target
    return ServicePort(port=port, target_port=target, node_port=as_int(entry.get("nodePort")))


def _ingress(source: Source) -> list[Record]:
    return [Ingress(ref=source.ref(SOURCE, "Ingress"), labels=labels(source))]


def _secret(source: Source) -> list[Record]:
    return [Secret(ref=source.ref(SOURCE, "Secret"), labels=labels(source))]


def _network_policy(source: Source) -> list[Record]:
    spec = source.get("spec", {})
    records: list[Record] = [
        Labelled(ref=source.ref(SOURCE, "NetworkPolicy"), labels=labels(source))
    ]
    if is_unknown(spec):
        return records
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        entries = as_list(as_dict(spec).get(direction))
        if is_unknown(entries):
            continue
        for index, entry in enumerate(entries):
            cidrs = []
            for peer in as_list(get_path(entry, peers_key, default=[])):
                cidr = get_path(peer, "ipBlock", "cidr")
                if cidr is not None:
                    cidrs.append(cidr)
            if not cidrs:
                continue
            records.append(
                SecurityRule(
                    ref=source.ref(SOURCE, "NetworkPolicy"),
                    labels=labels(source),
                    direction=direction,
                    protocol="tcp",
                    from_port=None,
                    to_port=None,
                    cidrs=cidrs,
                    peer_property=None,
                    group_property=None,
                    inline=False,
                    position=f"spec.{direction}[{index}]",
                )
            )
    return records


def _provider(source: Source) -> list[Record]:
    return [KubeProvider(ref=source.ref(SOURCE, "Kubernetes provider"), labels=NO_LABELS)]


MAPPERS: dict[str, Callable[[Source], list[Record]]] = {
    "kubernetes:apps/v1:Deployment": _workload,
    "kubernetes:apps/v1:StatefulSet": _workload,
    "kubernetes:apps/v1:DaemonSet": _workload,
    "kubernetes:apps/v1:ReplicaSet": _workload,
    "kubernetes:batch/v1:Job": _workload,
    "kubernetes:batch/v1:CronJob": _workload,
    "kubernetes:core/v1:Pod": _workload,
    "kubernetes:core/v1:ConfigMap": _config_map,
    "kubernetes:core/v1:Service": _service,
    "kubernetes:core/v1:Secret": _secret,
    "kubernetes:networking.k8s.io/v1:Ingress": _ingress,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": _network_policy,
    PROVIDER_TYPE: _provider,
}


def records(source: Source) -> list[Record]:
    """Map one Kubernetes object; a kind with no mapping still yields its labels (I11)."""
    mapper = MAPPERS.get(source.type)
    if mapper is not None:
        return mapper(source)
    return [Labelled(ref=source.ref(SOURCE, kind_of(source.type)), labels=labels(source))]
