"""The pack's configuration, in the format of `pulumi preview --policy-pack-config FILE`.

The file maps `all` or a policy's name to an enforcement level, or to an object with an
optional `enforcementLevel` and the policy's own properties:

    {"all": "mandatory", "i05-persistence-survives-pod": "disabled",
     "i07-cell-size-capped": {"enforcementLevel": "advisory", "maxCellUsers": 50000}}

A policy's own entry wins over `all`, and `all` over the level the policy declares.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from .pack import PACK_ENFORCEMENT_LEVEL, RULES_BY_NAME
from .property_checks import PolicyConfigError, check_properties

__all__ = ["ALL", "LEVELS", "PolicyConfigError", "PolicySettings", "load", "resolve"]

ALL = "all"
# Remediation does not apply: every policy of the pack validates and none rewrites inputs.
LEVELS = {
    level.value: level
    for level in (
        EnforcementLevel.ADVISORY,
        EnforcementLevel.MANDATORY,
        EnforcementLevel.DISABLED,
    )
}


@dataclass(frozen=True)
class PolicySettings:
    level: EnforcementLevel
    properties: dict[str, Any]


def load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise PolicyConfigError(f"cannot read policy config {path}: {error.strerror}") from None
    except ValueError as error:
        raise PolicyConfigError(f"policy config {path} is not valid JSON: {error}") from None
    return document


def resolve(config: Mapping[str, Any] | None) -> dict[str, PolicySettings]:
    """Return each policy's level and properties; raise PolicyConfigError on bad input."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise PolicyConfigError(
            f"policy config must be a JSON object of policy names, not {type(config).__name__}"
        )
    for name in config:
        if name != ALL and name not in RULES_BY_NAME:
            raise PolicyConfigError(
                f"policy config names unknown policy {name!r}; accepted: {ALL} or one of "
                + ", ".join(sorted(RULES_BY_NAME))
            )
    default = _level(ALL, config[ALL]) if ALL in config else None
    settings = {}
    for name, rule in RULES_BY_NAME.items():
        level = default or rule.level or PACK_ENFORCEMENT_LEVEL
        properties: dict[str, Any] = {}
        entry = config.get(name)
        if isinstance(entry, dict):
            if "enforcementLevel" in entry:
                level = _level(name, entry["enforcementLevel"])
            properties = check_properties(
                name,
                rule.config,
                {k: v for k, v in entry.items() if k != "enforcementLevel"},
            )
        elif entry is not None:
            level = _level(name, entry)
        settings[name] = PolicySettings(level, properties)
    return settings


def _level(name: str, value: Any) -> EnforcementLevel:
    if value not in LEVELS:
        raise PolicyConfigError(
            f"policy config {name}: enforcement level {value!r} is invalid; accepted: "
            + ", ".join(LEVELS)
        )
    return LEVELS[value]
