"""What one run of a rule found: violations, and values it could not evaluate yet.

A rule never treats an unknown value as compliant. It records the value with `unknown`,
goes on checking everything else, and `report` raises `ValuesNotKnownYet` at the end. The
SDK's servicer turns that exception into an advisory diagnostic that says the policy could
not run on those values during preview, next to any violation reported before it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

ReportViolation = Callable[..., None]
# Unknown values named in one diagnostic; the rest are counted.
_MAX_LISTED_UNKNOWNS = 8


@dataclass(frozen=True)
class Violation:
    message: str
    urn: str | None = None


@dataclass(frozen=True)
class UnknownValue:
    subject: str
    """The resource, as `<kind> <name>`."""
    value: str
    """The property or fact that is unknown, e.g. `kmsKeyId` or `the agent configuration`."""


class ValuesNotKnownYet(UnknownValueError):
    """Raised after a rule has reported its violations, for the values it could not read."""

    def __init__(self, unknowns: list[UnknownValue]) -> None:
        super().__init__(UNKNOWN_STRING_VALUE, [])
        self.unknowns = unknowns
        listed = [f"{u.subject}: {u.value}" for u in unknowns[:_MAX_LISTED_UNKNOWNS]]
        more = len(unknowns) - len(listed)
        suffix = f"; and {more} more" if more > 0 else ""
        self.message = (
            "could not evaluate yet, because these values are unknown until the update: "
            + "; ".join(listed)
            + suffix
        )


@dataclass
class Findings:
    violations: list[Violation] = field(default_factory=list)
    unknowns: list[UnknownValue] = field(default_factory=list)

    def violation(self, message: str, urn: str | None = None) -> None:
        self.violations.append(Violation(message, urn))

    def unknown(self, subject: str, value: str) -> None:
        entry = UnknownValue(subject, value)
        if entry not in self.unknowns:
            self.unknowns.append(entry)

    def report(self, report_violation: ReportViolation, *, with_urns: bool) -> None:
        """Report every violation, then raise ValuesNotKnownYet if any value was unknown.

        A resource policy reports without URNs, because the engine attaches the resource's.
        """
        for violation in self.violations:
            if with_urns and violation.urn:
                report_violation(violation.message, violation.urn)
            else:
                report_violation(violation.message)
        if self.unknowns:
            raise ValuesNotKnownYet(list(self.unknowns))
