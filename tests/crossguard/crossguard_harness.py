"""Small Pulumi programs for the pack's tests, run on the offline mock engine.

Each test states a program that breaks (or keeps) one invariant with real SDK resources,
runs it on the mocks as `pulumi up` or `pulumi preview` would, and runs the pack over the
recording with the offline runner. Helpers here build what many programs share: labels,
providers, and a data-plane pod with its Envoy, agent and collector configuration.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import yaml

from offline import run_program
from offline.mocks import CloudMocks
from policies.crossguard.offline import run
from policies.crossguard.report import Report

STACK = "policy-test"
REGION = "us-east-1"
GCP_REGION = "europe-west1"
PROJECT = "cellarch-policy-test"
PRODUCTION = {"cellarch:environment": "production"}


def run_pack(
    program: Callable[[], None],
    *,
    preview: bool = False,
    stack_config: Mapping[str, str] | None = None,
    pack_config: Mapping[str, Any] | None = None,
) -> Report:
    """Run `program` on the mocks and return the pack's report on its recording."""
    config = dict(PRODUCTION if stack_config is None else stack_config)
    recording = run_program(
        program, stack=STACK, config=config, preview=preview, mocks=CloudMocks(preview)
    )
    return run(recording, stack_config=config, pack_config=pack_config)


def tags(plane: str, cell: str | None = None, region: str = REGION) -> dict[str, str]:
    """Return the labels of the library, plain keys as AWS tags and GCP labels use them."""
    values = {"plane": plane, "region": region, "stack": STACK, "managed-by": "cellarch"}
    if cell is not None:
        values["cell"] = cell
    return values


def kube_labels(plane: str, cell: str | None = None, **extra: str) -> dict[str, str]:
    values = {
        "cellarch.io/plane": plane,
        "cellarch.io/region": REGION,
        "app.kubernetes.io/managed-by": "cellarch",
    }
    if cell is not None:
        values["cellarch.io/cell"] = cell
    return {**values, **extra}


def aws_provider() -> aws.Provider:
    return aws.Provider("aws", region=REGION)


def gcp_provider() -> gcp.Provider:
    return gcp.Provider("gcp", project=PROJECT, region=GCP_REGION)


def kube_provider(name: str = "cluster", depends_on: list[pulumi.Resource] | None = None):
    return k8s.Provider(
        name,
        kubeconfig="{}",
        opts=pulumi.ResourceOptions(depends_on=depends_on or []),
    )


# Sidecar, agent and collector configuration of a compliant data-plane pod.

APP_PORT = 3000
SIDECAR_PORT = 8443
AGENT_ADDRESS = "127.0.0.1:9191"
SPIFFE_PREFIX = "spiffe://cellarch.example/"


def tls_context(*, server: bool, spiffe: bool = True) -> dict[str, Any]:
    validation: dict[str, Any] = {"trusted_ca": {"filename": "/etc/certs/ca.pem"}}
    if spiffe:
        validation["match_typed_subject_alt_names"] = [
            {"san_type": "URI", "matcher": {"prefix": SPIFFE_PREFIX}}
        ]
    kind = "DownstreamTlsContext" if server else "UpstreamTlsContext"
    config: dict[str, Any] = {
        "@type": f"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.{kind}",
        "common_tls_context": {
            "tls_certificates": [
                {
                    "certificate_chain": {"filename": "/etc/certs/cert.pem"},
                    "private_key": {"filename": "/etc/certs/key.pem"},
                }
            ],
            "validation_context": validation,
        },
    }
    if server:
        config["require_client_certificate"] = True
    return {"name": "envoy.transport_sockets.tls", "typed_config": config}


def socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def static_cluster(name: str, host: str, port: int, tls: dict | None = None) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STATIC",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(host, port)}}]}],
        },
    }
    if tls is not None:
        cluster["transport_socket"] = tls
    return cluster


