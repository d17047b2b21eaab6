"""Result of one drill: the figures it measured and the checks it passed or failed."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Check:
    """One safety or timing property that a drill verified."""

    name: str
    passed: bool
    detail: str = ""
    # A safety check guards "no fault turns a deny into an allow" or "no request is lost".
    # Timing checks (latency, propagation delay) depend on the machine and are reported,
    # but the tests assert only the safety checks.
    safety: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Figure:
    """A measured value with its unit, e.g. ("p99 latency during outage", 4.1, "ms")."""

    name: str
    value: Any
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Table:
    """A table of figures: a title, column names and rows of values."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class DrillResult:
    """Everything a drill measured, in the order it was measured."""

    drill: str
    title: str
    quick: bool
    checks: list[Check] = dataclasses.field(default_factory=list)
    figures: list[Figure] = dataclasses.field(default_factory=list)
    tables: list[Table] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    duration_seconds: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        """True when the drill ran to the end and every check passed."""
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def safety_passed(self) -> bool:
        """True when the drill ran to the end and every safety check passed."""
        safety = [c for c in self.checks if c.safety]
        return self.error is None and bool(safety) and all(c.passed for c in safety)

    def check(self, name: str, passed: bool, detail: str = "", *, safety: bool = True) -> bool:
        """Record a check and return whether it passed."""
        self.checks.append(Check(name, bool(passed), detail, safety))
        return bool(passed)

    def figure(self, name: str, value: Any, unit: str = "") -> None:
        self.figures.append(Figure(name, value, unit))

    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "title": self.title,
            "quick": self.quick,
            "passed": self.passed,
            "safety_passed": self.safety_passed,
            "duration_seconds": round(self.duration_seconds, 1),
            "error": self.error,
            "checks": [c.to_dict() for c in self.checks],
            "figures": [f.to_dict() for f in self.figures],
            "tables": [t.to_dict() for t in self.tables],
            "notes": list(self.notes),
        }
