"""The router's Envoy configuration as the reference program deploys it.

It comes out of the router ConfigMap of the `aws-us-east-1` stack in update mode, where
the cells' ingress addresses and the router's certificate are known, so the test checks
what the cluster would receive.
"""

import subprocess
from pathlib import Path

import pytest
import yaml
from program_harness import known, run_stack

from components.router_tls import TLS_DIRECTORY

ENVOY = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "envoy"


@pytest.fixture(scope="module")
def recording():
    return run_stack("aws-us-east-1", False)


@pytest.fixture(scope="module")
def bootstrap_text(recording) -> str:
    (config_map,) = [
        r
        for r in recording.of_type("kubernetes:core/v1:ConfigMap")
        if r.name == "region-router-config"
    ]
    return known(config_map.inputs["data"]["envoy.yaml"], "router bootstrap")


@pytest.fixture(scope="module")
def tls_secret(recording):
    (secret,) = [
        r for r in recording.of_type("kubernetes:core/v1:Secret") if r.name == "region-router-tls"
    ]
    return secret


def test_router_sends_to_every_cell_over_tls(bootstrap_text):
    clusters = yaml.safe_load(bootstrap_text)["static_resources"]["clusters"]
    cell_clusters = [c for c in clusters if c["name"].startswith("cell-")]
    assert [c["name"] for c in cell_clusters] == [
        "cell-cell-1",
        "cell-cell-2",
        "cell-cell-3",
        "cell-cell-4",
    ]
    for cluster in cell_clusters:
        (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
        host = endpoint["endpoint"]["address"]["socket_address"]
        assert host["address"].endswith(".elb.us-east-1.amazonaws.com")
        assert host["port_value"] == 443
        socket = cluster["transport_socket"]
        assert socket["name"] == "envoy.transport_sockets.tls"
        assert socket["typed_config"]["common_tls_context"]["tls_params"] == {
            "tls_minimum_protocol_version": "TLSv1_2"
        }


def test_aggregate_cluster_has_no_hosts(bootstrap_text):
    clusters = yaml.safe_load(bootstrap_text)["static_resources"]["clusters"]
    (any_cell,) = [c for c in clusters if c["name"] == "cells"]

    assert "load_assignment" not in any_cell
    assert "transport_socket" not in any_cell
    assert any_cell["cluster_type"]["typed_config"]["clusters"] == [
        "cell-cell-1",
        "cell-cell-2",
        "cell-cell-3",
        "cell-cell-4",
    ]


def test_router_listener_serves_tls(bootstrap_text):
    (listener,) = yaml.safe_load(bootstrap_text)["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    context = chain["transport_socket"]["typed_config"]["common_tls_context"]
    assert context["tls_certificates"] == [
        {
            "certificate_chain": {"filename": f"{TLS_DIRECTORY}/tls.crt"},
            "private_key": {"filename": f"{TLS_DIRECTORY}/tls.key"},
        }
    ]


def test_router_certificate_secret(recording, tls_secret):
    assert tls_secret.inputs["type"] == "kubernetes.io/tls"
    assert tls_secret.secret_inputs == ["stringData"]
    assert tls_secret.inputs["stringData"]["tls.crt"].startswith("-----BEGIN CERTIFICATE-----")
    (deployment,) = [
        r
        for r in recording.of_type("kubernetes:apps/v1:Deployment")
        if r.name == "region-router-deployment"
    ]
    volumes = deployment.inputs["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": "router-tls"}} in volumes


def test_router_bootstrap_passes_envoy_validation(bootstrap_text, tls_secret, tmp_path):
    # Envoy loads the certificate files while it validates, so they go to a scratch folder.
    for name in ("tls.crt", "tls.key"):
        (tmp_path / name).write_text(tls_secret.inputs["stringData"][name])
    path = tmp_path / "router.yaml"
    path.write_text(bootstrap_text.replace(TLS_DIRECTORY, str(tmp_path)))
    result = subprocess.run(
        [str(ENVOY), "--mode", "validate", "--disable-hot-restart", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"configuration '{path}' OK" in result.stdout + result.stderr
