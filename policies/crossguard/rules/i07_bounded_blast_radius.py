"""I7 Bounded blast radius: cell size is capped by configuration, and a change rolls out
cell by cell in waves, a canary cell first."""

from collections.abc import Mapping
from typing import Any

from ..findings import Findings
from ..values import as_int, is_unknown
from ..view.graph import CELL_COMPONENT, StackView
from ..view.mapping import COMPONENT_PACKAGE
from ..view.model import Component
from .base import MANDATORY, Rule

REGION_COMPONENT = f"{COMPONENT_PACKAGE}:index:Region"
DEFAULT_MAX_CELL_USERS = 20_000
DEFAULT_MAX_WAVE_SIZE = 4


def _components(view: StackView, type_token: str) -> list[Component]:
    return [c for c in view.records(Component) if c.ref.type == type_token]


def check_cell_size(view: StackView, findings: Findings, config: Mapping[str, Any]) -> None:
    cap = config.get("maxCellUsers", DEFAULT_MAX_CELL_USERS)
    for cell in _components(view, CELL_COMPONENT):
        users = cell.values.get("users")
        if is_unknown(users):
            findings.unknown(cell.ref.title, "users")
            continue
        count = as_int(users)
        if count is None:
            findings.violation(
                f"{cell.ref.title}: declares no users output, so its size is not capped",
                cell.ref.urn,
            )
        elif count > cap:
            findings.violation(
                f"{cell.ref.title}: sized for {count} users, above the cap of {cap}; add a "
                "cell instead",
                cell.ref.urn,
            )


def check_rollout_waves(view: StackView, findings: Findings, config: Mapping[str, Any]) -> None:
    max_wave = config.get("maxWaveSize", DEFAULT_MAX_WAVE_SIZE)
    for region in _components(view, REGION_COMPONENT):
        waves = region.values.get("rollout_waves")
        canary = region.values.get("canary")
        if is_unknown(waves) or is_unknown(canary):
            findings.unknown(region.ref.title, "rollout_waves")
            continue
        cells = [
            view.cell_components()[c.ref.urn]
            for c in _components(view, CELL_COMPONENT)
            if region.ref.urn in view.ancestors(c.ref.urn)
        ]
        for problem in wave_problems(waves, canary, cells, max_wave):
            findings.violation(f"{region.ref.title}: {problem}", region.ref.urn)


def wave_problems(waves: Any, canary: Any, cells: list[str], max_wave: int) -> list[str]:
    """Return what is wrong with a rollout plan: canary alone first, every cell once."""
    if not isinstance(waves, list) or not waves or not all(isinstance(w, list) for w in waves):
        return ["declares no rollout_waves output, so nothing orders a change by cell"]
    problems = []
    if waves[0] != [canary]:
        problems.append(f"the first wave is {waves[0]}, not the canary cell {canary!r} alone")
    seen: list[str] = [cell for wave in waves for cell in wave]
    for cell in sorted({c for c in seen if seen.count(c) > 1}):
        problems.append(f"cell {cell} is in more than one wave")
    for cell in sorted(set(cells) - set(seen)):
        problems.append(f"cell {cell} is in no wave")
    for index, wave in enumerate(waves[1:], start=1):
        if len(wave) > max_wave:
            problems.append(
                f"wave {index} holds {len(wave)} cells, above the maximum of {max_wave}"
            )
    return problems


RULES = [
    Rule(
        name="i07-cell-size-capped",
        invariant="I7",
        description="Every cell is sized for at most the configured number of users.",
        level=MANDATORY,
        checks={
            "aws": "the users output of each Cell component against maxCellUsers",
            "gcp": "the users output of each Cell component against maxCellUsers",
        },
        stack_check=check_cell_size,
        config={
            "maxCellUsers": {
                "type": "integer",
                "minimum": 1,
                "description": "Most users a cell may be sized for.",
                "default": DEFAULT_MAX_CELL_USERS,
            }
        },
    ),
    Rule(
        name="i07-rollout-in-waves",
        invariant="I7",
        description=(
            "A change reaches the canary cell alone first, then the other cells in bounded waves."
        ),
        level=MANDATORY,
        checks={
            "aws": "the canary and rollout_waves outputs of each Region component: the canary "
            "alone first, every cell once, no wave above maxWaveSize",
            "gcp": "as on AWS",
        },
        stack_check=check_rollout_waves,
        config={
            "maxWaveSize": {
                "type": "integer",
                "minimum": 1,
                "description": "Most cells one wave after the canary may hold.",
                "default": DEFAULT_MAX_WAVE_SIZE,
            }
        },
    ),
]
