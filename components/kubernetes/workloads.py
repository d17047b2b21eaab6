"""CellWorkloads: the Kubernetes layer of a cell, the same on every cloud and cluster.

The cell gets a namespace of its own. Each service gets a service account, its Envoy
configuration, a Deployment, a Service on the mesh port, a PodDisruptionBudget, a
HorizontalPodAutoscaler and a NetworkPolicy. The Deployment's pods run the service behind
an Envoy sidecar, with a policy agent and a collector beside it. The services share the
agent and collector configuration, the default-deny and DNS policies, the database
credentials and the ingress Service.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.cloud.base import DATA_PLANE, explicit_provider
from components.errors import ConfigError
from components.kubernetes import collector, mtls, network_policy
from components.kubernetes.args import CellWorkloadsArgs, ServiceSpec
from components.kubernetes.pod import (
    AGENT_CONFIG_FILE,
    AGENT_PERSISTENCE_DIR,
    APP_NAME_LABEL,
    PodInputs,
    digest,
    pod_template,
)
from components.kubernetes.ports import (
    AGENT_AUTHZ_ADDRESS,
    AGENT_DIAGNOSTIC_PORT,
    AGENT_HTTP_ADDRESS,
    EDGE_PORT,
    ENVOY_ADMIN_PORT,
    MESH_PORT,
    UPSTREAM_FIRST_PORT,
)
from components.labels import LabelContext
from components.sidecar import (
    AgentSpec,
    GcsRepository,
    S3Repository,
    SidecarSpec,
    SpecError,
    agent_args,
    agent_config,
    dump_yaml,
    sidecar_bootstrap,
)

TYPE_TOKEN = "cellarch:index:CellWorkloads"
AGENT_CONFIG_MAP = "policy-agent"
COLLECTOR_CONFIG_MAP = "otel-collector"
COLLECTOR_TLS_SECRET = "otel-collector-tls"
DATABASE_SECRET = "database"
INGRESS_SERVICE = "ingress"


class CellWorkloads(pulumi.ComponentResource):
    """The namespace, service Deployments with sidecars, policies and autoscaling of a cell.

    Pass the Kubernetes provider of the target cluster in the options (`provider=` or
    `providers=`). Options without one are rejected, so no manifest can reach whichever
    cluster the ambient kubeconfig points at.
    """

    namespace: pulumi.Output[str]
    """Namespace of the cell's workloads."""
    service_names: pulumi.Output[list[str]]
    """Names of the Deployments, Services and service accounts, one per service."""
    ingress_service: pulumi.Output[str]
    """Name of the Service behind the cell's ingress; empty without an ingress."""

    def __init__(
        self,
        name: str,
        args: CellWorkloadsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, CellWorkloadsArgs):
            raise ConfigError("args", type(args).__name__, "a CellWorkloadsArgs")
        args.validate()
        provider = explicit_provider(opts, "kubernetes")
        if provider is None:
            raise ConfigError(
                "opts.provider",
                None,
                "a pulumi_kubernetes.Provider in provider= or providers= of the options",
            )
        if isinstance(args.bundle.bucket, str) and isinstance(args.bundle.public_key_pem, str):
            _agent_spec(args, args.bundle.bucket, args.bundle.public_key_pem)
        super().__init__(TYPE_TOKEN, name, None, opts)

        self._name = name
        self._args = args
        self._provider = provider
        self._namespace: k8s.core.v1.Namespace | None = None
        self._labels = LabelContext(
            region=args.region, stack=args.stack or pulumi.get_stack(), cell=args.cell
        ).kubernetes(DATA_PLANE)
        namespace_name = args.namespace_name

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": namespace_name,
                "labels": {
                    **self._labels,
                    # Every container runs unprivileged, so the strictest profile holds.
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            },
            opts=self._opts(),
        )
        self._namespace = namespace
        shared = self._shared_config(namespace_name)
        self._namespace_policies(namespace_name)
        database_secret = self._database_secret(namespace_name)

        for service in args.services:
            self._service(service, namespace_name, shared, database_secret)
        ingress_name = self._ingress_service(namespace_name)

        self.namespace = namespace.metadata.apply(lambda metadata: metadata.name)
        self.service_names = pulumi.Output.from_input([s.name for s in args.services])
        self.ingress_service = pulumi.Output.from_input(ingress_name)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_names": self.service_names,
                "ingress_service": self.ingress_service,
            }
        )

    def _opts(self, **options) -> pulumi.ResourceOptions:
        # Namespaced objects name their namespace by a plain string, so the dependency on
        # the Namespace resource is explicit.
        depends_on = options.pop("depends_on", [])
        if self._namespace is not None:
            depends_on = [self._namespace, *depends_on]
        return pulumi.ResourceOptions(
            parent=self, provider=self._provider, depends_on=depends_on, **options
        )

    def _metadata(self, name: str, namespace: str, **labels: str) -> dict:
        return {"name": name, "namespace": namespace, "labels": {**self._labels, **labels}}

    def _shared_config(self, namespace: str) -> dict[str, pulumi.Output[str]]:
        args = self._args
        # The bucket and the key may be outputs of the governance plane, so the agent's
        # configuration is built once both are known.
        source = pulumi.Output.all(args.bundle.bucket, args.bundle.public_key_pem)
        agent_yaml = source.apply(
            lambda values: dump_yaml(agent_config(_agent_spec(args, *values)))
        )
        k8s.core.v1.ConfigMap(
            f"{self._name}-agent-config",
            metadata=self._metadata(AGENT_CONFIG_MAP, namespace),
            data={"config.yaml": agent_yaml},
            opts=self._opts(),
        )
        collector_yaml = dump_yaml(
            collector.collector_config(
                gateway_endpoint=args.telemetry_endpoint,
                insecure=args.telemetry_insecure,
                resource_attributes={"cell": args.cell, "region": args.region},
                client_certificate=args.telemetry_tls is not None,
            )
        )
        if args.telemetry_tls is not None:
            k8s.core.v1.Secret(
                f"{self._name}-collector-tls",
                metadata=self._metadata(COLLECTOR_TLS_SECRET, namespace),
                type="Opaque",
                string_data=args.telemetry_tls.secret_data(),
                opts=self._opts(),
            )
        k8s.core.v1.ConfigMap(
            f"{self._name}-collector-config",
            metadata=self._metadata(COLLECTOR_CONFIG_MAP, namespace),
            data={"config.yaml": collector_yaml},
            opts=self._opts(),
        )
        arguments = source.apply(
            lambda values: agent_args(_agent_spec(args, *values), AGENT_CONFIG_FILE)
        )
        return {"agent_yaml": agent_yaml, "collector_yaml": collector_yaml, "agent_args": arguments}

    def _namespace_policies(self, namespace: str) -> None:
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-default-deny",
            metadata=self._metadata("default-deny", namespace),
            spec=network_policy.default_deny_spec(),
            opts=self._opts(),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-allow-dns",
            metadata=self._metadata("allow-dns", namespace),
            spec=network_policy.allow_dns_spec(),
            opts=self._opts(),
        )

    def _database_secret(self, namespace: str) -> str | None:
        database = self._args.database
        if database is None:
            return None
        k8s.core.v1.Secret(
            f"{self._name}-database",
            metadata=self._metadata(DATABASE_SECRET, namespace),
            type="Opaque",
            string_data={
                "host": database.host,
                "port": pulumi.Output.from_input(database.port).apply(str),
                "dbname": database.database_name,
                "username": database.username,
                "password": pulumi.Output.secret(database.password),
            },
            opts=self._opts(additional_secret_outputs=["data", "stringData"]),
        )
        return DATABASE_SECRET

    def _service(
        self,
        service: ServiceSpec,
        namespace: str,
        shared: dict,
        database_secret: str | None,
    ) -> None:
        args = self._args
        prefix = f"{self._name}-{service.name}"
        selector = {APP_NAME_LABEL: service.name}

        k8s.core.v1.ServiceAccount(
            f"{prefix}-account",
            metadata={
                **self._metadata(service.name, namespace),
                "annotations": dict(args.service_account_annotations),
            },
            automount_service_account_token=False,
            opts=self._opts(),
        )

        upstream_ports = {
            callee: UPSTREAM_FIRST_PORT + index for index, callee in enumerate(service.calls)
        }
        envoy_yaml = dump_yaml(self._envoy_bootstrap(service, namespace, upstream_ports))
        envoy_map = f"{service.name}-envoy"
        k8s.core.v1.ConfigMap(
            f"{prefix}-envoy-config",
            metadata=self._metadata(envoy_map, namespace),
            data={"envoy.yaml": envoy_yaml},
            opts=self._opts(),
        )

        documents = [shared["agent_yaml"], shared["collector_yaml"], envoy_yaml]
        if args.telemetry_tls is not None:
            # The collector reads its authority once at start, so a new one rolls the pods.
            documents.append(args.telemetry_tls.ca_certificate_pem)
        config_digest = pulumi.Output.all(*documents).apply(lambda texts: digest(*texts))
        template = pod_template(
            PodInputs(
                service=service,
                cell=args.cell,
                region=args.region,
                namespace=namespace,
                labels={**self._labels, **selector},
                envoy_image=args.envoy_image,
                agent_image=args.agent_image,
                collector_image=args.collector_image,
                agent_args=shared["agent_args"],
                envoy_config_map=envoy_map,
                agent_config_map=AGENT_CONFIG_MAP,
                collector_config_map=COLLECTOR_CONFIG_MAP,
                collector_tls_secret=(
                    COLLECTOR_TLS_SECRET if args.telemetry_tls is not None else None
                ),
                database_secret=database_secret,
                config_digest=config_digest,
                upstream_ports=upstream_ports,
            )
        )
        k8s.apps.v1.Deployment(
            f"{prefix}-deployment",
            metadata=self._metadata(service.name, namespace, **selector),
            spec={
                "replicas": service.min_replicas,
                "selector": {"match_labels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rolling_update": {"max_surge": "25%", "max_unavailable": 0},
                },
                "template": template,
            },
            # The autoscaler owns the replica count once the Deployment exists.
            opts=self._opts(ignore_changes=["spec.replicas"]),
        )
        k8s.core.v1.Service(
            f"{prefix}-service",
            metadata=self._metadata(service.name, namespace, **selector),
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [
                    {
                        "name": "mesh",
                        "port": MESH_PORT,
                        "target_port": "mesh",
                        "app_protocol": "https",
                    }
                ],
            },
            opts=self._opts(),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{prefix}-pdb",
            metadata=self._metadata(service.name, namespace, **selector),
            spec={"max_unavailable": 1, "selector": {"match_labels": selector}},
            opts=self._opts(),
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{prefix}-hpa",
            metadata=self._metadata(service.name, namespace, **selector),
            spec={
                "scale_target_ref": {
                    "api_version": "apps/v1",
                    "kind": "Deployment",
                    "name": service.name,
                },
                "min_replicas": service.min_replicas,
                "max_replicas": service.max_replicas,
                # The service container alone: the sidecars' requests would dilute its load.
                "metrics": [
                    {
                        "type": "ContainerResource",
                        "container_resource": {
                            "name": "cpu",
                            "container": service.name,
                            "target": {
                                "type": "Utilization",
                                "average_utilization": service.target_cpu_utilization,
                            },
                        },
                    }
                ],
                "behavior": {"scale_down": {"stabilization_window_seconds": 300}},
            },
            opts=self._opts(),
        )
        ingress_cidrs = list(args.ingress.source_cidrs) if args.ingress else []
        database_cidrs = list(args.database.cidrs) if args.database else []
        k8s.networking.v1.NetworkPolicy(
            f"{prefix}-policy",
            metadata=self._metadata(service.name, namespace, **selector),
            spec=network_policy.service_policy_spec(
                service,
                args.services,
                ingress_cidrs=ingress_cidrs,
                database_cidrs=database_cidrs,
                telemetry_port=int(args.telemetry_endpoint.rsplit(":", 1)[1]),
                gke_metadata=args.bundle.repository == "gcs",
            ),
            opts=self._opts(),
        )

    def _envoy_bootstrap(
        self,
        service: ServiceSpec,
        namespace: str,
        upstream_ports: dict[str, int],
    ) -> dict:
        args = self._args
        try:
            bootstrap = sidecar_bootstrap(
                SidecarSpec(
                    cell=args.cell,
                    jurisdiction=args.jurisdiction,
                    region=args.region,
                    listen_port=MESH_PORT,
                    admin_port=ENVOY_ADMIN_PORT,
                    service_port=service.port,
                    agent_address=AGENT_AUTHZ_ADDRESS,
                    listen_address="0.0.0.0",
                    service_address="127.0.0.1",
                )
            )
        except SpecError as error:
            raise ConfigError(f"services.{service.name}", error.value, error.accepted) from None
        trust_domain = args.trust_domain_name
        upstreams = [
            mtls.Upstream(
                name=callee,
                local_port=port,
                host=f"{callee}.{namespace}.svc.cluster.local",
                port=MESH_PORT,
                spiffe_id=mtls.spiffe_id(trust_domain, namespace, callee),
            )
            for callee, port in upstream_ports.items()
        ]
        return mtls.add_mtls(
            bootstrap,
            trust_domain=trust_domain,
            own_id=mtls.spiffe_id(trust_domain, namespace, service.name),
            edge_port=EDGE_PORT if service.public else None,
            upstreams=upstreams,
        )

    def _ingress_service(self, namespace: str) -> str:
        exposure = self._args.ingress
        if exposure is None:
            return ""
        (public,) = [service for service in self._args.services if service.public]
        port = {"name": "edge", "port": exposure.port, "target_port": "edge", "protocol": "TCP"}
        if exposure.node_port is not None:
            port["node_port"] = exposure.node_port
        spec = {
            "type": exposure.service_type,
            "selector": {APP_NAME_LABEL: public.name},
            "ports": [port],
            # Keeps the client address for the NetworkPolicy and the policy, and sends
            # traffic only to nodes that run a ready pod.
            "external_traffic_policy": "Local",
        }
        if exposure.service_type == "LoadBalancer":
            spec["load_balancer_source_ranges"] = list(exposure.source_cidrs)
            if exposure.load_balancer_ip is not None:
                spec["load_balancer_ip"] = exposure.load_balancer_ip
        k8s.core.v1.Service(
            f"{self._name}-ingress",
            metadata={
                **self._metadata(INGRESS_SERVICE, namespace),
                "annotations": dict(exposure.annotations),
            },
            spec=spec,
            opts=self._opts(),
        )
        return INGRESS_SERVICE


