"""Map a resource, as the engine sends it to a policy, into records of the view."""

from typing import Any

from pulumi_policy import PolicyProviderResource, PolicyResource, ResourceValidationArgs

from ..values import plain
from . import aws, gcp, kubernetes
from .common import NO_LABELS, Source
from .model import Component, Record

COMPONENT_PACKAGE = "cellarch"
_MAPPERS = {"aws": aws.records, "gcp": gcp.records, "kubernetes": kubernetes.records}


def records_for(source: Source) -> list[Record]:
    """Return the records of one resource; [] for a type the view does not cover."""
    if source.type == kubernetes.PROVIDER_TYPE:
        return kubernetes.records(source)
    package = source.type.split(":", 1)[0]
    if package == COMPONENT_PACKAGE:
        return [
            Component(
                ref=source.ref(COMPONENT_PACKAGE, source.type.rsplit(":", 1)[-1]),
                labels=NO_LABELS,
                values=source.props,
            )
        ]
    mapper = _MAPPERS.get(package)
    return mapper(source) if mapper is not None else []


def source_from_args(args: ResourceValidationArgs) -> Source:
    """Return the source of a resource policy's arguments, which carry the inputs."""
    return Source(
        urn=args.urn,
        name=args.name,
        type=args.resource_type,
        props=plain(args.props),
        protect=_protect(args.opts),
        provider_props=_provider_props(args.provider),
    )


def source_from_resource(resource: PolicyResource) -> Source:
    """Return the source of one resource of a stack policy, which carries the outputs."""
    return Source(
        urn=resource.urn,
        name=resource.name,
        type=resource.resource_type,
        props=plain(resource.props),
        protect=_protect(resource.opts),
        provider_props=_provider_props(resource.provider),
    )


def _protect(opts: Any) -> bool | None:
    protect = getattr(opts, "protect", None)
    return protect if isinstance(protect, bool) else None


def _provider_props(provider: PolicyProviderResource | None) -> dict[str, Any] | None:
    if provider is None:
        return None
    props = plain(provider.props)
    return props if isinstance(props, dict) else None
