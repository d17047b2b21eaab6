"""The binaries the local region runs, from .tools/ as scripts/setup installs them."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from localregion.errors import LocalRegionError

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = ROOT / ".tools" / "bin"


@dataclass(frozen=True)
class Tools:
    envoy: str
    policy_agent: str
    opa: str
    python: str


def find_tools(bin_dir: Path = TOOLS_BIN) -> Tools:
    """Return the paths of envoy, policy-agent and opa; raise if one is missing."""
    paths = {}
    for name in ("envoy", "policy-agent", "opa"):
        path = bin_dir / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LocalRegionError(f"{name} not found at {path}; run scripts/setup to build it")
        paths[name.replace("-", "_")] = str(path)
    return Tools(python=sys.executable, **paths)
