"""Write the sidecar, agent and router configuration of the local region with the generator.

The local region uses the same generator as the Kubernetes manifests, so what runs
locally is what ships. Every Envoy configuration is checked with `envoy --mode validate`
before its process starts.
"""

import subprocess
from pathlib import Path

from components.sidecar import (
    AgentSpec,
    RouterCell,
    RouterSpec,
    S3Repository,
    SidecarSpec,
    agent_args,
    agent_config,
    router_bootstrap,
    sidecar_bootstrap,
    write_yaml,
)
from localregion.errors import LocalRegionError
from localregion.topology import Cell

ENVOY_VALIDATE_TIMEOUT_SECONDS = 60


def write_sidecar_config(cell: Cell, region: str) -> Path:
    spec = SidecarSpec(
        cell=cell.name,
        jurisdiction=cell.jurisdiction,
        region=region,
        listen_port=cell.ports.sidecar,
        admin_port=cell.ports.sidecar_admin,
        service_port=cell.ports.service,
        agent_address=cell.agent_address,
        access_log_path=str(cell.directory / "sidecar-access.log"),
    )
    return write_yaml(sidecar_bootstrap(spec), cell.directory / "sidecar.yaml")


def agent_spec(
    cell: Cell,
    region: str,
    *,
    bundle_name: str,
    repository_url: str,
    signing_key_id: str,
    signing_public_key_pem: str,
    polling_min_delay_seconds: int,
    polling_max_delay_seconds: int,
) -> AgentSpec:
    return AgentSpec(
        bundle_name=bundle_name,
        repository=S3Repository(url=repository_url, credentials="environment"),
        signing_key_id=signing_key_id,
        signing_public_key_pem=signing_public_key_pem,
        persistence_directory=str(cell.persistence_directory),
        authz_address=cell.agent_address,
        http_address=f"127.0.0.1:{cell.ports.agent_http}",
        diagnostic_address=f"127.0.0.1:{cell.ports.agent_diagnostic}",
        polling_min_delay_seconds=polling_min_delay_seconds,
        polling_max_delay_seconds=polling_max_delay_seconds,
        labels={"region": region, "cell": cell.name, "jurisdiction": cell.jurisdiction},
    )


def write_agent_config(cell: Cell, spec: AgentSpec) -> tuple[Path, list[str]]:
    """Write the agent's configuration file; return it with the agent's arguments."""
    path = write_yaml(agent_config(spec), cell.directory / "agent.yaml")
    return path, agent_args(spec, str(path))


def write_router_config(
    cells: list[Cell], region: str, directory: Path, listen_port: int, admin_port: int
) -> Path:
    spec = RouterSpec(
        region=region,
        cells=tuple(RouterCell(cell.name, "127.0.0.1", cell.ports.sidecar) for cell in cells),
        listen_port=listen_port,
        admin_port=admin_port,
        # Short intervals, so that the router takes a stopped cell out within a second or two.
        health_check_interval_ms=1_000,
        health_check_timeout_ms=500,
        access_log_path=str(directory / "router-access.log"),
    )
    return write_yaml(router_bootstrap(spec), directory / "router.yaml")


def validate_envoy_config(envoy: str, path: Path) -> None:
    """Run `envoy --mode validate` on path; raise with Envoy's last message if it fails."""
    try:
        result = subprocess.run(
            [envoy, "--mode", "validate", "--disable-hot-restart", "-c", str(path)],
            capture_output=True,
            text=True,
            timeout=ENVOY_VALIDATE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LocalRegionError(
            f"envoy --mode validate timed out after {ENVOY_VALIDATE_TIMEOUT_SECONDS} s on {path}"
        ) from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise LocalRegionError(
            f"invalid Envoy configuration {path}: {lines[-1] if lines else 'no output'}"
        )
