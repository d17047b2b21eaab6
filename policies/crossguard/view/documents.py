"""YAML documents embedded in resources, such as Envoy and agent configurations in ConfigMaps."""

import functools
from typing import Any

import yaml

# libyaml's loader parses the same YAML many times faster than the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InvalidDocument(ValueError):
    """The text is not valid YAML."""


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> tuple[bool, Any]:
    try:
        return True, yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return False, None


def parse_yaml(text: str) -> Any:
    """Return the document in `text`, parsed once per distinct text.

    Rules only read documents, so every caller shares the parsed value. Raises
    InvalidDocument for text that is not YAML.
    """
    valid, document = _parse(text)
    if not valid:
        raise InvalidDocument(text[:40])
    return document
