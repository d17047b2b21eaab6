"""Read a region stack's `stacks/Pulumi.<stack>.yaml` into config as the Pulumi CLI passes it."""

import json
from pathlib import Path
from typing import Any

import yaml

from components.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIRECTORY = ROOT / "stacks"
PROGRAM = ROOT / "__main__.py"


def stack_file(stack: str, directory: Path = STACKS_DIRECTORY) -> Path:
    return directory / f"Pulumi.{stack}.yaml"


def shipped_stacks(directory: Path = STACKS_DIRECTORY) -> list[str]:
    """Return the names of the stacks that have a file in `directory`, sorted."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in directory.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, directory: Path = STACKS_DIRECTORY) -> dict[str, str]:
    """Return the stack's config as `namespace:key` to the string the CLI would pass.

    Raises ConfigError when the file is missing, is not YAML, or holds a secure value, which
    only the Pulumi CLI can decrypt.
    """
    if not directory.is_dir():
        problem = "not a directory" if directory.exists() else "does not exist"
        raise ConfigError(
            "--stacks-dir",
            str(directory),
            "a directory with a Pulumi.<stack>.yaml file per stack",
            detail=problem,
        )
    path = stack_file(stack, directory)
    if not path.is_file():
        known = ", ".join(shipped_stacks(directory)) or "none"
        raise ConfigError("stack", stack, f"a stack with a file in {directory}: {known}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(
            str(path), "(file)", "valid YAML", detail=str(error).splitlines()[0]
        ) from None
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: config", config, "a map of namespace:key to values")
    return {str(key): encode_config_value(str(key), value) for key, value in config.items()}


def encode_config_value(key: str, value: Any) -> str:
    """Encode a YAML config value as the CLI does: strings as they are, anything else as JSON."""
    if isinstance(value, dict) and "secure" in value:
        raise ConfigError(
            key, "(secure value)", "a plain value; the offline preview cannot decrypt"
        )
    if isinstance(value, str):
        return value
    return json.dumps(value)