def _agent_spec(args: CellWorkloadsArgs, bucket: str, public_key_pem: str) -> AgentSpec:
    bundle = args.bundle
    try:
        if bundle.repository == "s3":
            repository = S3Repository(
                url=f"https://{bucket}.s3.{bundle.aws_region}.amazonaws.com",
                credentials="web_identity",
                aws_region=bundle.aws_region,
            )
        else:
            repository = GcsRepository(bucket=bucket)
        return AgentSpec(
            bundle_name=bundle.name,
            repository=repository,
            signing_key_id=bundle.key_id,
            signing_public_key_pem=public_key_pem,
            persistence_directory=AGENT_PERSISTENCE_DIR,
            authz_address=AGENT_AUTHZ_ADDRESS,
            http_address=AGENT_HTTP_ADDRESS,
            # Probes come from the kubelet, so the diagnostic port binds the pod address.
            diagnostic_address=f"0.0.0.0:{AGENT_DIAGNOSTIC_PORT}",
            polling_min_delay_seconds=bundle.polling_min_seconds,
            polling_max_delay_seconds=bundle.polling_max_seconds,
            labels={"cell": args.cell, "region": args.region},
        )
    except SpecError as error:
        raise ConfigError(
            f"bundle ({error.spec}.{error.field})", error.value, error.accepted
        ) from None
