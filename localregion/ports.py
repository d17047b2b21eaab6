"""Port plan of the local region: which component listens where, checked before start."""

import os
import random
import socket
from dataclasses import dataclass, field
from pathlib import Path

from localregion.errors import LocalRegionError, PortInUseError

# With a base port, component ports are fixed offsets from it: the region's own at
# BASE+0..2, cell i at BASE+10+10*i+0..5.
CELL_STRIDE = 10
FIRST_CELL_OFFSET = 10
MAX_CELLS = 20
# Free ports are picked from here up to the start of the kernel's ephemeral range.
LOWEST_FREE_PORT = 10000
EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


@dataclass(frozen=True)
class CellPorts:
    service: int
    sidecar: int
    sidecar_admin: int
    agent_http: int
    agent_diagnostic: int
    agent_authz: int


@dataclass(frozen=True)
class PortPlan:
    router: int
    router_admin: int
    repository: int
    cells: tuple[CellPorts, ...] = field(default_factory=tuple)

    def by_component(self, cell_names: list[str]) -> dict[str, int]:
        """Return every port keyed by the component that listens on it."""
        ports = {
            "router": self.router,
            "router admin": self.router_admin,
            "bundle repository": self.repository,
        }
        for name, cell in zip(cell_names, self.cells, strict=True):
            ports[f"{name} service"] = cell.service
            ports[f"{name} sidecar"] = cell.sidecar
            ports[f"{name} sidecar admin"] = cell.sidecar_admin
            ports[f"{name} agent http"] = cell.agent_http
            ports[f"{name} agent diagnostic"] = cell.agent_diagnostic
            ports[f"{name} agent authz"] = cell.agent_authz
        return ports


def plan_ports(cell_count: int, base_port: int) -> PortPlan:
    """Plan ports from base_port, or pick free ones when base_port is 0."""
    if base_port == 0:
        return _free_port_plan(cell_count)
    highest = base_port + FIRST_CELL_OFFSET + CELL_STRIDE * cell_count
    if base_port < 1024 or highest > 65535:
        raise LocalRegionError(
            f"invalid --base-port {base_port}: {cell_count} cells need ports up to {highest}; "
            "expected 0 (free ports) or a port from 1024 to "
            f"{65535 - FIRST_CELL_OFFSET - CELL_STRIDE * cell_count}"
        )
    cells = tuple(
        CellPorts(*(base_port + FIRST_CELL_OFFSET + CELL_STRIDE * i + k for k in range(6)))
        for i in range(cell_count)
    )
    return PortPlan(base_port, base_port + 1, base_port + 2, cells)


def check_ports_free(ports: dict[str, int]) -> None:
    """Raise PortInUseError for the first port that 127.0.0.1 cannot bind."""
    for component, port in ports.items():
        if not is_port_free(port):
            raise PortInUseError(port, component)


def is_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The servers set SO_REUSEADDR too, so a port that an earlier run left in
        # TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def is_port_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def group_listens_on(group: int, port: int) -> bool:
    """Return whether a process of process group `group` has a TCP socket listening on port.

    A free port checked before a start can be taken by another process before the component
    binds it. The component then exits, but a readiness probe on the port can still succeed
    against the other process, so bring-up checks who listens. Linux only: it reads /proc.
    """
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    for pid in _group_members(group):
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return True
    return False


def _listening_inodes(port: int) -> set[str]:
    # Columns of /proc/net/tcp: sl, local address (hex IP:hex port), remote address,
    # state (0A is LISTEN), ..., inode in column 10.
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    return inodes


def _group_members(group: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name in brackets may contain spaces, so fields count from its end:
        # state, ppid, pgrp.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group:
            members.append(int(entry))
    return members


def free_ports(count: int) -> list[int]:
    """Return count distinct ports that 127.0.0.1 can bind now, below the ephemeral range.

    The kernel takes the source port of every outgoing connection from its ephemeral range
    (net.ipv4.ip_local_port_range). On a busy machine one of those connections can occupy
    a port picked in that range before the component binds it, so ports come from below
    it. A port another process binds explicitly can still be taken in between; bring-up
    then reports the component's failure to bind with its log.
    """
    low, _high = _ephemeral_range()
    candidates = list(range(LOWEST_FREE_PORT, low))
    if len(candidates) < count * 4:
        return _kernel_picked_ports(count)
    random.shuffle(candidates)
    ports: list[int] = []
    for port in candidates:
        if is_port_free(port):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise LocalRegionError(
        f"found only {len(ports)} free ports from {LOWEST_FREE_PORT} to {low - 1}, "
        f"{count} needed; stop some servers or pass a base port"
    )


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path(EPHEMERAL_RANGE_FILE).read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        # Linux's default range.
        return 32768, 60999


def _kernel_picked_ports(count: int) -> list[int]:
    # All sockets stay open until every port is picked, so no port is handed out twice.
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _free_port_plan(cell_count: int) -> PortPlan:
    ports = free_ports(3 + 6 * cell_count)
    cells = tuple(CellPorts(*ports[3 + 6 * i : 9 + 6 * i]) for i in range(cell_count))
    return PortPlan(ports[0], ports[1], ports[2], cells)
