"""Pulumi components of the four-plane cell architecture.

The component classes are imported on first use, so that `components.sidecar`, the
configuration generator that the local region also uses, imports without loading Pulumi.
"""

import importlib

_EXPORTS = {
    "Cell": "components.cell",
    "CellArgs": "components.cell",
    "Region": "components.region",
    "RegionArgs": "components.region",
    "GovernancePlane": "components.governance",
    "GovernancePlaneArgs": "components.governance",
    "ObservabilityStack": "components.observability",
    "ObservabilityStackArgs": "components.observability",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
