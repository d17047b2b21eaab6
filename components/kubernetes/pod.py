"""The pod of a data-plane service: the service, its Envoy sidecar, policy agent and collector.

Each pod runs four containers that share its network namespace:
- the service, which its sidecar reaches on loopback;
- Envoy, which authorizes every request with ext_authz against the pod's agent on
  loopback and fails closed (I2, I3), and terminates and originates SPIFFE mTLS (I8);
- the policy agent, which verifies bundle signatures with the deployed key (I4) and keeps
  the last bundle in a persistence directory on a volume (I5);
- the OpenTelemetry collector, which the service exports to on loopback (I9).

The pod is pinned to the data-plane node pool by node selector and toleration (I1).
"""

import hashlib
from dataclasses import dataclass

from components.cloud.base import DATA_PLANE, PLANE_LABEL_KEY
from components.kubernetes import collector
from components.kubernetes.args import ServiceSpec
from components.kubernetes.mtls import SPIRE_SOCKET_DIRECTORY
from components.kubernetes.ports import (
    AGENT_DIAGNOSTIC_PORT,
    EDGE_PORT,
    MESH_PORT,
)
from components.telemetry import trust

ENVOY_CONFIG_DIR = "/etc/envoy"
AGENT_CONFIG_DIR = "/etc/policy-agent"
AGENT_CONFIG_FILE = f"{AGENT_CONFIG_DIR}/config.yaml"
AGENT_PERSISTENCE_DIR = "/var/lib/policy-agent"
COLLECTOR_CONFIG_DIR = "/etc/otelcol"
# Non-root identity of every container; the images run unprivileged under any uid.
RUN_AS_USER = 65532

APP_NAME_LABEL = "app.kubernetes.io/name"
DATABASE_SECRET_KEYS = {
    "PGHOST": "host",
    "PGPORT": "port",
    "PGDATABASE": "dbname",
    "PGUSER": "username",
    "PGPASSWORD": "password",
}


@dataclass(frozen=True)
class PodInputs:
    """Inputs of the pod template of one service."""

    service: ServiceSpec
    cell: str
    region: str
    namespace: str
    labels: dict[str, str]
    """Labels of the pod: the cell's Kubernetes labels and the service's selector label."""
    envoy_image: str
    agent_image: str
    collector_image: str
    agent_args: list[str]
    envoy_config_map: str
    agent_config_map: str
    collector_config_map: str
    collector_tls_secret: str | None
    """Secret with the cell's client certificate for the gateway; None without mutual TLS."""
    database_secret: str | None
    config_digest: str
    """Digest of the pod's configuration, so that a change rolls the pods."""
    upstream_ports: dict[str, int]
    """Loopback port of the outbound listener for each called service."""


def digest(*documents: str) -> str:
    return hashlib.sha256("\n---\n".join(documents).encode()).hexdigest()


def data_plane_scheduling() -> dict:
    """Return the node selector and toleration that put a pod on the data-plane pool (I1)."""
    return {
        "node_selector": {PLANE_LABEL_KEY: DATA_PLANE},
        "tolerations": [
            {
                "key": PLANE_LABEL_KEY,
                "operator": "Equal",
                "value": DATA_PLANE,
                "effect": "NoSchedule",
            }
        ],
    }


def pod_template(inputs: PodInputs) -> dict:
    service = inputs.service
    return {
        "metadata": {
            "labels": inputs.labels,
            "annotations": {"cellarch.io/config-sha256": inputs.config_digest},
        },
        "spec": {
            "service_account_name": service.name,
            # The service account's API token is not needed: the agents get cloud
            # credentials from the projected IRSA token or the GKE metadata server.
            "automount_service_account_token": False,
            "security_context": {
                "run_as_non_root": True,
                "run_as_user": RUN_AS_USER,
                "run_as_group": RUN_AS_USER,
                "fs_group": RUN_AS_USER,
                "seccomp_profile": {"type": "RuntimeDefault"},
            },
            **data_plane_scheduling(),
            "topology_spread_constraints": [
                {
                    "max_skew": 1,
                    "topology_key": "topology.kubernetes.io/zone",
                    "when_unsatisfiable": "ScheduleAnyway",
                    "label_selector": {"match_labels": {APP_NAME_LABEL: service.name}},
                }
            ],
            "termination_grace_period_seconds": 30,
            "containers": [
                _service_container(inputs),
                _envoy_container(inputs),
                _agent_container(inputs),
                _collector_container(inputs),
            ],
            "volumes": [
                {"name": "envoy-config", "config_map": {"name": inputs.envoy_config_map}},
                {"name": "agent-config", "config_map": {"name": inputs.agent_config_map}},
                # NOTE: an emptyDir survives restarts of the agent container but not the
                # pod, so a new pod starts only once the repository is reachable again.
                # Until then its agent has no bundle, and the sidecar denies (fail closed).
                {"name": "agent-bundles", "empty_dir": {"size_limit": "64Mi"}},
                {"name": "collector-config", "config_map": {"name": inputs.collector_config_map}},
                {
                    "name": "spiffe-workload-api",
                    "csi": {"driver": "csi.spiffe.io", "read_only": True},
                },
                *_collector_tls_volumes(inputs),
            ],
        },
    }


