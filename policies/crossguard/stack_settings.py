"""Settings of the stack under analysis that some rules depend on, such as its environment.

The engine starts a policy pack with the stack's configuration in its environment, and the
SDK loads it into `pulumi.runtime` before each analysis, so a rule reads the stack's
`cellarch:environment` as the program does. A policy's own `environment` setting wins.
"""

from collections.abc import Mapping
from typing import Any

from pulumi.runtime import config as runtime_config

ENVIRONMENT_KEY = "cellarch:environment"
PRODUCTION = "production"
# The environments that the program's config accepts for cellarch:environment.
ENVIRONMENTS = (PRODUCTION, "staging", "dev")


def environment(policy_config: Mapping[str, Any]) -> str:
    """Return the stack's environment; `production`, the config model's default, if unset."""
    explicit = policy_config.get("environment")
    if isinstance(explicit, str) and explicit:
        return explicit
    value = runtime_config.get_config(ENVIRONMENT_KEY)
    return value if isinstance(value, str) and value else PRODUCTION
