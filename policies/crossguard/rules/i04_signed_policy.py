"""I4 Signed policy: an agent activates only a bundle whose signature verifies against the
key it was deployed with."""

from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..values import is_unknown
from ..view.agent import (
    SKIP_VERIFY_FLAGS,
    AgentConfig,
    is_agent_config,
    parse_agent_config,
    skips_verification,
)
from ..view.model import ConfigMap, Record, Workload
from .base import MANDATORY, Rule
from .i02_no_synchronous_call import config_map_documents


def signing_problems(config: AgentConfig) -> list[str]:
    problems = []
    for bundle in config.bundles:
        if bundle.signing_key_id is None:
            problems.append(f"bundle {bundle.name} has no signing.keyid, so OPA skips verification")
            continue
        key = config.keys.get(bundle.signing_key_id)
        if key is None:
            problems.append(
                f"bundle {bundle.name} names signing key {bundle.signing_key_id}, "
                "which keys does not define"
            )
        elif not isinstance(key.get("key"), str) or not key["key"].strip():
            problems.append(f"signing key {bundle.signing_key_id} has no key material")
    return problems


def check_bundles_signed(
    records: list[Record], findings: Findings, _config: Mapping[str, Any]
) -> None:
    for config_map in (r for r in records if isinstance(r, ConfigMap)):
        for key, document in config_map_documents(config_map, findings):
            if is_agent_config(document):
                for problem in signing_problems(parse_agent_config(document)):
                    findings.violation(f"{config_map.ref.title} ({key}): {problem}")
    for workload in (r for r in records if isinstance(r, Workload)):
        if is_unknown(workload.pod) or is_unknown(workload.pod.containers):
            findings.unknown(workload.ref.title, "containers")
            continue
        for container in workload.pod.containers:
            arguments = []
            for part in (container.command, container.args):
                if is_unknown(part):
                    findings.unknown(workload.ref.title, f"arguments of container {container.name}")
                    break
                arguments.extend(part)
            if skips_verification(arguments):
                findings.violation(
                    f"{workload.ref.title}: container {container.name} runs with "
                    f"{SKIP_VERIFY_FLAGS[0]}, which activates bundles without checking signatures"
                )


RULES = [
    Rule(
        name="i04-bundles-signed",
        invariant="I4",
        description="Every bundle an agent loads is verified against the key it was deployed with.",
        level=MANDATORY,
        checks={
            "kubernetes": "agent configurations: each bundle names a signing key that the "
            "configuration defines with key material; no container runs with --skip-verify",
        },
        resource_check=check_bundles_signed,
    ),
]
