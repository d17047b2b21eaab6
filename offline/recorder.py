"""A mock monitor that records every resource registration as the engine receives it.

Each record keeps the type, name, parent, provider reference, dependencies and the inputs
of the real RegisterResourceRequest, so tests and the policy pack see what `pulumi up`
would send to the engine.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pulumi.runtime.mocks import MockMonitor, Mocks

from offline.wire import UNKNOWN, plain_properties

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
# How the engine spells the provider it picks for a custom resource that names none.
DEFAULT_PROVIDER_NAME = "default"


@dataclass
class ResourceRecord:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    """Provider reference `urn::id`; the engine's default provider when the program gave none."""
    inputs: dict[str, Any]
    id: str | None = None
    """Physical ID of a custom resource after an update; None during a preview."""
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    secret_inputs: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    """Outputs the program asked the engine to keep secret, such as a generated private key."""
    protect: bool = False
    """Pulumi's protect option, which makes the engine refuse to delete the resource."""
    component_outputs: dict[str, Any] | None = None
    secret_outputs: list[str] = field(default_factory=list)
    """Top-level names of the registered component outputs that hold a secret."""
    output_registrations: int = 0
    """How many times the program called register_outputs for this resource."""

    @property
    def provider_urn(self) -> str | None:
        return self.provider.rsplit("::", 1)[0] if self.provider else None

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_TYPE_PREFIX)

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]


@dataclass
class Recording:
    """Every resource of one program run, in registration order."""

    stack: str
    project: str
    preview: bool
    resources: list[ResourceRecord] = field(default_factory=list)

    def by_urn(self) -> dict[str, ResourceRecord]:
        return {record.urn: record for record in self.resources}

    def of_type(self, type_: str) -> list[ResourceRecord]:
        return [record for record in self.resources if record.type == type_]

    def named(self, name: str) -> ResourceRecord:
        """Return the one resource with this logical name, or raise KeyError."""
        found = [record for record in self.resources if record.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources are named {name!r}")
        return found[0]

    def children(self, parent_urn: str) -> list[ResourceRecord]:
        return [record for record in self.resources if record.parent == parent_urn]

    def descendants(self, urn: str) -> list[ResourceRecord]:
        found: list[ResourceRecord] = []
        frontier = [urn]
        while frontier:
            current = frontier.pop()
            for child in self.children(current):
                found.append(child)
                frontier.append(child.urn)
        return found

    def stack_outputs(self) -> dict[str, Any]:
        stacks = self.of_type(STACK_TYPE)
        return (stacks[0].component_outputs or {}) if stacks else {}

    def to_json(self, redact_secrets: bool = True) -> list[dict[str, Any]]:
        """Return the records as JSON values, with each secret input and output as `[secret]`."""
        records = []
        for record in self.resources:
            item = asdict(record)
            if redact_secrets:
                for name in record.secret_inputs:
                    item["inputs"][name] = "[secret]"
                for name in [*record.secret_inputs, *record.additional_secret_outputs]:
                    if name in item["outputs"]:
                        item["outputs"][name] = "[secret]"
                for name in record.secret_outputs:
                    item["component_outputs"][name] = "[secret]"
            records.append(item)
        return json.loads(json.dumps(records, default=str))


class RecordingMonitor(MockMonitor):
    """MockMonitor that also keeps a ResourceRecord of each RegisterResource request."""

    def __init__(self, mocks: Mocks, recording: Recording) -> None:
        super().__init__(mocks)
        self.recording = recording
        self._records: dict[str, ResourceRecord] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        inputs, secret_inputs = plain_properties(request.object)
        custom = bool(request.custom)
        record = ResourceRecord(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=custom,
            parent=request.parent or None,
            provider=request.provider or self._default_provider(request.type, custom),
            inputs=inputs,
            dependencies=list(request.dependencies),
            property_dependencies={
                key: list(value.urns) for key, value in request.propertyDependencies.items()
            },
            secret_inputs=secret_inputs,
            additional_secret_outputs=list(dict.fromkeys(request.additionalSecretOutputs)),
            protect=bool(request.protect),
        )
        if request.type != STACK_TYPE and custom:
            record.outputs, _ = plain_properties(response.object)
            record.id = response.id or None
        self._records[record.urn] = record
        self.recording.resources.append(record)
        return response

    def RegisterResourceOutputs(self, request):
        record = self._records.get(request.urn)
        if record is not None:
            outputs, secret_outputs = plain_properties(request.outputs)
            record.component_outputs = outputs
            record.secret_outputs = secret_outputs
            record.output_registrations += 1
        return super().RegisterResourceOutputs(request)

    def _default_provider(self, type_: str, custom: bool) -> str | None:
        if not custom or type_.startswith(PROVIDER_TYPE_PREFIX):
            return None
        package = type_.split(":", 1)[0]
        prefix = f"urn:pulumi:{self.recording.stack}::{self.recording.project}"
        return f"{prefix}::pulumi:providers:{package}::{DEFAULT_PROVIDER_NAME}::{UNKNOWN}"
