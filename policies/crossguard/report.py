"""Report of one offline run of the pack, with its diagnostics grouped by invariant and resource."""

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from pulumi_policy import EnforcementLevel

from .pack import INVARIANTS, PACK_NAME


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic as the engine would show it: a violation, or a policy that could not
    evaluate some values during preview."""

    policy: str
    invariant: str
    level: EnforcementLevel
    urn: str
    """The resource the diagnostic is about; the stack's URN for a stack-wide one."""
    detail: str
    """The rule's own message, without the policy's description in front."""
    description: str
    evaluated: bool = True
    """False for the advisory "can't run policy ... during preview" diagnostic."""

    @property
    def message(self) -> str:
        """Return the message as the policy SDK builds it: description, then detail."""
        if not self.evaluated:
            return (
                f"can't run policy '{self.policy}' from policy pack '{PACK_NAME}' during "
                f"preview: {self.detail}"
            )
        return f"{self.description}\n{self.detail}" if self.detail else self.description


@dataclass
class Report:
    stack: str
    preview: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)
    resource_count: int = 0
    policy_count: int = 0

    @property
    def violations(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.evaluated]

    @property
    def not_evaluated(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.evaluated]

    @property
    def mandatory_count(self) -> int:
        return sum(1 for d in self.violations if d.level == EnforcementLevel.MANDATORY)

    @property
    def advisory_count(self) -> int:
        return sum(1 for d in self.violations if d.level == EnforcementLevel.ADVISORY)

    def of_policy(self, policy: str) -> list[Diagnostic]:
        return [d for d in self.violations if d.policy == policy]

    def details(self, policy: str) -> list[str]:
        """Return the messages a policy reported, sorted, for assertions and summaries."""
        return sorted(d.detail for d in self.of_policy(policy))

    def lines(self) -> list[str]:
        """Return the report as text lines: violations grouped by invariant, then by
        resource, then what could not be evaluated, then the counts."""
        mode = "preview" if self.preview else "update"
        lines = [
            f"policy pack: {self.policy_count} policies over {self.resource_count} resources "
            f"of stack {self.stack} ({mode})"
        ]
        for invariant, title in INVARIANTS.items():
            found = [d for d in self.violations if d.invariant == invariant]
            if not found:
                continue
            lines.extend(["", f"{invariant} {title}"])
            for urn, diagnostics in _by_resource(found):
                lines.append(f"  {_resource_name(urn)}")
                for diagnostic in diagnostics:
                    lead = f"    [{diagnostic.level.value}] {diagnostic.policy}: "
                    for index, line in enumerate(diagnostic.detail.splitlines() or [""]):
                        lines.append((lead if index == 0 else " " * len(lead)) + line)
        if self.not_evaluated:
            lines.extend(["", "Not evaluated yet (values unknown until the update)"])
            for urn, diagnostics in _by_resource(self.not_evaluated):
                lines.append(f"  {_resource_name(urn)}")
                for diagnostic in diagnostics:
                    lines.append(f"    [advisory] {diagnostic.policy}: {diagnostic.detail}")
        lines.extend(
            [
                "",
                f"{self.mandatory_count} mandatory and {self.advisory_count} advisory "
                f"violations; {len(self.not_evaluated)} policy runs could not evaluate every "
                "value",
            ]
        )
        return lines

    def print(self, file: TextIO | None = None) -> None:
        """Write `lines()` to `file`, standard output by default."""
        out = file or sys.stdout
        for line in self.lines():
            out.write(line + "\n")

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON values, one entry per diagnostic."""
        return {
            "stack": self.stack,
            "mode": "preview" if self.preview else "update",
            "policies": self.policy_count,
            "resources": self.resource_count,
            "mandatory": self.mandatory_count,
            "advisory": self.advisory_count,
            "diagnostics": [
                {
                    "policy": d.policy,
                    "invariant": d.invariant,
                    "level": d.level.value,
                    "urn": d.urn,
                    "message": d.detail,
                    "evaluated": d.evaluated,
                }
                for d in self.diagnostics
            ],
        }


def _by_resource(diagnostics: Iterable[Diagnostic]) -> list[tuple[str, list[Diagnostic]]]:
    grouped: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        grouped.setdefault(diagnostic.urn, []).append(diagnostic)
    return list(grouped.items())


def _resource_name(urn: str) -> str:
    """Return `type name` of a URN, e.g. `aws:rds/instance:Instance cell-1-db`."""
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    return f"{parts[-2].split('$')[-1]} {parts[-1]}"
