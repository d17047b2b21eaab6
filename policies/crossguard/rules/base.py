"""How a rule becomes a CrossGuard policy: one definition, the SDK's policy object, metadata.

A rule is a check function plus what the docs and the offline report need: its invariant,
its enforcement level and what it checks on each cloud. `Rule.policy()` wraps the check in
the SDK's `ResourceValidationPolicy` or `StackValidationPolicy`. The wrapper maps the
engine's arguments into the view, runs the check, reports its violations and, last,
raises `ValuesNotKnownYet` for the values it could not evaluate during preview.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ..findings import Findings, ReportViolation
from ..property_checks import check_properties
from ..view.graph import StackView
from ..view.mapping import records_for, source_from_args
from ..view.model import Record

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
CLOUDS = ("aws", "gcp", "kubernetes")

ResourceCheck = Callable[[list[Record], Findings, Mapping[str, Any]], None]
StackCheck = Callable[[StackView, Findings, Mapping[str, Any]], None]


# The view of the last resource list seen. The offline runner hands every stack policy the
# same list, so the view is built once per run. The engine sends each policy a new list.
_last_view: tuple[list[PolicyResource], StackView] | None = None


def _stack_view(resources: list[PolicyResource]) -> StackView:
    global _last_view
    if _last_view is None or _last_view[0] is not resources:
        _last_view = (resources, StackView(resources))
    return _last_view[1]


@dataclass(frozen=True)
class Rule:
    name: str
    invariant: str
    """`I1` to `I11`."""
    description: str
    level: EnforcementLevel
    checks: Mapping[str, str]
    """What the rule checks on each cloud it applies to: `aws`, `gcp`, `kubernetes`."""
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    config: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """JSON schema of each configuration property, with its default."""

    def __post_init__(self) -> None:
        if (self.resource_check is None) == (self.stack_check is None):
            raise TypeError(f"rule {self.name} needs exactly one of resource_check, stack_check")
        unknown = set(self.checks) - set(CLOUDS)
        if unknown:
            raise TypeError(f"rule {self.name} names unknown clouds {sorted(unknown)}")

    @property
    def scope(self) -> str:
        return "resource" if self.resource_check is not None else "stack"

    def defaults(self) -> dict[str, Any]:
        return {
            key: schema["default"] for key, schema in self.config.items() if "default" in schema
        }

    def policy(self) -> Policy:
        schema = PolicyConfigSchema(properties=dict(self.config)) if self.config else None
        common = {
            "name": self.name,
            "description": self.description,
            "enforcement_level": self.level,
            "config_schema": schema,
            "tags": [self.invariant],
        }
        if self.resource_check is not None:
            return ResourceValidationPolicy(validate=self._validate_resource, **common)
        return StackValidationPolicy(validate=self._validate_stack, **common)

    def _settings(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        # A bad property value raises PolicyConfigError, which fails the analysis, so it
        # never switches a check off, whether or not the CLI checked it against the schema.
        return {**self.defaults(), **check_properties(self.name, self.config, config or {})}

    def _validate_resource(
        self, args: ResourceValidationArgs, report_violation: ReportViolation
    ) -> None:
        findings = Findings()
        settings = self._settings(args.get_config())
        records = records_for(source_from_args(args))
        if records:
            self.resource_check(records, findings, settings)
        findings.report(report_violation, with_urns=False)

    def _validate_stack(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        findings = Findings()
        view = _stack_view(args.resources)
        self.stack_check(view, findings, self._settings(args.get_config()))
        findings.report(report_violation, with_urns=True)
