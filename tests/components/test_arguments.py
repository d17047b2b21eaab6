"""coerce_args: argument dataclasses from Python callers and from the package's provider."""

import pytest
from cell_harness import bundle, services

from components.arguments import coerce_args
from components.errors import ConfigError
from components.queue import QueueArgs
from components.region import RegionArgs, RegionCellArgs, RolloutArgs


def _region(**overrides) -> RegionArgs:
    values = {
        "cloud": "aws",
        "region": "us-east-1",
        "supernet": "10.64.0.0/12",
        "services": services(),
        "bundle": bundle("aws"),
        "telemetry_endpoint": "otel.example.com:4317",
        "cell_count": 2,
    }
    return RegionArgs(**{**values, **overrides})


def test_none_takes_the_default():
    args = coerce_args(RegionArgs, _region(zone_count=None, rollout=None, environment=None))
    assert args.zone_count == 3
    assert args.rollout == RolloutArgs(canary=None, max_wave_size=4)
    assert args.environment == "production"


def test_mapping_becomes_nested_dataclasses():
    mapping = {
        "cloud": "aws",
        "region": "us-east-1",
        "supernet": "10.64.0.0/12",
        "services": [{"name": "orders", "image": "example/orders:1", "port": 3000.0}],
        "bundle": {
            "name": "authz",
            "repository": "s3",
            "bucket": "b",
            "public_key_pem": "k",
            "key_id": "i",
        },
        "telemetry_endpoint": "otel.example.com:4317",
        "cells": [{"name": "a", "users": 5000.0}],
        "queue": {"max_receive_count": 7.0},
    }
    args = coerce_args(RegionArgs, mapping)
    assert args.cells == [RegionCellArgs(name="a", users=5000, cidr=None)]
    assert isinstance(args.cells[0].users, int)
    assert args.queue == QueueArgs(max_receive_count=7)
    assert args.services[0].port == 3000
    assert args.services[0].min_replicas == 3
    assert args.bundle.polling_min_seconds == 10


def test_unknown_field_is_named():
    with pytest.raises(ConfigError) as raised:
        coerce_args(RolloutArgs, {"canary": "a", "wave": 2})
    assert str(raised.value).startswith(
        "args.wave: invalid value 2 (unknown field); expected one of canary, max_wave_size"
    )


def test_missing_nested_field_is_named():
    with pytest.raises(ConfigError) as raised:
        coerce_args(RegionArgs, {**vars(_region()), "cells": [{"users": 5}], "cell_count": None})
    assert str(raised.value) == (
        "args.cells[0].name: invalid value None (missing); expected a value; the field is required"
    )


def test_other_types_are_rejected():
    with pytest.raises(ConfigError) as raised:
        coerce_args(RegionArgs, ["aws"])
    assert str(raised.value) == (
        "args: invalid value 'list'; expected a RegionArgs or a mapping of its fields"
    )
