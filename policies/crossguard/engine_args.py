"""The arguments the Pulumi engine gives a policy, built from a recording of the offline preview.

The engine calls a pack's `Analyze` once per registered resource with the resource's inputs,
and `AnalyzeStack` once with every resource's outputs, parent, dependencies and property
dependencies (Pulumi's `pkg/resource/deploy/step_generator.go`). Both send each resource's
provider with the provider's inputs. The policy SDK turns the protobuf `Struct` it receives
into plain values and wraps them in a proxy that raises `UnknownValueError` on an unknown.
This module does the same with the recorded values, including the trip through `Struct`,
which makes every number a float as it is for a policy under the engine.
"""

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from offline.recorder import Recording, ResourceRecord
from offline.wire import ARCHIVE_SIGNATURE, ASSET_SIGNATURE, SIGNATURE_KEY

PROVIDER_TYPE_PREFIX = "pulumi:providers:"


def engine_properties(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return recorded values as the policy SDK presents what the engine sent."""
    struct = struct_pb2.Struct()
    struct.update(_wire(dict(values)))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _wire(value: Any) -> Any:
    """Put back the signatures of assets and archives, which the recording keeps unwrapped."""
    if isinstance(value, list):
        return [_wire(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"asset"} and isinstance(value["asset"], dict):
        return {SIGNATURE_KEY: ASSET_SIGNATURE, **value["asset"]}
    if set(value) == {"archive"} and isinstance(value["archive"], dict):
        archive = dict(value["archive"])
        if "assets" in archive:
            archive["assets"] = {k: _wire(v) for k, v in archive["assets"].items()}
        return {SIGNATURE_KEY: ARCHIVE_SIGNATURE, **archive}
    return {key: _wire(item) for key, item in value.items()}


def options(record: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=record.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=record.parent,
    )


class EngineView:
    """The resources of one recording, with their providers, as the engine would send them."""

    def __init__(self, recording: Recording, stack_config: Mapping[str, str] | None = None):
        self.recording = recording
        self._by_urn = recording.by_urn()
        self._stack_config = dict(stack_config or {})

    def provider(self, record: ResourceRecord) -> PolicyProviderResource | None:
        """Return the provider of a custom resource, with the provider's inputs."""
        urn = record.provider_urn
        if urn is None:
            return None
        provider_record = self._by_urn.get(urn)
        provider_type = urn.split("::")[-2].split("$")[-1]
        if provider_record is not None:
            props = provider_record.inputs
        else:
            # A default provider: the engine configures it from the stack's config keys
            # of its package, e.g. `aws:region`.
            package = provider_type[len(PROVIDER_TYPE_PREFIX) :]
            props = {
                key.split(":", 1)[1]: value
                for key, value in self._stack_config.items()
                if key.startswith(f"{package}:")
            }
        return PolicyProviderResource(
            resource_type=provider_type,
            props=engine_properties(props),
            urn=urn,
            name=urn.rsplit("::", 1)[-1],
        )

    def resource_args(
        self, record: ResourceRecord, config: Mapping[str, Any] | None
    ) -> ResourceValidationArgs:
        """Return what a resource policy receives for one registered resource."""
        return ResourceValidationArgs(
            resource_type=record.type,
            props=engine_properties(record.inputs),
            urn=record.urn,
            name=record.name,
            opts=options(record),
            provider=self.provider(record),
            config=config,
            stack_tags={},
        )

    @staticmethod
    def with_config(
        args: ResourceValidationArgs, config: Mapping[str, Any] | None
    ) -> ResourceValidationArgs:
        """Return the same resource's arguments with one policy's config."""
        return ResourceValidationArgs(
            resource_type=args.resource_type,
            props=args.props,
            urn=args.urn,
            name=args.name,
            opts=args.opts,
            provider=args.provider,
            config=config,
            stack_tags=args.stack_tags,
        )

    def stack_resources(self) -> list[PolicyResource]:
        """Return every resource as a stack policy receives it, linked to parent and
        dependencies the way the policy SDK links them."""
        built: dict[str, PolicyResource] = {}
        for record in self.recording.resources:
            built[record.urn] = PolicyResource(
                resource_type=record.type,
                props=engine_properties(_outputs(record)),
                urn=record.urn,
                name=record.name,
                opts=options(record),
                provider=self.provider(record),
                parent=None,
                dependencies=[],
                property_dependencies={},
            )
        for record in self.recording.resources:
            resource = built[record.urn]
            if record.parent in built:
                resource.parent = built[record.parent]
            resource.dependencies = [built[urn] for urn in record.dependencies if urn in built]
            resource.property_dependencies = {
                key: [built[urn] for urn in urns if urn in built]
                for key, urns in record.property_dependencies.items()
                if urns
            }
        return list(built.values())


def _outputs(record: ResourceRecord) -> dict[str, Any]:
    """Return what the engine keeps as a resource's outputs: a custom resource's state, or
    the outputs a component or the stack registered."""
    if record.custom:
        return record.outputs
    return record.component_outputs or {}
