"""Region on its own: a non-default provider reaches every child of cells nested deep down.

The region gets an AWS provider for eu-west-1 in account 210987654321, held by a component
two levels above it, so each cell sits four levels under the stack. In update mode the
mocks build ARNs from the provider that created each resource, so an ARN with another
region or account would show a child that fell back to some other provider.
"""

import dataclasses
import functools

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pytest
from cell_harness import bundle, services

from components.errors import ConfigError
from components.region import Region, RegionArgs, RegionCellArgs, RolloutArgs
from offline import ProgramFailed, run_program
from offline.recorder import STACK_TYPE

ACCOUNT = "210987654321"
REGION = "eu-west-1"
CELLS = [
    RegionCellArgs(name="north", users=5_000),
    RegionCellArgs(name="south", users=15_000),
    RegionCellArgs(name="east"),
]


class Holder(pulumi.ComponentResource):
    """A component with no resources, standing in for a program's own grouping."""

    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(type_, name, None, opts)
        self.register_outputs({})


def region_args(**overrides) -> RegionArgs:
    values = {
        "cloud": "aws",
        "region": REGION,
        "supernet": "10.64.0.0/12",
        "services": services(),
        "bundle": bundle("aws"),
        "telemetry_endpoint": "otel.example.com:4317",
        "cells": list(CELLS),
        "environment": "staging",
        "rollout": RolloutArgs(canary="south", max_wave_size=2),
        "stack": "region-test",
    }
    values.update(overrides)
    return RegionArgs(**values)


@functools.cache
def run_nested_region(preview: bool):
    def program() -> None:
        provider = aws.Provider("aws-eu", region=REGION, allowed_account_ids=[ACCOUNT])
        outer = Holder(
            "test:index:Outer",
            "outer",
            pulumi.ResourceOptions(providers=[provider, random.Provider("random-eu")]),
        )
        middle = Holder("test:index:Middle", "middle", pulumi.ResourceOptions(parent=outer))
        region = Region("region", region_args(), pulumi.ResourceOptions(parent=middle))
        pulumi.export("waves", region.rollout_waves)
        pulumi.export("cidrs", region.cell_cidrs)

    return run_program(program, stack="region-test", preview=preview)


@pytest.fixture(scope="module", params=[True, False], ids=["preview", "update"])
def recording(request):
    return run_nested_region(request.param)


def _provider(recording, package: str, name: str):
    (provider,) = [r for r in recording.of_type(f"pulumi:providers:{package}") if r.name == name]
    return provider


def test_region_nested_two_levels_down(recording):
    (outer,) = recording.of_type("test:index:Outer")
    (middle,) = recording.of_type("test:index:Middle")
    (region,) = recording.of_type("cellarch:index:Region")
    assert middle.parent == outer.urn
    assert region.parent == middle.urn
    cells = recording.of_type("cellarch:index:Cell")
    assert sorted(c.name for c in cells) == ["east", "north", "south"]
    for cell in cells:
        assert cell.parent == region.urn


def test_every_aws_resource_uses_the_regions_provider(recording):
    provider = _provider(recording, "aws", "aws-eu")
    resources = [r for r in recording.resources if r.custom and r.package == "aws"]
    # The provider and every AWS resource of three staging cells, the control plane and
    # the shock absorber.
    assert len(resources) == 267
    for record in resources:
        if not record.is_provider:
            assert record.provider_urn == provider.urn, f"{record.type} {record.name}"


def test_passwords_use_the_inherited_random_provider(recording):
    provider = _provider(recording, "random", "random-eu")
    passwords = recording.of_type("random:index/randomPassword:RandomPassword")
    assert len(passwords) == 3
    for record in passwords:
        assert record.provider_urn == provider.urn, record.name


def test_no_resource_uses_a_default_provider(recording):
    for record in recording.resources:
        if record.custom and not record.is_provider:
            assert "::default::" not in record.provider, f"{record.type} {record.name}"


