"""YAML output of the generated configurations."""

from pathlib import Path

import yaml


def dump_yaml(config: dict) -> str:
    """Return the configuration as YAML, keys in the order the generator built them."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=100)


def write_yaml(config: dict, path: str | Path) -> Path:
    """Write the configuration as YAML to path and return the path."""
    target = Path(path)
    target.write_text(dump_yaml(config))
    return target
