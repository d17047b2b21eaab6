"""Record when the router takes cells out and puts them back, while a drill runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from localregion.region import LocalRegion

POLL_INTERVAL_SECONDS = 0.25


@dataclass(frozen=True)
class HealthChange:
    """One cell taken out (served False) or put back (served True) by the router."""

    time: float
    """Unix time of the poll that saw the change."""
    cell: str
    served: bool


class HealthWatcher:
    """Poller of the health of the router's cell clusters, in a thread it stops on exit.

    A healthy cell can be taken out too, when its /healthz through the sidecar is denied
    because the agent exceeded the ext_authz timeout. Such changes explain failures of
    users that the stopped cell alone does not.
    """

    def __init__(self, region: LocalRegion) -> None:
        self.region = region
        self.changes: list[HealthChange] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-watcher", daemon=True)

    def __enter__(self) -> HealthWatcher:
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
            for cell, served in health.items():
                if last.get(cell, True) != served:
                    self.changes.append(HealthChange(now, cell, served))
                last[cell] = served
            self._stop.wait(POLL_INTERVAL_SECONDS)

    def removals(self, cell: str | None = None, *, exclude: str | None = None) -> int:
        """Return how many times a cell was taken out, for one cell or all but `exclude`."""
        return sum(
            1
            for change in self.changes
            if not change.served
            and (cell is None or change.cell == cell)
            and change.cell != exclude
        )

    def first_change(self, cell: str, served: bool, after: float) -> float | None:
        """Return the Unix time the watcher first saw cell change to `served` after `after`."""
        return next(
            (
                change.time
                for change in self.changes
                if change.cell == cell and change.served == served and change.time >= after
            ),
            None,
        )
