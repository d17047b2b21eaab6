"""The table of invariants, rules, levels and per-cloud checks that docs/crossguard.md shows.

`python -m policies.crossguard.table` prints it; a test keeps the page equal to it.
"""

from .pack import INVARIANTS, RULES
from .rules.base import CLOUDS

CLOUD_TITLES = {"aws": "AWS", "gcp": "GCP", "kubernetes": "Kubernetes"}
NOT_APPLICABLE = "n/a"


def markdown_table() -> str:
    """Return one Markdown row per rule, in the order of the invariants."""
    header = ["Invariant", "Rule", "Level", *(CLOUD_TITLES[c] for c in CLOUDS)]
    rows = [_row(header), _row(["---"] * len(header))]
    for rule in RULES:
        cells = [
            f"{rule.invariant} {INVARIANTS[rule.invariant]}",
            f"`{rule.name}`",
            rule.level.value,
            *(_escape(rule.checks.get(cloud, NOT_APPLICABLE)) for cloud in CLOUDS),
        ]
        rows.append(_row(cells))
    return "\n".join(rows) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    print(markdown_table(), end="")