def _hardened(read_only_root: bool = True) -> dict:
    return {
        "allow_privilege_escalation": False,
        "read_only_root_filesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
    }


def _service_container(inputs: PodInputs) -> dict:
    service = inputs.service
    env = [
        {"name": "PORT", "value": str(service.port)},
        {"name": "CELL", "value": inputs.cell},
        {"name": "REGION", "value": inputs.region},
        {"name": "OTEL_SERVICE_NAME", "value": service.name},
        {
            "name": "OTEL_EXPORTER_OTLP_ENDPOINT",
            "value": f"http://127.0.0.1:{collector.OTLP_GRPC_PORT}",
        },
    ]
    for callee, port in inputs.upstream_ports.items():
        variable = "UPSTREAM_" + callee.upper().replace("-", "_") + "_URL"
        env.append({"name": variable, "value": f"http://127.0.0.1:{port}"})
    if inputs.database_secret is not None and service.uses_database:
        for variable, key in DATABASE_SECRET_KEYS.items():
            env.append(
                {
                    "name": variable,
                    "value_from": {"secret_key_ref": {"name": inputs.database_secret, "key": key}},
                }
            )
        env.append({"name": "PGSSLMODE", "value": "require"})
    probe = {"http_get": {"path": service.health_path, "port": service.port}}
    return {
        "name": service.name,
        "image": service.image,
        "ports": [{"name": "app", "container_port": service.port}],
        "env": env,
        "readiness_probe": {**probe, "period_seconds": 5},
        "liveness_probe": {**probe, "period_seconds": 10, "failure_threshold": 6},
        "resources": {
            "requests": {"cpu": service.cpu, "memory": service.memory},
            "limits": {"memory": service.memory},
        },
        # The service's image is not ours, so it may need a writable root filesystem.
        "security_context": _hardened(read_only_root=False),
    }


def _envoy_container(inputs: PodInputs) -> dict:
    ports = [{"name": "mesh", "container_port": MESH_PORT}]
    if inputs.service.public:
        ports.append({"name": "edge", "container_port": EDGE_PORT})
    return {
        "name": "envoy",
        "image": inputs.envoy_image,
        "command": ["envoy"],
        "args": ["--config-path", f"{ENVOY_CONFIG_DIR}/envoy.yaml", "--log-level", "info"],
        "ports": ports,
        # The mesh port only accepts mTLS, so the probe checks that the listener is open.
        "readiness_probe": {"tcp_socket": {"port": MESH_PORT}, "period_seconds": 5},
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "volume_mounts": [
            {"name": "envoy-config", "mount_path": ENVOY_CONFIG_DIR, "read_only": True},
            {
                "name": "spiffe-workload-api",
                "mount_path": SPIRE_SOCKET_DIRECTORY,
                "read_only": True,
            },
        ],
        "security_context": _hardened(),
    }


def _agent_container(inputs: PodInputs) -> dict:
    return {
        "name": "policy-agent",
        "image": inputs.agent_image,
        "args": inputs.agent_args,
        "ports": [{"name": "diagnostic", "container_port": AGENT_DIAGNOSTIC_PORT}],
        # Ready only once a verified bundle is active, so no pod takes traffic that its
        # agent would deny for lack of a policy.
        "readiness_probe": {
            "http_get": {"path": "/health?bundles=true", "port": AGENT_DIAGNOSTIC_PORT},
            "period_seconds": 5,
        },
        "liveness_probe": {
            "http_get": {"path": "/health", "port": AGENT_DIAGNOSTIC_PORT},
            "period_seconds": 10,
            "failure_threshold": 6,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "volume_mounts": [
            {"name": "agent-config", "mount_path": AGENT_CONFIG_DIR, "read_only": True},
            {"name": "agent-bundles", "mount_path": AGENT_PERSISTENCE_DIR},
        ],
        "security_context": _hardened(),
    }


def _collector_container(inputs: PodInputs) -> dict:
    return {
        "name": "otel-collector",
        "image": inputs.collector_image,
        "args": [f"--config={COLLECTOR_CONFIG_DIR}/config.yaml"],
        "env": [{"name": "GOMEMLIMIT", "value": f"{collector.MEMORY_LIMITER_MIB}MiB"}],
        "ports": [{"name": "otel-health", "container_port": collector.HEALTH_PORT}],
        "readiness_probe": {
            "http_get": {"path": "/", "port": collector.HEALTH_PORT},
            "period_seconds": 5,
        },
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"memory": f"{collector.MEMORY_LIMIT_MIB}Mi"},
        },
        "volume_mounts": [
            {"name": "collector-config", "mount_path": COLLECTOR_CONFIG_DIR, "read_only": True},
            *_collector_tls_mounts(inputs),
        ],
        "security_context": _hardened(),
    }


def _collector_tls_volumes(inputs: PodInputs) -> list[dict]:
    if inputs.collector_tls_secret is None:
        return []
    # Readable by the pod's group (fs_group) only: 0o440.
    secret = {"secret_name": inputs.collector_tls_secret, "default_mode": 0o440}
    return [{"name": "collector-tls", "secret": secret}]


def _collector_tls_mounts(inputs: PodInputs) -> list[dict]:
    if inputs.collector_tls_secret is None:
        return []
    return [{"name": "collector-tls", "mount_path": trust.TLS_DIRECTORY, "read_only": True}]
