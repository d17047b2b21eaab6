"""Read the decisions that a policy agent logged to its console output.

The agent runs with `decision_logs: {console: true}`, so each decision is one JSON line
in its log file with `"msg": "Decision Log"`, the input document and the result.
"""

import copy
import json
from pathlib import Path

DECISION_LOG_MESSAGE = "Decision Log"
ERASED_HEADER_PREFIX = "/input/attributes/request/http/headers/"


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


def input_with_erased_headers(entry: dict, sent_headers: dict[str, str]) -> dict:
    """Return the entry's input with the headers that the log mask erased restored.

    The bundle's decision log mask erases credential headers, so the logged input lacks the
    token the policy decided on. The client's own headers, sent_headers, put it back.
    """
    restored = copy.deepcopy(entry["input"])
    headers = restored["attributes"]["request"]["http"]["headers"]
    sent = {name.lower(): value for name, value in sent_headers.items()}
    for pointer in entry.get("erased", []):
        if not pointer.startswith(ERASED_HEADER_PREFIX):
            raise ValueError(f"decision log entry erased {pointer!r}, which is not a header")
        name = pointer.removeprefix(ERASED_HEADER_PREFIX)
        headers[name] = sent[name]
    return restored
