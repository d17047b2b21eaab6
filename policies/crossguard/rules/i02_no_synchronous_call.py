"""I2 No synchronous cross-plane call: a sidecar's authorization call goes to loopback or a
Unix socket, to the policy agent of its own pod. Nothing on a request's path waits on the
control or governance plane; the agent fetches bundles in the background."""

from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..values import is_unknown
from ..view.agent import AgentConfig
from ..view.documents import InvalidDocument, parse_yaml
from ..view.envoy import Endpoint, EnvoyBootstrap, is_bootstrap, parse_bootstrap
from ..view.graph import StackView
from ..view.model import ConfigMap, Container, Record, Workload
from ..view.pods import pod_configs, shares_volume
from .base import MANDATORY, Rule


def config_map_documents(config_map: ConfigMap, findings: Findings) -> list[tuple[str, Any]]:
    """Return the parsed documents of a ConfigMap, naming the keys whose text is unknown."""
    if is_unknown(config_map.data):
        findings.unknown(config_map.ref.title, "data")
        return []
    documents = []
    for key, text in config_map.data.items():
        if is_unknown(text):
            findings.unknown(config_map.ref.title, f"data.{key}")
            continue
        if not isinstance(text, str):
            continue
        try:
            documents.append((key, parse_yaml(text)))
        except InvalidDocument:
            continue
    return documents


def bootstraps(
    records: list[Record], findings: Findings
) -> list[tuple[ConfigMap, str, EnvoyBootstrap]]:
    found = []
    for config_map in (r for r in records if isinstance(r, ConfigMap)):
        for key, document in config_map_documents(config_map, findings):
            if is_bootstrap(document):
                found.append((config_map, key, parse_bootstrap(document)))
    return found


def authz_targets(bootstrap: EnvoyBootstrap) -> list[tuple[str, str, tuple[Endpoint, ...] | None]]:
    """Return (listener, target, endpoints) for every ext_authz filter; endpoints None when
    the target names no cluster of the bootstrap."""
    found = []
    for listener in bootstrap.listeners:
        for chain in listener.chains:
            for authz in chain.authz:
                if authz.remote_uri is not None and authz.cluster is None:
                    found.append((listener.name, authz.target, None))
                    continue
                cluster = bootstrap.clusters.get(authz.cluster or "")
                found.append((listener.name, authz.target, cluster.endpoints if cluster else None))
    return found


def check_authz_target(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:
    for config_map, key, bootstrap in bootstraps(records, findings):
        where = f"{config_map.ref.title} ({key})"
        for listener, target, endpoints in authz_targets(bootstrap):
            if endpoints is None:
                findings.violation(
                    f"{where}: listener {listener} sends its authorization call to {target}, "
                    "which is not a loopback or Unix socket cluster of this bootstrap"
                )
                continue
            if not endpoints:
                findings.violation(
                    f"{where}: listener {listener} authorizes against {target}, which has no "
                    "endpoint"
                )
            for endpoint in endpoints:
                if not endpoint.is_local:
                    findings.violation(
                        f"{where}: listener {listener} sends its authorization call to "
                        f"{endpoint}, which leaves the pod; use loopback or a Unix socket"
                    )


def _agent_serves(
    endpoint: Endpoint, sidecar: Container, agent: Container, config: AgentConfig
) -> bool:
    address = config.authz_address
    if address is None:
        return False
    if endpoint.pipe:
        return address == f"unix://{endpoint.pipe}" and shares_volume(sidecar, agent, endpoint.pipe)
    host, _, port = address.rpartition(":")
    return endpoint.port is not None and port == str(endpoint.port) and Endpoint(host=host).is_local


def check_agent_in_pod(view: StackView, findings: Findings, _config: Mapping[str, Any]) -> None:
    for workload in view.records(Workload):
        configs = pod_configs(view, workload)
        for item in configs.unknown:
            findings.unknown(workload.ref.title, item)
        for sidecar, bootstrap in configs.sidecars:
            for listener, _target, endpoints in authz_targets(bootstrap):
                for endpoint in endpoints or ():
                    if not endpoint.is_local:
                        continue  # i02-authz-target-local reports it on the ConfigMap.
                    served = any(
                        _agent_serves(endpoint, sidecar, agent, config)
                        for agent, config in configs.agents
                    )
                    if served or configs.unknown:
                        # An agent whose configuration is not known yet may be the one.
                        continue
                    findings.violation(
                        f"{workload.ref.title}: sidecar {sidecar.name} listener {listener} "
                        f"authorizes against {endpoint}, but no policy agent in the pod "
                        "listens there",
                        workload.ref.urn,
                    )


RULES = [
    Rule(
        name="i02-authz-target-local",
        invariant="I2",
        description=(
            "A sidecar's authorization call targets loopback or a Unix socket, never another host."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "Envoy bootstraps in ConfigMaps: every ext_authz filter's cluster "
            "has only loopback or Unix socket endpoints",
        },
        resource_check=check_authz_target,
    ),
    Rule(
        name="i02-authz-agent-in-pod",
        invariant="I2",
        description="The authorization target of each sidecar is the policy agent of its own pod.",
        level=MANDATORY,
        checks={
            "kubernetes": "each workload's Envoy ext_authz endpoint against the address of a "
            "policy agent container in the same pod (a Unix socket on a volume both mount)",
        },
        stack_check=check_agent_in_pod,
    ),
]
