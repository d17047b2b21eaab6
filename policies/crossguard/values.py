"""Property values as the policies read them, with the unknowns of a preview kept visible.

During `pulumi preview` the engine sends a value that is not known yet (an ID, or anything
computed from one) as a sentinel string, and the SDK's property proxy raises
`UnknownValueError` when a policy reads it. `plain` copies a property tree into plain dicts
and lists and puts `UNKNOWN` where a value is not known, so a rule can check every known
value and name the unknown ones instead of stopping at the first.

`UNKNOWN` refuses to act as a boolean: a rule that wrote `if value:` would otherwise treat
an unknown value as compliant, or as a violation, without saying so.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

# The engine marshals every unknown as UNKNOWN_STRING_VALUE; the SDK also knows the others.
SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


class Unknown:
    """A value that the engine does not know before the update."""

    _instance: "Unknown | None" = None

    def __new__(cls) -> "Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; check is_unknown() first")


UNKNOWN = Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def plain(value: Any) -> Any:
    """Return a copy of a property tree in plain dicts and lists, unknowns as UNKNOWN.

    Accepts the SDK's proxies, plain values, sentinel strings and the Python SDK's own
    `pulumi.output.Unknown`, which a recording taken on the mock engine may contain.
    """
    if isinstance(value, str):
        return UNKNOWN if value in SENTINELS else value
    if isinstance(value, Mapping):
        result = {}
        for key in list(value):
            result[key] = _item(value, key)
        return result
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_item(value, index) for index in range(len(value))]
    if type(value).__name__ == "Unknown" and type(value).__module__ == "pulumi.output":
        return UNKNOWN
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return plain(container[key])
    except UnknownValueError:
        return UNKNOWN


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    return False


def get_path(value: Any, *path: str | int, default: Any = None) -> Any:
    """Return the value at path, UNKNOWN when an object on the way is unknown, else default."""
    current = value
    for key in path:
        if current is UNKNOWN:
            return UNKNOWN
        if isinstance(key, int):
            if not isinstance(current, list) or not -len(current) <= key < len(current):
                return default
            current = current[key]
        else:
            if not isinstance(current, dict) or key not in current:
                return default
            current = current[key]
    return current


def as_int(value: Any) -> "int | Unknown | None":
    """Return a whole number given as int, float or digit string; protobuf sends floats."""
    if value is UNKNOWN or value is None:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def as_bool(value: Any) -> "bool | Unknown | None":
    """Return a boolean given as bool or as the strings `true`/`false`; None otherwise."""
    if value is UNKNOWN or value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_list(value: Any) -> "list | Unknown":
    """Return a list for a list, [] for None, UNKNOWN for an unknown list."""
    if value is UNKNOWN:
        return UNKNOWN
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_dict(value: Any) -> "dict | Unknown":
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return value
    return {}
