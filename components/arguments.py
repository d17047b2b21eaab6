"""Argument classes from Python callers and from programs in other Pulumi languages.

A Python program passes a component its argument dataclass. When the component runs in
the package's provider (`provider/`, for `pulumi package add`), Pulumi's component provider
passes a dict of the schema's properties under their Python names instead, with nested
argument types as dicts too and unset properties left out. `coerce_args` turns either
into the dataclass. A field that is None or unset takes its default, which is why the
defaulted fields are annotated as optional: the component analyzer marks only optional
fields as optional in the schema.
"""

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from components.errors import ConfigError

Args = TypeVar("Args")


def coerce_args(cls: type[Args], value: Any, key: str = "args") -> Args:
    """Return `value` as a `cls`, filling defaults for None fields, nested types included.

    Raises ConfigError naming the argument for a value of another type, an unknown field
    or a missing required field.
    """
    if isinstance(value, cls):
        given = {f.name: getattr(value, f.name) for f in dataclasses.fields(cls) if f.init}
    elif isinstance(value, Mapping):
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        for name in value:
            if name not in known:
                raise ConfigError(
                    f"{key}.{name}",
                    value[name],
                    "one of " + ", ".join(sorted(known)),
                    detail="unknown field",
                )
        given = dict(value)
    else:
        raise ConfigError(key, type(value).__name__, f"a {cls.__name__} or a mapping of its fields")

    values = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        where = f"{key}.{field.name}"
        raw = given.get(field.name)
        if raw is None:
            if field.default is not dataclasses.MISSING:
                values[field.name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                values[field.name] = field.default_factory()
            else:
                raise ConfigError(where, None, "a value; the field is required", detail="missing")
            continue
        # The argument modules evaluate their annotations, so `field.type` is the type itself.
        values[field.name] = _convert(field.type, raw, where)
    return cls(**values)


def _convert(hint: Any, value: Any, key: str) -> Any:
    """Convert a field's value to the argument dataclass its type names, where it names one."""
    members = _union_members(hint)
    # NOTE: numbers arrive as floats over the wire. Pulumi's component provider (pulumi
    # 3.272.0) converts integer properties but then stores the float again, so whole
    # numbers become ints here.
    if int in members and isinstance(value, float) and value.is_integer():
        return int(value)
    for option in members:
        origin = typing.get_origin(option)
        if dataclasses.is_dataclass(option) and isinstance(value, (Mapping, option)):
            return coerce_args(option, value, key)
        if origin is list and isinstance(value, list):
            (item,) = typing.get_args(option) or (Any,)
            if dataclasses.is_dataclass(item):
                return [coerce_args(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
        if origin is dict and isinstance(value, Mapping):
            item = (typing.get_args(option) or (Any, Any))[1]
            if dataclasses.is_dataclass(item):
                return {k: coerce_args(item, v, f"{key}.{k}") for k, v in value.items()}
    return value


def _union_members(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)