@dataclass
class Sidecar:
    """The knobs of a sidecar's Envoy bootstrap that the rules look at."""

    authz_host: str = "127.0.0.1"
    failure_mode_allow: bool = False
    ext_authz: bool = True
    listener_tls: bool = True
    listener_spiffe: bool = True
    upstreams: list[dict[str, Any]] = field(default_factory=list)

    def bootstrap(self) -> dict[str, Any]:
        http_filters = []
        if self.ext_authz:
            http_filters.append(
                {
                    "name": "envoy.filters.http.ext_authz",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http."
                        "ext_authz.v3.ExtAuthz",
                        "grpc_service": {"envoy_grpc": {"cluster_name": "policy_agent"}},
                        "failure_mode_allow": self.failure_mode_allow,
                    },
                }
            )
        http_filters.append({"name": "envoy.filters.http.router"})
        chain: dict[str, Any] = {
            "filters": [
                {
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                        "http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "inbound",
                        "route_config": {
                            "virtual_hosts": [
                                {
                                    "name": "app",
                                    "domains": ["*"],
                                    "routes": [
                                        {"match": {"prefix": "/"}, "route": {"cluster": "app"}}
                                    ],
                                }
                            ]
                        },
                        "http_filters": http_filters,
                    },
                }
            ]
        }
        if self.listener_tls:
            chain["transport_socket"] = tls_context(server=True, spiffe=self.listener_spiffe)
        agent_port = AGENT_ADDRESS.rsplit(":", 1)[1]
        return {
            "static_resources": {
                "listeners": [
                    {
                        "name": "inbound",
                        "address": socket("0.0.0.0", SIDECAR_PORT),
                        "filter_chains": [chain],
                    }
                ],
                "clusters": [
                    static_cluster("app", "127.0.0.1", APP_PORT),
                    static_cluster("policy_agent", self.authz_host, int(agent_port)),
                    *self.upstreams,
                ],
            }
        }


@dataclass
class Agent:
    """The knobs of a policy agent's OPA configuration that the rules look at."""

    plugin: str = "envoy_ext_authz_wasm"
    address: str = AGENT_ADDRESS
    persist: bool = True
    persistence_directory: str | None = "/var/opa"
    signing: bool = True

    def config(self) -> dict[str, Any]:
        bundle: dict[str, Any] = {"service": "bundles", "resource": "authz.tar.gz"}
        if self.persist:
            bundle["persist"] = True
        if self.signing:
            bundle["signing"] = {"keyid": "authz-es256"}
        config: dict[str, Any] = {
            "services": {"bundles": {"url": "https://bundles.example.com"}},
            "bundles": {"authz": bundle},
            "keys": {"authz-es256": {"algorithm": "ES256", "key": "-----BEGIN PUBLIC KEY-----"}},
            "plugins": {self.plugin: {"addr": self.address}},
        }
        if self.persistence_directory is not None:
            config["persistence_directory"] = self.persistence_directory
        return config


