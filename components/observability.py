"""ObservabilityStack: the region's collector gateway, Prometheus and dashboards (I9).

Everything runs on the control-plane cluster's system pool, never on data-plane nodes
(I1). The cells' collector agents export OTLP to the gateway, which limits its memory,
batches, and sends through a bounded queue with retries to Amazon Managed Prometheus,
Google Managed Prometheus, or a Prometheus in the cluster. With `gateway_tls`, the gateway
serves OTLP over mutual TLS and accepts only the cells' client certificates.
"""

import dataclasses
import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.arguments import coerce_args
from components.cloud.base import CONTROL_PLANE, PLANE_LABEL_KEY, explicit_provider
from components.errors import ConfigError
from components.labels import CLOUDS, LabelContext
from components.sidecar import dump_yaml
from components.telemetry import backends
from components.telemetry.dashboards import PLANES, plane_dashboard_json
from components.telemetry.gateway_config import (
    HEALTH_PORT,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    GatewaySpec,
    gateway_config,
)
from components.telemetry.trust import TLS_DIRECTORY, TelemetryTLSArgs

TYPE_TOKEN = "cellarch:index:ObservabilityStack"
PLANE = "observability"
PROMETHEUS_KINDS = ("managed", "in-cluster")
_APP_LABEL = "app.kubernetes.io/name"
GATEWAY_TLS_SECRET = "otel-gateway-tls"


@dataclass
class ObservabilityStackArgs:
    """Arguments of an ObservabilityStack."""

    cloud: str
    """`aws` or `gcp`."""
    region: str
    """Cloud region; also the `region` label of the dashboards."""
    prometheus: str | None = "managed"
    """`managed` (Amazon or Google Managed Prometheus) or `in-cluster`."""
    project: str | None = None
    """GCP project; required on GCP."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    """OIDC provider of the cluster the gateway runs on; required for managed on AWS."""
    oidc_issuer: pulumi.Input[str] | None = None
    """Issuer host and path of that provider, without `https://`; required with the ARN."""
    gateway_replicas: int | None = 2
    gateway_memory_limit_mib: int | None = 512
    """Memory limit of each gateway pod; the memory limiter refuses data at 80 % of it."""
    gateway_queue_size: int | None = 5000
    """Batches the gateway holds for a slow backend before it drops new ones."""
    gateway_image: str | None = "otel/opentelemetry-collector-contrib:0.115.0"
    gateway_allowed_cidrs: list[str] | None = None
    """Ranges that may send to the gateway's load balancer; None allows every address."""
    gateway_tls: TelemetryTLSArgs | None = None
    """The gateway's certificate and the authority of the cells' client certificates, as
    `Region.telemetry_gateway_tls` gives them. None serves OTLP without TLS, which the policy
    rule i08-telemetry-mtls reports."""
    retention_days: int | None = 15
    """Retention of the in-cluster Prometheus."""
    storage_gb: int | None = 200
    """Volume size of the in-cluster Prometheus."""
    stack: str | None = ""
    """Stack name for the `stack` label; empty takes the current Pulumi stack."""

    def validate(self) -> None:
        if self.cloud not in CLOUDS:
            raise ConfigError("cloud", self.cloud, "one of " + ", ".join(CLOUDS))
        if self.prometheus not in PROMETHEUS_KINDS:
            raise ConfigError(
                "prometheus", self.prometheus, "one of " + ", ".join(PROMETHEUS_KINDS)
            )
        if self.cloud == "gcp" and not self.project:
            raise ConfigError("project", self.project, "a GCP project id on gcp")
        if (
            self.cloud == "aws"
            and self.prometheus == "managed"
            and (self.oidc_provider_arn is None or self.oidc_issuer is None)
        ):
            raise ConfigError(
                "oidc_provider_arn",
                self.oidc_provider_arn,
                "the OIDC provider ARN and issuer of the gateway's EKS cluster, for IRSA",
            )
        if self.gateway_tls is not None:
            if not isinstance(self.gateway_tls, TelemetryTLSArgs):
                raise ConfigError(
                    "gateway_tls", type(self.gateway_tls).__name__, "a TelemetryTLSArgs"
                )
            self.gateway_tls.validate("gateway_tls")
        for key, low, high in (
            ("gateway_replicas", 1, 20),
            ("gateway_memory_limit_mib", 64, 16384),
            ("gateway_queue_size", 100, 1_000_000),
            ("retention_days", 1, 365),
            ("storage_gb", 10, 16384),
        ):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(key, value, f"an integer from {low} to {high}")


