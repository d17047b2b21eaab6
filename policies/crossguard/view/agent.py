"""Facts about a policy agent's configuration: bundles, signing keys, persistence, plugin.

The agent is OPA's runtime with this project's ext_authz plugin, so its configuration file
is OPA's. `parse_agent_config` reads what I2 to I5 speak about; `skips_verification` reads
the command line, where OPA can be told to skip bundle signature checks.
"""

from dataclasses import dataclass
from typing import Any

# This project's plugin evaluates the bundle's WebAssembly module. OPA's stock
# envoy_ext_authz_grpc plugin answers the same API but evaluates Rego.
WASM_PLUGIN = "envoy_ext_authz_wasm"
REGO_PLUGIN = "envoy_ext_authz_grpc"
# OPA flags that turn off bundle signature verification for bundles given on the command line.
SKIP_VERIFY_FLAGS = ("--skip-verify",)


@dataclass(frozen=True)
class AgentBundle:
    name: str
    persist: bool
    signing_key_id: str | None
    service: str | None


@dataclass(frozen=True)
class AgentConfig:
    bundles: tuple[AgentBundle, ...]
    keys: dict[str, dict[str, Any]]
    persistence_directory: str | None
    plugin: str | None
    """The ext_authz plugin configured: WASM_PLUGIN, REGO_PLUGIN or None."""
    authz_address: str | None
    """Where the plugin listens: `127.0.0.1:9191` or `unix:///path`."""


def is_agent_config(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    plugins = document.get("plugins")
    has_plugin = isinstance(plugins, dict) and bool({WASM_PLUGIN, REGO_PLUGIN} & set(plugins))
    return has_plugin or isinstance(document.get("bundles"), dict)


def parse_agent_config(document: dict[str, Any]) -> AgentConfig:
    bundles = []
    for name, bundle in _dict(document.get("bundles")).items():
        bundle = _dict(bundle)
        signing = _dict(bundle.get("signing"))
        bundles.append(
            AgentBundle(
                name=str(name),
                persist=bundle.get("persist") is True,
                signing_key_id=signing.get("keyid")
                if isinstance(signing.get("keyid"), str)
                else None,
                service=bundle.get("service"),
            )
        )
    plugins = _dict(document.get("plugins"))
    plugin = (
        WASM_PLUGIN if WASM_PLUGIN in plugins else REGO_PLUGIN if REGO_PLUGIN in plugins else None
    )
    address = _dict(plugins.get(plugin)).get("addr") if plugin else None
    directory = document.get("persistence_directory")
    return AgentConfig(
        bundles=tuple(bundles),
        keys={str(k): _dict(v) for k, v in _dict(document.get("keys")).items()},
        persistence_directory=directory if isinstance(directory, str) else None,
        plugin=plugin,
        authz_address=address if isinstance(address, str) else None,
    )


def skips_verification(arguments: list[Any]) -> bool:
    return any(
        isinstance(argument, str) and argument.split("=", 1)[0] in SKIP_VERIFY_FLAGS
        for argument in arguments
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
