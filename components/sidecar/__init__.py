"""Configuration generator of the Envoy sidecar, the policy agent and the router.

Pure Python, returning plain dicts: the local region and the Kubernetes manifests use the
same generator, so what runs locally is what ships. It never imports Pulumi.
"""

from components.sidecar.agent import (
    AgentSpec,
    GcsRepository,
    S3Repository,
    agent_args,
    agent_config,
    bundle_object_key,
)
from components.sidecar.envoy_router import RouterCell, RouterSpec, router_bootstrap
from components.sidecar.envoy_sidecar import SidecarSpec, sidecar_bootstrap
from components.sidecar.errors import SpecError
from components.sidecar.yaml_dump import dump_yaml, write_yaml

__all__ = [
    "AgentSpec",
    "GcsRepository",
    "RouterCell",
    "RouterSpec",
    "S3Repository",
    "SidecarSpec",
    "SpecError",
    "agent_args",
    "agent_config",
    "bundle_object_key",
    "dump_yaml",
    "router_bootstrap",
    "sidecar_bootstrap",
    "write_yaml",
]
