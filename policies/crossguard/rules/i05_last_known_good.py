"""I5 Last known good: agents persist the last activated bundle and start from it when the
repository is unreachable."""

from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..values import is_unknown
from ..view.agent import AgentConfig, is_agent_config, parse_agent_config
from ..view.graph import StackView
from ..view.model import ConfigMap, Container, Record, Workload
from ..view.pods import pod_configs
from .base import ADVISORY, MANDATORY, Rule
from .i02_no_synchronous_call import config_map_documents


def persistence_problems(config: AgentConfig) -> list[str]:
    problems = []
    if config.persistence_directory is None:
        problems.append("persistence_directory is not set")
    for bundle in config.bundles:
        if not bundle.persist:
            problems.append(f"bundle {bundle.name} does not set persist: true")
    return problems


def check_agent_persists(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:
    for config_map in (r for r in records if isinstance(r, ConfigMap)):
        for key, document in config_map_documents(config_map, findings):
            if is_agent_config(document):
                for problem in persistence_problems(parse_agent_config(document)):
                    findings.violation(f"{config_map.ref.title} ({key}): {problem}")


def _persistence_mount(agent: Container, directory: str) -> Any:
    if is_unknown(agent.mounts):
        return None
    best = None
    for mount in agent.mounts:
        prefix = str(mount.path).rstrip("/")
        inside = directory == prefix or directory.startswith(prefix + "/")
        if inside and (best is None or len(prefix) > len(str(best.path).rstrip("/"))):
            best = mount
    return best


def _agents(view: StackView, findings: Findings):
    for workload in view.records(Workload):
        configs = pod_configs(view, workload)
        for item in configs.unknown:
            findings.unknown(workload.ref.title, item)
        for agent, config in configs.agents:
            if config.persistence_directory is not None:
                yield workload, agent, config.persistence_directory


def check_persistence_on_volume(
    view: StackView, findings: Findings, _config: Mapping[str, Any]
) -> None:
    for workload, agent, directory in _agents(view, findings):
        mount = _persistence_mount(agent, directory)
        if mount is None:
            findings.violation(
                f"{workload.ref.title}: agent {agent.name} persists bundles in {directory}, "
                "which is on no volume, so a restart of the container loses them",
                workload.ref.urn,
            )
        elif mount.read_only:
            findings.violation(
                f"{workload.ref.title}: agent {agent.name} persists bundles in {directory}, "
                f"which is mounted read-only from volume {mount.volume}",
                workload.ref.urn,
            )


def check_persistence_survives_pod(
    view: StackView, findings: Findings, _config: Mapping[str, Any]
) -> None:
    for workload, agent, directory in _agents(view, findings):
        mount = _persistence_mount(agent, directory)
        if mount is None or is_unknown(workload.pod.volumes):
            continue
        volume = workload.pod.volumes.get(mount.volume)
        if volume is not None and volume.source == "emptyDir":
            findings.violation(
                f"{workload.ref.title}: agent {agent.name} persists bundles on emptyDir volume "
                f"{mount.volume}, which a new pod starts without; until the repository is "
                "reachable again such a pod denies every request",
                workload.ref.urn,
            )


RULES = [
    Rule(
        name="i05-agent-persists-bundles",
        invariant="I5",
        description=(
            "Agents persist every bundle they activate, so they restart from the last known good "
            "one."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "agent configurations: persistence_directory set and persist: true on "
            "every bundle",
        },
        resource_check=check_agent_persists,
    ),
    Rule(
        name="i05-persistence-on-volume",
        invariant="I5",
        description=(
            "The agent's persistence directory is on a writable volume, which outlives a restart "
            "of the agent container."
        ),
        level=MANDATORY,
        checks={
            "kubernetes": "the agent container mounts a writable volume at its persistence "
            "directory",
        },
        stack_check=check_persistence_on_volume,
    ),
    Rule(
        name="i05-persistence-survives-pod",
        invariant="I5",
        description=(
            "The persisted bundle outlives the pod, so a rescheduled pod starts from it too."
        ),
        level=ADVISORY,
        checks={
            "kubernetes": "the persistence volume is not an emptyDir (a judgement call: a "
            "persistent volume per pod costs a claim per replica)",
        },
        stack_check=check_persistence_survives_pod,
    ),
]
