"""The local region: real Envoy sidecars, policy agents and a router on 127.0.0.1.

`LocalRegion` is imported on first use, so that `python -m localregion.service`, which
every cell runs, starts without loading the bring-up machinery.
"""

import importlib

__all__ = ["LocalRegion", "LocalRegionError"]

_EXPORTS = {"LocalRegion": "localregion.region", "LocalRegionError": "localregion.errors"}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'localregion' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
