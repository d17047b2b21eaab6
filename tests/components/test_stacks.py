"""The shipped stack files: each parses, has several cells, and no two cells share addresses."""

import ipaddress

import pytest

from components.addressing import find_overlaps
from components.config import PREFIX, decode_config_value, parse_region_config
from offline.stack_config import load_stack_config, shipped_stacks

EXPECTED_STACKS = ["aws-eu-west-1", "aws-us-east-1", "gcp-europe-west1"]


def _config(stack: str):
    values = {
        key.removeprefix(PREFIX): decode_config_value(value)
        for key, value in load_stack_config(stack).items()
        if key.startswith(PREFIX)
    }
    return parse_region_config(values, stack)


def _all_ranges() -> dict[str, str]:
    """Return every cell range and control-plane range of every shipped stack, by name."""
    ranges = {}
    for stack in shipped_stacks():
        config = _config(stack)
        for cell in config.cells:
            ranges[f"{stack}/{cell.name}"] = cell.cidr
        ranges[f"{stack}/control-plane"] = config.addresses.control_plane.cidr
    return ranges


def test_shipped_stacks():
    assert shipped_stacks() == EXPECTED_STACKS


@pytest.mark.parametrize("stack", EXPECTED_STACKS)
def test_stack_has_several_cells(stack):
    config = _config(stack)
    assert len(config.cells) >= 3
    assert config.region in stack
    assert stack.startswith(config.cloud + "-")


def test_cell_ranges_disjoint_across_stacks():
    ranges = _all_ranges()
    # Three stacks with 4, 3 and 3 cells, and a control plane each.
    assert len(ranges) == 13
    assert find_overlaps(ranges) == []


def test_carved_subnets_disjoint_across_stacks():
    subnets = {}
    for stack in shipped_stacks():
        config = _config(stack)
        plans = {**config.addresses.cells, "control-plane": config.addresses.control_plane}
        for name, plan in plans.items():
            for index, cidr in enumerate(plan.ranges()):
                subnets[f"{stack}/{name}/{index}"] = cidr
    # Per cell: a public, private and isolated subnet in each of 3 zones, and 3 GKE ranges.
    assert len(subnets) == 13 * 12
    assert find_overlaps(subnets) == []


def test_stacks_take_ranges_from_their_own_supernet():
    supernets = {stack: _config(stack).network.supernet for stack in shipped_stacks()}
    assert supernets == {
        "aws-eu-west-1": "10.32.0.0/12",
        "aws-us-east-1": "10.16.0.0/12",
        "gcp-europe-west1": "10.48.0.0/12",
    }
    for name, cidr in _all_ranges().items():
        stack = name.split("/")[0]
        supernet = ipaddress.ip_network(supernets[stack])
        assert ipaddress.ip_network(cidr).subnet_of(supernet), name


def test_cell_ranges_of_the_us_stack():
    config = _config("aws-us-east-1")
    assert {cell.name: cell.cidr for cell in config.cells} == {
        "cell-1": "10.16.0.0/16",
        "cell-2": "10.17.0.0/16",
        "cell-3": "10.18.0.0/16",
        "cell-4": "10.19.0.0/16",
    }
    assert config.addresses.control_plane.cidr == "10.31.0.0/16"


def test_overlap_check_finds_a_shared_range():
    ranges = {**_all_ranges(), "aws-new/cell-1": "10.17.128.0/17"}
    assert find_overlaps(ranges) == [("aws-us-east-1/cell-2", "aws-new/cell-1")]
