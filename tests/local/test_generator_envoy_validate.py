"""Every generated Envoy configuration passes `envoy --mode validate`."""

import subprocess
from pathlib import Path

import pytest

from components.sidecar import (
    RouterCell,
    RouterSpec,
    SidecarSpec,
    router_bootstrap,
    sidecar_bootstrap,
    write_yaml,
)

ENVOY = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy"


def envoy_validate(config: dict, path: Path) -> subprocess.CompletedProcess:
    write_yaml(config, path)
    return subprocess.run(
        [str(ENVOY), "--mode", "validate", "--disable-hot-restart", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def sidecar(agent_address: str, **overrides) -> dict:
    return sidecar_bootstrap(
        SidecarSpec(
            cell="us-1",
            jurisdiction="us",
            region="local",
            listen_port=10001,
            admin_port=10002,
            service_port=10000,
            agent_address=agent_address,
            **overrides,
        )
    )


def router(cell_count: int, host: str = "127.0.0.1", **overrides) -> dict:
    cells = tuple(RouterCell(f"cell-{i}", host, 10001 + 10 * i) for i in range(cell_count))
    return router_bootstrap(
        RouterSpec(region="local", cells=cells, listen_port=18000, admin_port=18001, **overrides)
    )


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("sidecar-tcp-agent", lambda tmp: sidecar("127.0.0.1:9191")),
        ("sidecar-unix-agent", lambda tmp: sidecar(f"unix://{tmp}/agent.sock")),
        (
            "sidecar-pod",
            lambda tmp: sidecar(
                "unix:///run/agent/agent.sock",
                listen_address="0.0.0.0",
                access_log_path=f"{tmp}/access.log",
                authz_timeout_ms=100,
            ),
        ),
        ("router-2-cells", lambda tmp: router(2)),
        ("router-5-cells", lambda tmp: router(5)),
        ("router-dns-cells", lambda tmp: router(3, host="cells.local-region.invalid")),
        # Quotes and backslashes in spec values must not break the Lua request checks.
        ("router-quoted-health-path", lambda tmp: router(2, health_check_path='/"health\\z"')),
    ],
)
def test_generated_config_passes_envoy_validate(name, config, tmp_path):
    result = envoy_validate(config(tmp_path), tmp_path / f"{name}.yaml")

    assert result.returncode == 0, result.stderr[-2000:]
    assert f"configuration '{tmp_path / name}.yaml' OK" in result.stdout + result.stderr


def test_envoy_validate_rejects_broken_config(tmp_path):
    config = sidecar("127.0.0.1:9191")
    authz = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    authz["typed_config"]["http_filters"][0]["typed_config"]["status_on_error"] = {"code": "Nope"}

    result = envoy_validate(config, tmp_path / "broken.yaml")

    assert result.returncode != 0
