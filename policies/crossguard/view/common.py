"""What every mapping module needs: the resource as it arrives, and its labels."""

import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from ..values import UNKNOWN, as_dict, is_unknown
from .model import LABEL_KEYS, NO_LABELS, Labels, Ref

KUBERNETES_PREFIX = "cellarch.io/"
KUBERNETES_MANAGED_BY = "app.kubernetes.io/managed-by"


@dataclass(frozen=True)
class Source:
    """One resource as a mapping function reads it: its identity and plain properties."""

    urn: str
    name: str
    type: str
    props: dict[str, Any]
    """Inputs for a resource policy, outputs for a stack policy, unknowns as UNKNOWN."""
    protect: bool | None = None
    provider_props: dict[str, Any] | None = None
    """Properties of the resource's provider, e.g. the AWS provider's default tags."""

    def ref(self, source: str, kind: str) -> Ref:
        return Ref(urn=self.urn, name=self.name, type=self.type, source=source, kind=kind)

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default)

    @property
    def module_and_class(self) -> tuple[str, str]:
        """Return the SDK module and class of the type, e.g. (`ec2`, `Vpc`)."""
        parts = self.type.split(":")
        if len(parts) != 3:
            return "", ""
        return parts[1].split("/")[0], parts[2]


def plain_labels(values: Any, carrier: str) -> Labels:
    """Labels kept under the plain keys, as AWS tags and GCP labels spell them."""
    if is_unknown(values):
        return Labels(values=UNKNOWN, carrier=carrier)
    mapping = as_dict(values)
    return Labels(
        values={key: mapping[key] for key in LABEL_KEYS if key in mapping}, carrier=carrier
    )


def kubernetes_labels(values: Any, carrier: str = "metadata.labels") -> Labels:
    """Labels under the `cellarch.io/` prefix, with the well-known managed-by key."""
    if is_unknown(values):
        return Labels(values=UNKNOWN, carrier=carrier)
    mapping = as_dict(values)
    result = {}
    for key in LABEL_KEYS:
        spelled = KUBERNETES_MANAGED_BY if key == "managed-by" else KUBERNETES_PREFIX + key
        if spelled in mapping:
            result[key] = mapping[spelled]
    return Labels(values=result, carrier=carrier)


def description_labels(description: Any) -> Labels:
    """Labels written as `key=value` words in a description, for types that carry none."""
    if is_unknown(description):
        return Labels(values=UNKNOWN, carrier="description")
    pairs = {}
    if isinstance(description, str):
        for word in description.split():
            key, sep, value = word.partition("=")
            if sep and key in LABEL_KEYS:
                pairs[key] = value
    return Labels(values=pairs, carrier="description")


def merged(first: Labels, second: Labels) -> Labels:
    """Return labels of `second` over `first`, e.g. resource tags over provider default tags."""
    if first.values is UNKNOWN or second.values is UNKNOWN:
        return Labels(values=UNKNOWN, carrier=second.carrier)
    return Labels(values={**first.values, **second.values}, carrier=second.carrier)


@functools.cache
def sdk_parameters(package: str, module: str, class_name: str) -> frozenset[str] | None:
    """Return the constructor parameters of a provider SDK's resource class.

    None when the SDK or the class is not installed, so the caller falls back to the
    properties it was sent.
    """
    try:
        sdk_module = importlib.import_module(
            package if module == "index" else f"{package}.{module}"
        )
        resource_class = getattr(sdk_module, class_name)
        init = getattr(resource_class, "_internal_init", resource_class.__init__)
        return frozenset(inspect.signature(init).parameters)
    except (ImportError, AttributeError, TypeError, ValueError):
        return None


def carries_parameter(source: Source, package: str, parameter: str, property_name: str) -> bool:
    """Tell whether the resource type accepts `parameter`, e.g. whether it can be tagged."""
    if property_name in source.props:
        return True
    module, class_name = source.module_and_class
    parameters = sdk_parameters(package, module, class_name)
    if parameters is None:
        return False
    return parameter in parameters


__all__ = [
    "NO_LABELS",
    "Source",
    "carries_parameter",
    "description_labels",
    "kubernetes_labels",
    "merged",
    "plain_labels",
]
