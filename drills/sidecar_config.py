"""Settings read back from a generated sidecar configuration."""

from __future__ import annotations

from pathlib import Path

import yaml


def ext_authz_timeout_seconds(sidecar_config: Path) -> float:
    """Return the ext_authz gRPC timeout of a generated sidecar configuration, in seconds."""
    config = yaml.safe_load(sidecar_config.read_text())
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                for http_filter in network_filter["typed_config"].get("http_filters", []):
                    if http_filter["name"] == "envoy.filters.http.ext_authz":
                        timeout = http_filter["typed_config"]["grpc_service"]["timeout"]
                        return float(timeout.rstrip("s"))
    raise ValueError(f"no ext_authz filter in {sidecar_config}")
