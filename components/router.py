"""The region's router on the control-plane cluster: Envoy spreading users over cells.

The router's bootstrap comes from the same generator as the local region's router: a
rendezvous hash of the `x-user-id` header over all configured cells picks the user's cell,
and active health checks and outlier detection decide whether that cell is served or its
users get 503 at once. It runs on the control-plane cluster's tainted pool, apart from
the control-plane workloads, and the cloud's load balancer in front of it comes from the
ingress seam.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.cloud.base import DATA_PLANE, PLANE_LABEL_KEY, CellIngress
from components.errors import ConfigError
from components.labels import LabelContext
from components.router_tls import TLS_DIRECTORY, self_signed_secret, with_tls
from components.sidecar import RouterCell, RouterSpec, SpecError, dump_yaml, router_bootstrap
from components.sidecar.validation import check_name

ROUTER_NAMESPACE = "router"
ROUTER_LISTEN_PORT = 8080
ROUTER_ADMIN_PORT = 9901
_APP_LABEL = "app.kubernetes.io/name"


@dataclass
class RouterArgs:
    """The router Deployment that maps each user to one cell."""

    replicas: int | None = 3
    """Router pods, spread over the zones; a disruption budget keeps all but one running."""
    hash_header: str | None = "x-user-id"
    """Request header with the user id, whose rendezvous hash picks the user's cell."""
    image: str | None = "envoyproxy/envoy:v1.40.0"
    port: int | None = 443
    """Port of the router's load balancer."""
    node_port: int | None = 30080
    """Node port behind the load balancer on AWS."""
    cell_port: int | None = 443
    """Port of each cell's ingress that the router forwards to."""
    tls_secret: str | None = None
    """`kubernetes.io/tls` Secret in the `router` namespace with the certificate the router
    serves, e.g. from cert-manager; None creates a self-signed one."""

    def validate(self, where: str = "router") -> None:
        _check_int(f"{where}.replicas", self.replicas, 2, 100)
        _check_int(f"{where}.port", self.port, 1, 65535)
        _check_int(f"{where}.node_port", self.node_port, 30000, 32767)
        _check_int(f"{where}.cell_port", self.cell_port, 1, 65535)
        try:
            check_name("RouterArgs", "hash_header", self.hash_header)
        except SpecError:
            raise ConfigError(
                f"{where}.hash_header", self.hash_header, "a lower-case header name"
            ) from None
        if self.tls_secret is not None:
            try:
                check_name("RouterArgs", "tls_secret", self.tls_secret)
            except SpecError:
                raise ConfigError(
                    f"{where}.tls_secret", self.tls_secret, "the name of a Secret"
                ) from None
        if (
            not isinstance(self.image, str)
            or ":" not in self.image
            or self.image.endswith(":latest")
        ):
            raise ConfigError(
                f"{where}.image", self.image, "an image pinned to a tag other than latest"
            )


