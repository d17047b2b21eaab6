"""The reference program of each shipped stack on the mock engine, and checks of its values.

Each stack runs once per mode and test session, because a run takes several seconds. Tests
read the recorded inputs, which are plain values, instead of applying functions to Outputs:
an `apply` on an unknown Output never runs during a preview, so an assertion inside it would
pass without checking anything. `known` fails on a value the engine does not know yet.
"""

import functools
import runpy
from typing import Any

import pytest

from offline import UNKNOWN, ProgramFailed, Recording, ResourceRecord, run_program
from offline.inventory import CELL_TYPE, NO_CELL, cell_names, place_resources
from offline.stack_config import PROGRAM, load_stack_config

STACKS = ("aws-us-east-1", "aws-eu-west-1", "gcp-europe-west1")
CLOUD_OF_STACK = {"aws-us-east-1": "aws", "aws-eu-west-1": "aws", "gcp-europe-west1": "gcp"}
REGION_OF_STACK = {
    "aws-us-east-1": "us-east-1",
    "aws-eu-west-1": "eu-west-1",
    "gcp-europe-west1": "europe-west1",
}
CELLS_OF_STACK = {
    "aws-us-east-1": ["cell-1", "cell-2", "cell-3", "cell-4"],
    "aws-eu-west-1": ["dublin-1", "dublin-2", "dublin-3"],
    "gcp-europe-west1": ["brussels-1", "brussels-2", "brussels-3"],
}
COMPONENT_TYPES = (
    "cellarch:index:Region",
    "cellarch:index:Cell",
    "cellarch:index:CellWorkloads",
    "cellarch:index:GovernancePlane",
    "cellarch:index:ObservabilityStack",
)
STACK_MODES = [
    pytest.param((stack, preview), id=f"{stack}-{'preview' if preview else 'update'}")
    for stack in STACKS
    for preview in (True, False)
]


def run_stack(stack: str, preview: bool) -> Recording:
    """Run `__main__.py` with the stack's config, once per stack and mode.

    A failed run is kept too and raised again, so the tests of a failing stack do not each
    run it anew.
    """
    outcome = _run_stack_once(stack, preview)
    if isinstance(outcome, ProgramFailed):
        raise outcome
    return outcome


@functools.cache
def _run_stack_once(stack: str, preview: bool) -> Recording | ProgramFailed:
    try:
        return run_program(
            lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
            stack=stack,
            config=load_stack_config(stack),
            preview=preview,
        )
    except ProgramFailed as failure:
        return failure


def known(value: Any, description: str) -> Any:
    """Return `value`, failing the test if it or anything inside it is unknown."""
    assert not _contains_unknown(value), f"{description} is unknown: {value!r}"
    return value


def _contains_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(item) for item in value)
    return value == UNKNOWN


def cells_of(recording: Recording) -> dict[str, list[ResourceRecord]]:
    """Return each cell's resources (the Cell and everything under it), in configured order."""
    cells = {cell.name: cell for cell in recording.of_type(CELL_TYPE)}
    return {
        name: [cells[name], *recording.descendants(cells[name].urn)]
        for name in cell_names(recording)
    }


def outside_cells(recording: Recording) -> list[ResourceRecord]:
    placements = place_resources(recording)
    return [r for r in recording.resources if placements[r.urn].cell == NO_CELL]


def provider_named(recording: Recording, package: str, name: str) -> ResourceRecord:
    (provider,) = [r for r in recording.of_type(f"pulumi:providers:{package}") if r.name == name]
    return provider