class ObservabilityStack(pulumi.ComponentResource):
    """The collector gateway, Prometheus and the dashboards of the four planes of a region.

    Pass the Kubernetes provider of the cluster it runs on and the cloud provider in the
    options (`providers=[...]`); options without both are rejected.
    """

    gateway_address: pulumi.Output[str]
    """Load balancer address of the gateway; point the cells' telemetry endpoint at it."""
    gateway_port: pulumi.Output[int]
    """OTLP/gRPC port of the gateway."""
    prometheus_query_url: pulumi.Output[str]
    """Prometheus query API of the region's metrics."""
    dashboards: pulumi.Output[list[str]]
    """Names of the dashboard ConfigMaps, one per plane."""

    def __init__(
        self,
        name: str,
        args: ObservabilityStackArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = coerce_args(ObservabilityStackArgs, args)
        args.validate()
        kubernetes = explicit_provider(opts, "kubernetes")
        cloud_provider = explicit_provider(opts, args.cloud)
        for package, provider in (("kubernetes", kubernetes), (args.cloud, cloud_provider)):
            if provider is None:
                raise ConfigError(
                    "opts.providers", None, f"a pulumi {package} provider in the options"
                )
        super().__init__(TYPE_TOKEN, name, None, opts)
        stack = args.stack or pulumi.get_stack()
        label_context = LabelContext(region=args.region, stack=stack)
        cloud_labels = label_context.cloud(args.cloud, PLANE)
        k8s_labels = label_context.kubernetes(PLANE)
        in_cluster = pulumi.ResourceOptions(parent=self, provider=kubernetes)
        in_cloud = pulumi.ResourceOptions(parent=self, provider=cloud_provider)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": backends.NAMESPACE, "labels": k8s_labels},
            opts=in_cluster,
        )
        in_namespace = pulumi.ResourceOptions.merge(
            in_cluster, pulumi.ResourceOptions(depends_on=[namespace])
        )
        # Observability workloads stay off the data-plane nodes (I1).
        scheduling = {"node_selector": {PLANE_LABEL_KEY: CONTROL_PLANE}}

        backend = self._backend(
            name, args, cloud_labels, k8s_labels, scheduling, in_cloud, in_namespace
        )
        self._gateway(name, args, backend, k8s_labels, scheduling, in_namespace)
        dashboard_names = []
        for plane in PLANES:
            config_map = k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{plane}",
                metadata={
                    "name": f"dashboard-{plane}-plane",
                    "namespace": backends.NAMESPACE,
                    "labels": {**k8s_labels, "grafana_dashboard": "1"},
                },
                data={f"{plane}-plane.json": plane_dashboard_json(plane, args.region)},
                opts=in_namespace,
            )
            dashboard_names.append(config_map.metadata.apply(lambda metadata: metadata.name))

        self.gateway_port = pulumi.Output.from_input(OTLP_GRPC_PORT)
        self.prometheus_query_url = pulumi.Output.from_input(backend.query_url)
        self.dashboards = pulumi.Output.all(*dashboard_names)
        self.register_outputs(
            {
                "gateway_address": self.gateway_address,
                "gateway_port": self.gateway_port,
                "prometheus_query_url": self.prometheus_query_url,
                "dashboards": self.dashboards,
            }
        )

    def _backend(self, name, args, cloud_labels, k8s_labels, scheduling, in_cloud, in_namespace):
        if args.prometheus == "in-cluster":
            return backends.in_cluster_prometheus(
                name, args.retention_days, args.storage_gb, k8s_labels, scheduling, in_namespace
            )
        if args.cloud == "aws":
            return backends.amazon_managed_prometheus(
                name, args.region, args.oidc_provider_arn, args.oidc_issuer, cloud_labels, in_cloud
            )
        return backends.google_managed_prometheus(name, args.project, cloud_labels, in_cloud)

    def _gateway(self, name, args, backend, k8s_labels, scheduling, opts) -> None:
        spec = GatewaySpec(
            backend=backend.kind,
            memory_limit_mib=args.gateway_memory_limit_mib,
            queue_size=args.gateway_queue_size,
            region=args.region,
            project=args.project,
            mutual_tls=args.gateway_tls is not None,
        )
        config = pulumi.Output.from_input(backend.remote_write_url).apply(
            lambda url: dump_yaml(gateway_config(dataclasses.replace(spec, remote_write_url=url)))
        )
        selector = {_APP_LABEL: "otel-gateway"}
        labels = {**k8s_labels, **selector}
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-gateway-account",
            metadata={
                "name": backends.GATEWAY_SERVICE_ACCOUNT,
                "namespace": backends.NAMESPACE,
                "labels": labels,
                "annotations": backend.service_account_annotations,
            },
            opts=opts,
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-gateway-config",
            metadata={"name": "otel-gateway", "namespace": backends.NAMESPACE, "labels": labels},
            data={"config.yaml": config},
            opts=opts,
        )
        annotations: dict[str, pulumi.Input[str]] = {}
        volumes = [{"name": "config", "config_map": {"name": "otel-gateway"}}]
        mounts = [{"name": "config", "mount_path": "/etc/otelcol", "read_only": True}]
        depends_on = [service_account, config_map]
        if args.gateway_tls is not None:
            depends_on.append(
                k8s.core.v1.Secret(
                    f"{name}-gateway-tls",
                    metadata={
                        "name": GATEWAY_TLS_SECRET,
                        "namespace": backends.NAMESPACE,
                        "labels": labels,
                    },
                    type="Opaque",
                    string_data=args.gateway_tls.secret_data(),
                    opts=opts,
                )
            )
            # Readable by the pod's group (fs_group) only: 0o440.
            secret = {"secret_name": GATEWAY_TLS_SECRET, "default_mode": 0o440}
            volumes.append({"name": "tls", "secret": secret})
            mounts.append({"name": "tls", "mount_path": TLS_DIRECTORY, "read_only": True})
            # A new authority rolls the gateway, as it rolls the cells' pods.
            annotations["cellarch.io/telemetry-ca-sha256"] = pulumi.Output.from_input(
                args.gateway_tls.ca_certificate_pem
            ).apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest())
        k8s.apps.v1.Deployment(
            f"{name}-gateway",
            metadata={"name": "otel-gateway", "namespace": backends.NAMESPACE, "labels": labels},
            spec={
                "replicas": args.gateway_replicas,
                "selector": {"match_labels": selector},
                "template": {
                    "metadata": {"labels": labels, "annotations": annotations},
                    "spec": {
                        **scheduling,
                        "service_account_name": backends.GATEWAY_SERVICE_ACCOUNT,
                        "security_context": {
                            "run_as_non_root": True,
                            "run_as_user": 10001,
                            "fs_group": 10001,
                        },
                        "containers": [
                            {
                                "name": "otel-collector",
                                "image": args.gateway_image,
                                "args": ["--config=/etc/otelcol/config.yaml"],
                                "ports": [
                                    {"name": "otlp-grpc", "container_port": OTLP_GRPC_PORT},
                                    {"name": "otlp-http", "container_port": OTLP_HTTP_PORT},
                                ],
                                "readiness_probe": {"http_get": {"path": "/", "port": HEALTH_PORT}},
                                "liveness_probe": {"http_get": {"path": "/", "port": HEALTH_PORT}},
                                "resources": {
                                    "requests": {
                                        "cpu": "500m",
                                        "memory": f"{args.gateway_memory_limit_mib}Mi",
                                    },
                                    "limits": {"memory": f"{args.gateway_memory_limit_mib}Mi"},
                                },
                                "security_context": {
                                    "allow_privilege_escalation": False,
                                    "read_only_root_filesystem": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volume_mounts": mounts,
                            }
                        ],
                        "volumes": volumes,
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-gateway-pdb",
            metadata={"name": "otel-gateway", "namespace": backends.NAMESPACE, "labels": labels},
            spec={"max_unavailable": 1, "selector": {"match_labels": selector}},
            opts=opts,
        )
        service_spec: dict = {
            "type": "LoadBalancer",
            "selector": selector,
            "ports": [{"name": "otlp-grpc", "port": OTLP_GRPC_PORT, "target_port": OTLP_GRPC_PORT}],
        }
        if args.gateway_allowed_cidrs is not None:
            service_spec["load_balancer_source_ranges"] = list(args.gateway_allowed_cidrs)
        # The cells share no network with the control plane (I6), so they reach the gateway
        # through this load balancer, over mutual TLS when gateway_tls is set.
        service = k8s.core.v1.Service(
            f"{name}-gateway-service",
            metadata={
                "name": "otel-gateway",
                "namespace": backends.NAMESPACE,
                "labels": labels,
                "annotations": _load_balancer_annotations(args.cloud),
            },
            spec=service_spec,
            opts=opts,
        )
        self.gateway_address = service.status.apply(_load_balancer_address)


def _load_balancer_annotations(cloud: str) -> dict[str, str]:
    if cloud == "aws":
        return {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    return {}


def _load_balancer_address(status) -> str:
    ingress = ((status or {}).get("load_balancer") or {}).get("ingress") or []
    if not ingress:
        return ""
    return ingress[0].get("hostname") or ingress[0].get("ip") or ""
