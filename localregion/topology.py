"""Cells of the local region: names, jurisdictions, ports, directories and URLs."""

from dataclasses import dataclass
from pathlib import Path

from localregion.errors import LocalRegionError
from localregion.ports import MAX_CELLS, CellPorts

AGENT_TRANSPORTS = ("tcp", "unix")


@dataclass(frozen=True)
class Cell:
    """One cell: a service, its policy agent and its Envoy sidecar, each on its own port."""

    name: str
    jurisdiction: str
    ports: CellPorts
    directory: Path
    agent_transport: str

    @property
    def agent_address(self) -> str:
        """The address of the agent's ext_authz server, as the sidecar dials it."""
        if self.agent_transport == "unix":
            return f"unix://{self.directory / 'agent.sock'}"
        return f"127.0.0.1:{self.ports.agent_authz}"

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.service}"

    @property
    def sidecar_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sidecar}"

    @property
    def sidecar_admin_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sidecar_admin}"

    @property
    def agent_url(self) -> str:
        """OPA's REST API of the cell's agent (data, health, status)."""
        return f"http://127.0.0.1:{self.ports.agent_http}"

    @property
    def agent_diagnostic_url(self) -> str:
        """The agent's /health and /metrics."""
        return f"http://127.0.0.1:{self.ports.agent_diagnostic}"

    @property
    def database_path(self) -> Path:
        return self.directory / "service.db"

    @property
    def persistence_directory(self) -> Path:
        return self.directory / "agent-persistence"

    def process_name(self, component: str) -> str:
        return f"{self.name}-{component}"


def cell_layout(cell_count: int, eu_cells: int) -> list[tuple[str, str]]:
    """Return (name, jurisdiction) per cell: eu-1.. first, then us-1.."""
    if isinstance(cell_count, bool) or not isinstance(cell_count, int):
        raise LocalRegionError(f"invalid cell count {cell_count!r}; expected an integer")
    if not 2 <= cell_count <= MAX_CELLS:
        raise LocalRegionError(f"invalid cell count {cell_count}; expected 2 to {MAX_CELLS}")
    if isinstance(eu_cells, bool) or not isinstance(eu_cells, int):
        raise LocalRegionError(f"invalid EU cell count {eu_cells!r}; expected an integer")
    if not 1 <= eu_cells < cell_count:
        raise LocalRegionError(
            f"invalid EU cell count {eu_cells}; expected 1 to {cell_count - 1} so that "
            "the region has cells of both jurisdictions"
        )
    eu = [(f"eu-{i + 1}", "eu") for i in range(eu_cells)]
    us = [(f"us-{i + 1}", "us") for i in range(cell_count - eu_cells)]
    return eu + us


def check_agent_transport(transport: str) -> str:
    if transport not in AGENT_TRANSPORTS:
        raise LocalRegionError(
            f"invalid agent transport {transport!r}; expected one of {', '.join(AGENT_TRANSPORTS)}"
        )
    return transport
