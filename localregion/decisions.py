"""Read the decisions that a policy agent logged to its console output.

The agent runs with `decision_logs: {console: true}`, so each decision is one JSON line
in its log file with `"msg": "Decision Log"`, the input document and the result.
"""

import json
from pathlib import Path

DECISION_LOG_MESSAGE = "Decision Log"


def read_decisions(log_path: Path) -> list[dict]:
    """Return every decision log entry of the file, oldest first."""
    entries = []
    with log_path.open(errors="replace") as log:
        for line in log:
            if DECISION_LOG_MESSAGE not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == DECISION_LOG_MESSAGE:
                entries.append(entry)
    return entries


def decision_for_header(entries: list[dict], header: str, value: str) -> dict | None:
    """Return the last entry whose request carried header: value, or None."""
    for entry in reversed(entries):
        http = entry.get("input", {}).get("attributes", {}).get("request", {}).get("http", {})
        if http.get("headers", {}).get(header) == value:
            return entry
    return None
