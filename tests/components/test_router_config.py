"""The router's Envoy configuration as the reference program deploys it.

It comes out of the router ConfigMap of the `aws-us-east-1` stack in update mode, where
the cells' ingress addresses are known, so the test checks what the cluster would receive.
"""

import subprocess
from pathlib import Path

import pytest
import yaml
from program_harness import known, run_stack

ENVOY = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy"


@pytest.fixture(scope="module")
def bootstrap_text() -> str:
    recording = run_stack("aws-us-east-1", False)
    (config_map,) = [
        r
        for r in recording.of_type("kubernetes:core/v1:ConfigMap")
        if r.name == "region-router-config"
    ]
    return known(config_map.inputs["data"]["envoy.yaml"], "router bootstrap")


def test_router_sends_to_every_cell_over_tls(bootstrap_text):
    clusters = yaml.safe_load(bootstrap_text)["static_resources"]["clusters"]
    (cells,) = [c for c in clusters if c["name"] == "cells"]
    hosts = [
        endpoint["endpoint"]["address"]["socket_address"]
        for endpoint in cells["load_assignment"]["endpoints"][0]["lb_endpoints"]
    ]
    assert len(hosts) == 4
    for host in hosts:
        assert host["address"].endswith(".elb.us-east-1.amazonaws.com")
        assert host["port_value"] == 443
    socket = cells["transport_socket"]
    assert socket["name"] == "envoy.transport_sockets.tls"
    assert socket["typed_config"]["common_tls_context"]["tls_params"] == {
        "tls_minimum_protocol_version": "TLSv1_2"
    }


def test_router_bootstrap_passes_envoy_validation(bootstrap_text, tmp_path):
    path = tmp_path / "router.yaml"
    path.write_text(bootstrap_text)
    result = subprocess.run(
        [str(ENVOY), "--mode", "validate", "--disable-hot-restart", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"configuration '{path}' OK" in result.stdout + result.stderr