def test_arns_name_the_providers_region_and_account(recording):
    if recording.preview:
        for key in recording.of_type("aws:kms/key:Key"):
            assert key.id is None
        return
    keys = recording.of_type("aws:kms/key:Key")
    assert len(keys) == 4
    for key in keys:
        assert key.outputs["arn"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"), key.name
    for queue in recording.of_type("aws:sqs/queue:Queue"):
        assert queue.id.startswith(f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/"), queue.name


def test_region_outputs(recording):
    outputs = recording.stack_outputs()
    assert outputs["waves"] == [["south"], ["north"], ["east"]]
    assert outputs["cidrs"] == {
        "north": "10.64.0.0/16",
        "south": "10.65.0.0/16",
        "east": "10.66.0.0/16",
    }
    (region,) = recording.of_type("cellarch:index:Region")
    assert region.output_registrations == 1
    assert region.component_outputs["canary"] == "south"


def test_data_pools_sized_by_users(recording):
    pools = {
        r.name: r.inputs["scalingConfig"]
        for r in recording.of_type("aws:eks/nodeGroup:NodeGroup")
        if r.inputs["labels"]["cellarch.io/plane"] == "data" and not r.name.startswith("control")
    }
    # One node per 2,500 users, at least one per zone, and room to triple.
    assert pools == {
        "north-data-nodes": {"desiredSize": 3, "minSize": 3, "maxSize": 9},
        "south-data-nodes": {"desiredSize": 6, "minSize": 3, "maxSize": 18},
        "east-data-nodes": {"desiredSize": 4, "minSize": 3, "maxSize": 12},
    }


def test_staging_cells_have_one_nat_gateway(recording):
    gateways = [r for r in recording.of_type("aws:ec2/natGateway:NatGateway")]
    assert sorted(g.name.split("-nat")[0] for g in gateways) == [
        "control",
        "east",
        "north",
        "south",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"cells": None},
            "cells: invalid value None; expected either cell_count or a list of cells, "
            "not both or neither",
        ),
        ({"cells": None, "cell_count": 0}, "cells: invalid value 0; expected a cell count"),
        (
            {"cells": [RegionCellArgs(name="a", users=30_000)]},
            "cells[0].users: invalid value 30000; expected at most the cell size cap 20000",
        ),
        ({"zone_count": 5}, "zone_count: invalid value 5; expected at most 3, the zones"),
        ({"supernet": "10.64.0.0/15"}, "supernet: invalid value '10.64.0.0/15'"),
        ({"rollout": RolloutArgs(canary="west")}, "rollout.canary: invalid value 'west'"),
        (
            {"services": [dataclasses.replace(services()[2], name="Bad_Name")]},
            "services[0].name: invalid value 'Bad_Name'",
        ),
        (
            {"telemetry_endpoint": "otel.example.com"},
            "telemetry_endpoint: invalid value 'otel.example.com'; expected HOST:PORT with a "
            "DNS name or IPv4 address and a port from 1 to 65535",
        ),
    ],
    ids=[
        "no-cells",
        "zero-cells",
        "over-cap",
        "zones",
        "small-supernet",
        "canary",
        "service-name",
        "endpoint",
    ],
)
def test_invalid_arguments_create_nothing(overrides, message):
    def program() -> None:
        provider = aws.Provider("aws-eu", region=REGION)
        Region("region", region_args(**overrides), pulumi.ResourceOptions(provider=provider))

    with pytest.raises(ProgramFailed) as raised:
        run_program(program, stack="region-test", preview=True)
    assert isinstance(raised.value.error, ConfigError)
    assert str(raised.value).startswith(message), str(raised.value)
    types = [r.type for r in raised.value.recording.resources]
    assert types == [STACK_TYPE, "pulumi:providers:aws"]


def test_region_without_a_provider_is_rejected():
    def program() -> None:
        Region("region", region_args())

    with pytest.raises(ProgramFailed) as raised:
        run_program(program, stack="region-test", preview=True)
    assert str(raised.value).startswith("opts.provider: invalid value None; expected a pulumi aws")
    assert [r.type for r in raised.value.recording.resources] == [STACK_TYPE]
