"""The drills in the order `scripts/drills all` runs them."""

from __future__ import annotations

import importlib
from types import ModuleType

# Module names under drills/, each with NAME, TITLE and run(result, run_dir, quick).
DRILL_MODULES = (
    "repository_outage",
    "repository_down_at_start",
    "late_binding",
    "tampered_bundle",
    "corrupt_persisted_bundle",
    "agent_down_or_slow",
    "cell_down",
    "hostile_requests",
)


def drill_modules() -> list[ModuleType]:
    return [importlib.import_module(f"drills.{name}") for name in DRILL_MODULES]


def drill_names() -> list[str]:
    return [module.NAME for module in drill_modules()]


def drill_module(name: str) -> ModuleType:
    for module in drill_modules():
        if name == module.NAME:
            return module
    raise KeyError(name)