def deploy_router(
    name: str,
    args: RouterArgs,
    region: str,
    cell_addresses: Mapping[str, pulumi.Input[str]],
    exposure: CellIngress,
    labels: LabelContext,
    tls_provider: pulumi.ProviderResource,
    opts: pulumi.ResourceOptions,
) -> k8s.apps.v1.Deployment:
    """Deploy the router with one cluster per cell, and expose it as `exposure` sets."""
    k8s_labels = {**labels.kubernetes(DATA_PLANE), _APP_LABEL: "router"}
    namespace = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata={"name": ROUTER_NAMESPACE, "labels": k8s_labels},
        opts=opts,
    )
    names = list(cell_addresses)
    bootstrap = pulumi.Output.all(*[cell_addresses[cell] for cell in names]).apply(
        lambda hosts: dump_yaml(
            with_tls(
                router_bootstrap(
                    RouterSpec(
                        region=region,
                        cells=tuple(
                            RouterCell(name=cell, host=host, port=args.cell_port)
                            for cell, host in zip(names, hosts, strict=True)
                        ),
                        listen_port=ROUTER_LISTEN_PORT,
                        admin_port=ROUTER_ADMIN_PORT,
                        listen_address="0.0.0.0",
                        hash_header=args.hash_header,
                    )
                )
            )
        )
    )
    in_namespace = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=[namespace])
    )
    if args.tls_secret is None:
        secret = self_signed_secret(
            name, f"router.{region}", ROUTER_NAMESPACE, k8s_labels, tls_provider, in_namespace
        )
        tls_secret = "router-tls"
        dependencies = [secret]
    else:
        tls_secret = args.tls_secret
        dependencies = []
    config = k8s.core.v1.ConfigMap(
        f"{name}-config",
        metadata={"name": "router", "namespace": ROUTER_NAMESPACE, "labels": k8s_labels},
        data={"envoy.yaml": bootstrap},
        opts=in_namespace,
    )
    selector = {_APP_LABEL: "router"}
    deployment = k8s.apps.v1.Deployment(
        f"{name}-deployment",
        metadata={"name": "router", "namespace": ROUTER_NAMESPACE, "labels": k8s_labels},
        spec={
            "replicas": args.replicas,
            "selector": {"match_labels": selector},
            "strategy": {"rolling_update": {"max_unavailable": 0, "max_surge": 1}},
            "template": {
                "metadata": {
                    "labels": k8s_labels,
                    "annotations": {"cellarch.io/config-sha256": bootstrap.apply(_sha256)},
                },
                "spec": _router_pod(args, tls_secret),
            },
        },
        opts=pulumi.ResourceOptions.merge(
            in_namespace, pulumi.ResourceOptions(depends_on=[config, *dependencies])
        ),
    )
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb",
        metadata={"name": "router", "namespace": ROUTER_NAMESPACE, "labels": k8s_labels},
        spec={"max_unavailable": 1, "selector": {"match_labels": selector}},
        opts=in_namespace,
    )
    service_spec: dict = {
        "type": exposure.service_type,
        "selector": selector,
        "ports": [{"name": "https", "port": args.port, "target_port": ROUTER_LISTEN_PORT}],
        # Keep the client's address, and send traffic only to nodes that run a router pod.
        "external_traffic_policy": "Local",
    }
    if exposure.service_type == "NodePort":
        service_spec["ports"][0]["node_port"] = args.node_port
    if exposure.load_balancer_ip is not None:
        service_spec["load_balancer_ip"] = exposure.load_balancer_ip
    k8s.core.v1.Service(
        f"{name}-service",
        metadata={
            "name": "router",
            "namespace": ROUTER_NAMESPACE,
            "labels": k8s_labels,
            "annotations": dict(exposure.service_annotations),
        },
        spec=service_spec,
        opts=in_namespace,
    )
    return deployment


def _router_pod(args: RouterArgs, tls_secret: str) -> dict:
    return {
        # The router holds no credentials and never calls the Kubernetes API.
        "automount_service_account_token": False,
        "node_selector": {PLANE_LABEL_KEY: DATA_PLANE},
        "tolerations": [
            {
                "key": PLANE_LABEL_KEY,
                "operator": "Equal",
                "value": DATA_PLANE,
                "effect": "NoSchedule",
            }
        ],
        "topology_spread_constraints": [
            {
                "max_skew": 1,
                "topology_key": "topology.kubernetes.io/zone",
                "when_unsatisfiable": "DoNotSchedule",
                "label_selector": {"match_labels": {_APP_LABEL: "router"}},
            }
        ],
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": 101,
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "envoy",
                "image": args.image,
                "args": ["--config-path", "/etc/envoy/envoy.yaml", "--log-level", "info"],
                "ports": [{"name": "https", "container_port": ROUTER_LISTEN_PORT}],
                "readiness_probe": {
                    "tcp_socket": {"port": ROUTER_LISTEN_PORT},
                    "period_seconds": 5,
                },
                "liveness_probe": {
                    "tcp_socket": {"port": ROUTER_LISTEN_PORT},
                    "period_seconds": 10,
                },
                "resources": {
                    "requests": {"cpu": "500m", "memory": "256Mi"},
                    "limits": {"memory": "512Mi"},
                },
                "security_context": {
                    "allow_privilege_escalation": False,
                    "read_only_root_filesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volume_mounts": [
                    {"name": "config", "mount_path": "/etc/envoy", "read_only": True},
                    {"name": "tls", "mount_path": TLS_DIRECTORY, "read_only": True},
                ],
            }
        ],
        "volumes": [
            {"name": "config", "config_map": {"name": "router"}},
            {"name": "tls", "secret": {"secret_name": tls_secret}},
        ],
    }


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _check_int(key: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, value, f"an integer from {low} to {high}")
