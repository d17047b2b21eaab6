"""I3 Local, compiled policy: every data-plane workload runs behind an Envoy sidecar whose
authorization filter asks the pod's policy agent, which evaluates the WebAssembly module of
the active bundle. A failing agent denies the request (fail closed)."""

from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..view.agent import REGO_PLUGIN, WASM_PLUGIN, is_agent_config, parse_agent_config
from ..view.envoy import EnvoyBootstrap
from ..view.graph import StackView
from ..view.model import ConfigMap, Container, Record, Workload
from ..view.pods import PodConfigs, is_data_plane, pod_configs
from .base import MANDATORY, Rule
from .i02_no_synchronous_call import bootstraps, config_map_documents


def bootstrap_problems(bootstrap: EnvoyBootstrap) -> list[str]:
    """Return what lets a request past the sidecar without a decision of the agent."""
    problems = []
    for listener in bootstrap.listeners:
        if listener.endpoint.is_local:
            continue  # Outbound listeners on loopback serve the pod's own calls.
        for index, chain in enumerate(listener.chains):
            if not bootstrap.fronts_local_service(chain):
                continue
            if not chain.http:
                problems.append(
                    f"listener {listener.name} chain {index} is not HTTP and skips ext_authz"
                )
                continue
            if not chain.authz:
                problems.append(f"listener {listener.name} has no ext_authz filter")
            for authz in chain.authz:
                if authz.failure_mode_allow:
                    problems.append(
                        f"listener {listener.name} sets failure_mode_allow: true (fails open)"
                    )
            for route in chain.routes_without_authz:
                problems.append(f"listener {listener.name} disables ext_authz on {route}")
    return problems


def check_sidecar_fails_closed(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:
    for config_map, key, bootstrap in bootstraps(records, findings):
        for problem in bootstrap_problems(bootstrap):
            findings.violation(f"{config_map.ref.title} ({key}): {problem}")


def check_agent_evaluates_wasm(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:

    for config_map in (r for r in records if isinstance(r, ConfigMap)):
        for key, document in config_map_documents(config_map, findings):
            if not is_agent_config(document):
                continue
            config = parse_agent_config(document)
            where = f"{config_map.ref.title} ({key})"
            if config.plugin == REGO_PLUGIN:
                findings.violation(
                    f"{where}: plugin {REGO_PLUGIN} evaluates Rego; use {WASM_PLUGIN}, which "
                    "evaluates the bundle's WebAssembly module"
                )
            elif config.plugin is None:
                findings.violation(f"{where}: no {WASM_PLUGIN} plugin answers the sidecar")
            if not config.bundles:
                findings.violation(f"{where}: no bundle configured, so the agent has no policy")


def check_workload_behind_sidecar(
    view: StackView, findings: Findings, _config: Mapping[str, Any]
) -> None:
    for workload in view.records(Workload):
        if not is_data_plane(workload, findings):
            continue
        configs = pod_configs(view, workload)
        for item in configs.unknown:
            findings.unknown(workload.ref.title, item)
        for item in configs.missing:
            findings.violation(f"{workload.ref.title}: {item}", workload.ref.urn)
        if configs.unknown:
            continue
        if not _application_containers(workload, configs):
            continue  # A pod of proxies only, such as the router, serves no requests itself.
        if not configs.sidecars:
            findings.violation(
                f"{workload.ref.title}: data-plane pods run no Envoy sidecar", workload.ref.urn
            )
        for sidecar, bootstrap in configs.sidecars:
            for problem in bootstrap_problems(bootstrap):
                findings.violation(
                    f"{workload.ref.title}: sidecar {sidecar.name}: {problem}", workload.ref.urn
                )
        if not configs.agents:
            findings.violation(
                f"{workload.ref.title}: data-plane pods run no policy agent", workload.ref.urn
            )
        for agent, config in configs.agents:
            if config.plugin != WASM_PLUGIN:
                findings.violation(
                    f"{workload.ref.title}: policy agent {agent.name} does not evaluate the "
                    f"bundle's WebAssembly module (plugin {config.plugin or 'missing'})",
                    workload.ref.urn,
                )


def _application_containers(workload: Workload, configs: PodConfigs) -> list[Container]:
    infrastructure = {
        id(container) for container, _ in (*configs.sidecars, *configs.agents, *configs.collectors)
    }
    return [c for c in workload.pod.containers if id(c) not in infrastructure]


RULES = [
    Rule(
        name="i03-sidecar-fails-closed",
        invariant="I3",
        description="Every inbound listener of a sidecar passes ext_authz, which fails closed.",
        level=MANDATORY,
        checks={
            "kubernetes": "Envoy bootstraps in ConfigMaps: every non-loopback listener runs "
            "ext_authz with failure_mode_allow false and no route that disables it",
        },
        resource_check=check_sidecar_fails_closed,
    ),
    Rule(
        name="i03-agent-evaluates-wasm",
        invariant="I3",
        description="The policy agent answers the sidecar from the bundle's WebAssembly module.",
        level=MANDATORY,
        checks={
            "kubernetes": f"agent configurations in ConfigMaps: the {WASM_PLUGIN} plugin and at "
            "least one bundle",
        },
        resource_check=check_agent_evaluates_wasm,
    ),
    Rule(
        name="i03-data-workload-behind-sidecar",
        invariant="I3",
        description=(
            "Every data-plane workload runs an Envoy sidecar and a policy agent in each pod."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "data-plane workloads: an Envoy container and a policy agent container "
            "whose mounted configurations meet the two rules above",
        },
        stack_check=check_workload_behind_sidecar,
    ),
]