@dataclass
class Pod:
    """A data-plane workload: a service behind an Envoy sidecar and a policy agent."""

    name: str = "orders"
    cell: str | None = "cell-1"
    plane: str = "data"
    sidecar: Sidecar | None = field(default_factory=Sidecar)
    agent: Agent | None = field(default_factory=Agent)
    agent_args: list[str] = field(default_factory=list)
    persistence_volume: dict[str, Any] | None = field(
        default_factory=lambda: {"persistentVolumeClaim": {"claimName": "agent-bundles"}}
    )
    node_selector: dict[str, str] | None = None
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    service_target: int | str | None = SIDECAR_PORT
    service_type: str = "ClusterIP"
    env: list[dict[str, Any]] = field(default_factory=list)
    collector: dict[str, Any] | None = None
    collector_memory_limit: str | None = "256Mi"

    def __post_init__(self) -> None:
        if self.node_selector is None and self.plane == "data":
            self.node_selector = {"cellarch.io/plane": "data"}

    def create(self, provider: k8s.Provider, namespace: str = "cell") -> k8s.apps.v1.Deployment:
        """Register the pod's ConfigMap, Deployment and Service with `provider`."""
        options = pulumi.ResourceOptions(provider=provider)
        labels = kube_labels(self.plane, self.cell)
        metadata = {"name": self.name, "namespace": namespace, "labels": labels}
        data, containers, volumes = self._containers()

        k8s.core.v1.ConfigMap(
            f"{self.name}-config",
            metadata={**metadata, "name": f"{self.name}-config"},
            data=data,
            opts=options,
        )
        deployment = k8s.apps.v1.Deployment(
            self.name,
            metadata=metadata,
            spec={
                "selector": {"matchLabels": {"app": self.name}},
                "template": {
                    "metadata": {"labels": {**labels, "app": self.name}},
                    "spec": self._pod_spec(containers, volumes),
                },
            },
            opts=options,
        )
        if self.service_target is not None:
            k8s.core.v1.Service(
                f"{self.name}-service",
                metadata={**metadata, "name": self.name},
                spec={
                    "type": self.service_type,
                    "selector": {"app": self.name},
                    "ports": [{"port": 443, "targetPort": self.service_target}],
                },
                opts=options,
            )
        return deployment

    def _containers(self) -> tuple[dict[str, str], list[dict], list[dict]]:
        """Return the ConfigMap data, the containers and the volumes of the pod."""
        data: dict[str, str] = {}
        containers: list[dict[str, Any]] = [
            {
                "name": "app",
                "image": "example/app:1",
                "ports": [{"containerPort": APP_PORT}],
                "env": self.env,
            }
        ]
        volumes: list[dict[str, Any]] = [
            {"name": "config", "configMap": {"name": f"{self.name}-config"}}
        ]
        config_mount = {"name": "config", "mountPath": "/etc/config"}
        if self.sidecar is not None:
            data["envoy.yaml"] = yaml.safe_dump(self.sidecar.bootstrap())
            containers.append(
                {
                    "name": "envoy",
                    "image": "envoyproxy/envoy:v1.34",
                    "args": ["-c", "/etc/config/envoy.yaml"],
                    "ports": [{"containerPort": SIDECAR_PORT, "name": "inbound"}],
                    "volumeMounts": [config_mount],
                }
            )
        if self.agent is not None:
            data["agent.yaml"] = yaml.safe_dump(self.agent.config())
            mounts = [config_mount]
            if self.persistence_volume is not None:
                mounts.append({"name": "bundles", "mountPath": "/var/opa"})
                volumes.append({"name": "bundles", **self.persistence_volume})
            arguments = ["run", "--server", "--config-file=/etc/config/agent.yaml"]
            containers.append(
                {
                    "name": "policy-agent",
                    "image": "example/policy-agent:1",
                    "args": [*arguments, *self.agent_args],
                    "volumeMounts": mounts,
                }
            )
        if self.collector is not None:
            data["collector.yaml"] = yaml.safe_dump(self.collector)
            limits = {"memory": self.collector_memory_limit} if self.collector_memory_limit else {}
            containers.append(
                {
                    "name": "collector",
                    "image": "otel/opentelemetry-collector:0.120.0",
                    "args": ["--config", "/etc/config/collector.yaml"],
                    "volumeMounts": [config_mount],
                    "resources": {"limits": limits},
                }
            )
        return data, containers, volumes

    def _pod_spec(self, containers: list[dict], volumes: list[dict]) -> dict[str, Any]:
        pod_spec: dict[str, Any] = {"containers": containers, "volumes": volumes}
        if self.node_selector:
            pod_spec["nodeSelector"] = self.node_selector
        if self.tolerations:
            pod_spec["tolerations"] = self.tolerations
        return pod_spec


def bounded_collector(**exporter: Any) -> dict[str, Any]:
    """Return a collector configuration with a memory limiter and a bounded sending queue."""
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:4317"}}}},
        "processors": {"memory_limiter": {"limit_mib": 200, "check_interval": "1s"}},
        "exporters": {
            "otlp": {
                "endpoint": "gateway.observability:4317",
                "sending_queue": {"enabled": True, "queue_size": 1000},
                **exporter,
            }
        },
        "service": {
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter"],
                    "exporters": ["otlp"],
                }
            }
        },
    }
