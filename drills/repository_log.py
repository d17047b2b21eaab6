"""Count the bundle requests that the local region's repository (moto) served.

moto's server logs one access line per request, in werkzeug's format. werkzeug colours
some request lines (a 304 in cyan, for one) with ANSI escape codes, for example
    127.0.0.1 - - [04/Dec/2026 15:45:16] "\x1b[36mGET /b/bundles/a.tar.gz HTTP/1.1\x1b[0m" 304 -
and coloured and plain lines are counted alike.
"""

from __future__ import annotations

import re
from pathlib import Path

# The quoted request line, with werkzeug's optional colour codes around it.
_REQUEST_LINE = re.compile(
    r'"(?:\x1b\[[0-9;]*m)*(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+'
    r'(?:\x1b\[[0-9;]*m)*" (?P<status>\d{3})'
)


class RequestCounter:
    """Counts GET lines for one object key that the log gains after start() is called."""

    def __init__(self, log_path: Path, key: str) -> None:
        self.log_path = log_path
        self.key = key
        self._offset = 0

    def start(self) -> None:
        self._offset = self.log_path.stat().st_size

    def count(self) -> int:
        """Return the GETs of the key logged since start()."""
        return sum(self.count_by_status().values())

    def count_by_status(self) -> dict[int, int]:
        """Return the GETs of the key logged since start(), by response status."""
        with self.log_path.open("rb") as log:
            log.seek(self._offset)
            text = log.read().decode(errors="replace")
        counts: dict[int, int] = {}
        for line in text.splitlines():
            match = _REQUEST_LINE.search(line)
            if match is None or match["method"] != "GET":
                continue
            if not match["target"].split("?")[0].endswith(self.key):
                continue
            status = int(match["status"])
            counts[status] = counts.get(status, 0) + 1
        return counts
