"""Component provider of the package `cellarch`, which `pulumi package add` launches.

The components live in the repository's `components` package, one folder up, so the
repository root goes on the import path first. The plugin has a folder of its own because
the Python plugin host runs `__main__.py`, and the root's `__main__.py` deploys a region.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from components import Cell, GovernancePlane, ObservabilityStack, Region  # noqa: E402

PACKAGE = "cellarch"
VERSION = "0.1.0"
COMPONENTS = [Cell, Region, GovernancePlane, ObservabilityStack]

if __name__ == "__main__":
    component_provider_host(components=COMPONENTS, name=PACKAGE, version=VERSION)
