"""Checks of a policy's configuration properties against the policy's JSON schema.

The offline runner checks the `--policy-pack-config` file with them before it records a
stack, and every policy checks the properties the engine hands it before it runs, so a bad
value is rejected in both places instead of switching a check off.
"""

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any


class PolicyConfigError(ValueError):
    """The pack's configuration names an unknown policy, level or property."""


def check_properties(
    policy: str, schema: Mapping[str, Mapping[str, Any]], properties: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the properties with integral numbers as int; raise PolicyConfigError if invalid.

    The engine sends properties as a protobuf Struct, which makes every number a float, so a
    float without a fraction counts as an integer.
    """
    checked = {}
    for key, value in properties.items():
        if key not in schema:
            accepted = ", ".join(["enforcementLevel", *schema])
            raise PolicyConfigError(
                f"policy config {policy}: unknown property {key!r}; accepted: {accepted}"
            )
        checked[key] = _check_value(f"{policy}.{key}", schema[key], value)
        extra_check = _EXTRA_CHECKS.get(key)
        if extra_check is not None:
            extra_check(f"{policy}.{key}", checked[key])
    return checked


def _check_value(where: str, expected: Mapping[str, Any], value: Any) -> Any:
    kind = expected.get("type")
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise PolicyConfigError(f"policy config {where}: {value!r} is not an integer")
        minimum = expected.get("minimum")
        if minimum is not None and value < minimum:
            raise PolicyConfigError(
                f"policy config {where}: {value} is below the minimum of {minimum}"
            )
    elif kind == "string":
        if not isinstance(value, str):
            raise PolicyConfigError(f"policy config {where}: {value!r} is not a string")
        choices = expected.get("enum")
        if choices is not None and value not in choices:
            raise PolicyConfigError(
                f"policy config {where}: {value!r} is invalid; accepted: " + ", ".join(choices)
            )
    elif kind == "object":
        if not isinstance(value, Mapping):
            raise PolicyConfigError(f"policy config {where}: {value!r} is not an object")
        items = expected.get("additionalProperties")
        if isinstance(items, Mapping):
            value = {k: _check_value(f"{where}.{k}", items, v) for k, v in value.items()}
    elif kind == "array":
        if not isinstance(value, list | tuple):
            raise PolicyConfigError(f"policy config {where}: {value!r} is not an array")
        items = expected.get("items")
        if isinstance(items, Mapping):
            value = [_check_value(where, items, item) for item in value]
    return value


def _check_cell_ranges(where: str, ranges: Mapping[str, list[str]]) -> None:
    for name, cidrs in ranges.items():
        if not name.rpartition("/")[2]:
            raise PolicyConfigError(
                f"policy config {where}: key {name!r} names no cell; accepted: 'region/cell', "
                "e.g. 'eu-west-1/cell-1'"
            )
        for cidr in cidrs:
            if not _is_cidr(cidr):
                raise PolicyConfigError(
                    f"policy config {where}.{name}: {cidr!r} is not a CIDR range; accepted: an "
                    "IPv4 or IPv6 address with a prefix length, e.g. 10.2.0.0/16"
                )


def _is_cidr(value: str) -> bool:
    if "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


# Checks that JSON schema cannot state, by property name.
_EXTRA_CHECKS: dict[str, Callable[[str, Any], None]] = {"otherCellRanges": _check_cell_ranges}
