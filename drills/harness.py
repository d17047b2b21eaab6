"""Shared steps of the drills: bring a region up, find each cell's users, wait with deadlines."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from drills import http_probe, progress
from drills.errors import DrillError
from localregion.errors import LocalRegionError, PortInUseError
from localregion.region import LocalRegion

# Bring-ups of one region, when earlier ones failed only because a port was taken.
BRING_UP_ATTEMPTS = 3
# Tokens outlive the longest drill (the full repository outage runs about three minutes).
TOKEN_TTL_SECONDS = 3600


@contextlib.contextmanager
def running_region(drill: str, run_dir: Path, **options) -> Iterator[LocalRegion]:
    """Bring up a fresh local region for one drill and stop all of its processes after."""
    region = _start_region(drill, run_dir, options)
    try:
        yield region
    finally:
        region.stop()
    progress.step(drill, "stopped the local region")


def _start_region(drill: str, run_dir: Path, options: dict) -> LocalRegion:
    # The region picks free ports before its processes bind them, so another program on
    # the machine can take one in between. Such a bring-up stops what it started and is
    # tried again on newly picked ports; every other failure is raised at once.
    for attempt in range(1, BRING_UP_ATTEMPTS + 1):
        progress.step(drill, f"bringing up a local region in {run_dir}")
        region = LocalRegion(
            run_dir=run_dir,
            progress=lambda line: progress.step(drill, line),
            **options,
        )
        try:
            region.start()
        except LocalRegionError as error:
            if attempt == BRING_UP_ATTEMPTS or not _port_taken(error):
                raise
            progress.step(drill, f"bring-up failed because a port was taken ({error}); retrying")
            continue
        return region
    raise AssertionError("unreachable: the last attempt returns or raises")


# Messages of a bring-up that lost a port between planning and binding. The first is
# the bind error that Envoy, the agent and moto print, the second the region's own.
_PORT_TAKEN_MESSAGES = ("address already in use", "another process took the port")


def _port_taken(error: LocalRegionError) -> bool:
    message = str(error).lower()
    return isinstance(error, PortInUseError) or any(m in message for m in _PORT_TAKEN_MESSAGES)


def router_port(region: LocalRegion) -> int:
    return int(region.router_url.rsplit(":", 1)[1])


def sidecar_port(region: LocalRegion, cell: str) -> int:
    return region.cell(cell).ports.sidecar


def users_by_cell(region: LocalRegion, per_cell: int, *, max_users: int = 2000) -> dict[str, list]:
    """Return per_cell user ids per cell, found by asking the router where each one lands.

    The router assigns each x-user-id to one cell, and every service names its cell in
    x-cell, so GET /healthz with a user id shows the cell that user belongs to.
    """
    port = router_port(region)
    found: dict[str, list[str]] = {cell.name: [] for cell in region.cells}
    for number in range(max_users):
        user = f"user-{number:04d}"
        response = http_probe.send(port, "GET", "/healthz", [("x-user-id", user)])
        if response.status != 200 or response.cell not in found:
            raise DrillError(
                f"GET /healthz through the router for {user} returned {response.status} "
                f"from cell {response.cell!r} {response.error}; expected 200 from a known cell"
            )
        if len(found[response.cell]) < per_cell:
            found[response.cell].append(user)
        if all(len(users) == per_cell for users in found.values()):
            return found
    raise DrillError(
        f"after {max_users} user ids some cell still has fewer than {per_cell} users: "
        + ", ".join(f"{cell} {len(users)}" for cell, users in found.items())
    )


def wait_for(
    condition: Callable[[], bool], what: str, timeout: float, interval: float = 0.05
) -> float:
    """Poll condition until true and return the seconds it took; raise DrillError on timeout."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise DrillError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def wait_for_cell_on_ring(region: LocalRegion, cell: str, timeout: float = 30) -> float:
    """Wait until the router serves cell again; return the seconds it took.

    A cell whose agent is down fails the router's health checks (its /healthz is denied),
    so the router returns 503 to its users until its health checks pass again.
    """
    return wait_for(
        lambda: region.router_health().get(cell) is True,
        f"the router to serve {cell} again",
        timeout,
    )


def token_minter(region: LocalRegion) -> Callable[[str], str]:
    """Return caller -> token, one long-lived token per caller, minted on first use."""
    tokens: dict[str, str] = {}

    def token(caller: str) -> str:
        if caller not in tokens:
            tokens[caller] = region.token(caller, ttl_seconds=TOKEN_TTL_SECONDS)
        return tokens[caller]

    return token
