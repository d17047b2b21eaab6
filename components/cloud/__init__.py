"""Cloud-specific parts of a cell, one module per cloud and concern.

`seams_for` returns one cloud's implementations. It imports only that cloud's modules, so
an AWS program never loads the GCP SDK.
"""

import importlib

from components.cloud.base import CloudSeams

CLOUDS = ("aws", "gcp")


def seams_for(cloud: str) -> CloudSeams:
    """Return the seams of `cloud` (`aws` or `gcp`)."""
    if cloud not in CLOUDS:
        raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}")
    prefix = cloud.capitalize()

    def seam(concern: str):
        module = importlib.import_module(f"components.cloud.{cloud}.{concern}")
        return getattr(module, f"{prefix}{concern.capitalize()}Seam")()

    return CloudSeams(
        key=seam("key"),
        network=seam("network"),
        cluster=seam("cluster"),
        database=seam("database"),
        ingress=seam("ingress"),
        identity=seam("identity"),
    )
