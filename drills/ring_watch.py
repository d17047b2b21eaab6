"""Record when the router takes cells off its ring and puts them back, while a drill runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from localregion.region import LocalRegion

POLL_INTERVAL_SECONDS = 0.25


@dataclass(frozen=True)
class RingChange:
    """One cell leaving (on_ring False) or rejoining the router's ring, at a Unix time."""

    time: float
    cell: str
    on_ring: bool


class RingWatcher:
    """Polls the router's admin interface in a thread; a context manager that stops it.

    A healthy cell can leave the ring too, when its /healthz through the sidecar is denied
    because the agent exceeded the ext_authz timeout. These changes explain failures and
    moved users that the stopped cell alone does not.
    """

    def __init__(self, region: LocalRegion) -> None:
        self.region = region
        self.changes: list[RingChange] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ring-watcher", daemon=True)

    def __enter__(self) -> RingWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last: dict[str, bool] = {}
        while not self._stop.is_set():
            health = self.region.router_health()
            now = time.time()
            for cell, on_ring in health.items():
                if last.get(cell, True) != on_ring:
                    self.changes.append(RingChange(now, cell, on_ring))
                last[cell] = on_ring
            self._stop.wait(POLL_INTERVAL_SECONDS)

    def departures(self, cell: str | None = None, *, exclude: str | None = None) -> int:
        """Return how many times a cell left the ring, for one cell or all but `exclude`."""
        return sum(
            1
            for change in self.changes
            if not change.on_ring
            and (cell is None or change.cell == cell)
            and change.cell != exclude
        )
