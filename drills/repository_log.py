"""Count the bundle requests that the local region's repository (moto) served.

moto's server logs one access line per request, in werkzeug's format:
    127.0.0.1 - - [04/Dec/2026 15:20:01] "GET /b/bundles/authz/current/bundle.tar.gz HTTP/1.1" 304 -
"""

from __future__ import annotations

from pathlib import Path


class RequestCounter:
    """Counts GET lines for one object key that the log gains after start() is called."""

    def __init__(self, log_path: Path, key: str) -> None:
        self.log_path = log_path
        self.key = key
        self._offset = 0

    def start(self) -> None:
        self._offset = self.log_path.stat().st_size

    def count(self) -> int:
        with self.log_path.open("rb") as log:
            log.seek(self._offset)
            text = log.read().decode(errors="replace")
        return sum(1 for line in text.splitlines() if '"GET ' in line and self.key in line)
