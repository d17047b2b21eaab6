"""Mutual TLS between the cells' collectors and the gateway: configs, Secrets, handshakes.

The handshakes use the certificates that the offline mocks generate for the stack's
pulumi-tls resources (real keys, requests and signatures) with Python's ssl module on
127.0.0.1, as the gateway and a cell's collector would use them.
"""

import contextlib
import dataclasses
import hashlib
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cell_harness import run_workloads, workloads_args

from components.errors import ConfigError
from components.kubernetes.collector import collector_config
from components.telemetry import trust
from components.telemetry.gateway_config import GatewaySpec, gateway_config
from tests.components.program_harness import CELLS_OF_STACK, run_stack

STACK = "aws-us-east-1"
GATEWAY_HOST = "otel.us-east-1.cells.internal"
TIMEOUT_SECONDS = 10


def secrets_named(stack: str, name: str) -> dict[str, dict[str, str]]:
    """Return the stringData of each Secret called `name`, by namespace."""
    recording = run_stack(stack, preview=False)
    return {
        record.inputs["metadata"].get("namespace", ""): record.inputs["stringData"]
        for record in recording.of_type("kubernetes:core/v1:Secret")
        if record.inputs["metadata"]["name"] == name
    }


def write_files(directory: Path, data: dict[str, str]) -> Path:
    directory.mkdir()
    for name, content in data.items():
        (directory / name).write_text(content)
    return directory


@pytest.fixture(scope="module")
def gateway_data():
    (data,) = secrets_named(STACK, "otel-gateway-tls").values()
    return data


@pytest.fixture(scope="module")
def client_data():
    return secrets_named(STACK, "otel-collector-tls")


@contextlib.contextmanager
def gateway_server(files: Path):
    """Accept one TLS connection on 127.0.0.1 as the gateway does: client certificate required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files / "tls.crt", files / "tls.key")
    context.load_verify_locations(files / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT_SECONDS)
    outcome: dict = {}

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            connection.settimeout(TIMEOUT_SECONDS)
            with context.wrap_socket(connection, server_side=True) as tls_connection:
                outcome["peer"] = tls_connection.getpeercert()
                tls_connection.sendall(b"ok")
        except (ssl.SSLError, OSError) as error:
            outcome["error"] = error

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1], outcome
    finally:
        listener.close()
        thread.join(TIMEOUT_SECONDS)


def exchange(port: int, ca_file: Path, hostname: str, client: Path | None) -> bytes:
    """Connect as a cell's collector does and return what the gateway sent."""
    context = ssl.create_default_context(cafile=ca_file)
    if client is not None:
        context.load_cert_chain(client / "tls.crt", client / "tls.key")
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_SECONDS)
    with raw, context.wrap_socket(raw, server_hostname=hostname) as connection:
        return connection.recv(2)


def common_name(peer: dict) -> str:
    return dict(item for entry in peer["subject"] for item in entry)["commonName"]


def test_gateway_receivers_require_client_certificates():
    spec = GatewaySpec("in-cluster", 512, 1000, "us-east-1", "http://p/api/v1/write", None, True)
    protocols = gateway_config(spec)["receivers"]["otlp"]["protocols"]
    for name in ("grpc", "http"):
        assert protocols[name]["tls"] == {
            "cert_file": "/etc/otelcol-tls/tls.crt",
            "key_file": "/etc/otelcol-tls/tls.key",
            "client_ca_file": "/etc/otelcol-tls/ca.crt",
            "min_version": "1.2",
            "reload_interval": "1h",
        }


def test_gateway_without_tls_serves_plain_otlp():
    spec = GatewaySpec("in-cluster", 512, 1000, "us-east-1", "http://p/api/v1/write")
    protocols = gateway_config(spec)["receivers"]["otlp"]["protocols"]
    assert protocols == {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}


def test_collector_exporter_presents_cell_certificate():
    config = collector_config(
        gateway_endpoint="otel.example.com:4317",
        insecure=False,
        resource_attributes={"cell": "cell-1"},
        client_certificate=True,
    )
    assert config["exporters"]["otlp"]["tls"] == {
        "insecure": False,
        "ca_file": "/etc/otelcol-tls/ca.crt",
        "cert_file": "/etc/otelcol-tls/tls.crt",
        "key_file": "/etc/otelcol-tls/tls.key",
        "min_version": "1.2",
        "reload_interval": "1h",
    }


def test_collector_rejects_insecure_with_certificate():
    with pytest.raises(
        ValueError, match="insecure and client_certificate cannot both be set: choose one"
    ):
        collector_config(
            gateway_endpoint="otel.example.com:4317",
            insecure=True,
            resource_attributes={},
            client_certificate=True,
        )


def test_each_cell_has_its_own_client_key(client_data, gateway_data):
    assert sorted(client_data) == [f"cell-{cell}" for cell in CELLS_OF_STACK[STACK]]
    keys = {data["tls.key"] for data in client_data.values()}
    assert len(keys) == len(client_data)
    assert {data["ca.crt"] for data in client_data.values()} == {gateway_data["ca.crt"]}
    assert gateway_data["tls.key"] not in keys


def test_collectors_mount_the_client_secret():
    recording = run_stack(STACK, preview=False)
    checked = 0
    for record in recording.of_type("kubernetes:apps/v1:Deployment"):
        spec = record.inputs["spec"]["template"]["spec"]
        collectors = [c for c in spec["containers"] if c["name"] == "otel-collector"]
        if not record.name.startswith("cell-") or not collectors:
            continue
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert volumes["collector-tls"]["secret"] == {
            "secretName": "otel-collector-tls",
            "defaultMode": 0o440,
        }, record.name
        assert {
            "name": "collector-tls",
            "mountPath": "/etc/otelcol-tls",
            "readOnly": True,
        } in collectors[0]["volumeMounts"], record.name
        checked += 1
    assert checked == 3 * len(CELLS_OF_STACK[STACK])


def test_gateway_mounts_its_certificate():
    recording = run_stack(STACK, preview=False)
    (deployment,) = [
        record
        for record in recording.of_type("kubernetes:apps/v1:Deployment")
        if record.inputs["metadata"]["name"] == "otel-gateway"
    ]
    template = deployment.inputs["spec"]["template"]
    spec = template["spec"]
    (gateway_secret,) = secrets_named(STACK, "otel-gateway-tls").values()
    volume = {"name": "tls", "secret": {"secretName": "otel-gateway-tls", "defaultMode": 0o440}}
    assert volume in spec["volumes"]
    assert spec["securityContext"]["fsGroup"] == 10001
    mounts = spec["containers"][0]["volumeMounts"]
    assert {"name": "tls", "mountPath": "/etc/otelcol-tls", "readOnly": True} in mounts
    ca_digest = hashlib.sha256(gateway_secret["ca.crt"].encode()).hexdigest()
    assert template["metadata"]["annotations"] == {"cellarch.io/telemetry-ca-sha256": ca_digest}


def test_cell_certificate_completes_handshake(tmp_path, gateway_data, client_data):
    gateway = write_files(tmp_path / "gateway", gateway_data)
    client = write_files(tmp_path / "client", client_data["cell-cell-2"])

    with gateway_server(gateway) as (port, outcome):
        received = exchange(port, client / "ca.crt", GATEWAY_HOST, client)

    assert received == b"ok"
    assert "error" not in outcome
    assert common_name(outcome["peer"]) == "cell cell-2"


def test_gateway_rejects_client_without_certificate(tmp_path, gateway_data, client_data):
    gateway = write_files(tmp_path / "gateway", gateway_data)
    client = write_files(tmp_path / "client", client_data["cell-cell-1"])

    with gateway_server(gateway) as (port, outcome), pytest.raises((ssl.SSLError, ConnectionError)):
        exchange(port, client / "ca.crt", GATEWAY_HOST, None)

    assert "peer" not in outcome
    assert isinstance(outcome["error"], ssl.SSLError)


def test_gateway_rejects_another_regions_cell(tmp_path, gateway_data):
    other = secrets_named("aws-eu-west-1", "otel-collector-tls")["cell-dublin-1"]
    gateway = write_files(tmp_path / "gateway", gateway_data)
    client = write_files(tmp_path / "client", {**other, "ca.crt": gateway_data["ca.crt"]})

    with gateway_server(gateway) as (port, outcome), pytest.raises((ssl.SSLError, ConnectionError)):
        exchange(port, client / "ca.crt", GATEWAY_HOST, client)

    assert "peer" not in outcome
    assert "certificate verify failed" in str(outcome["error"])


def test_gateway_certificate_is_no_client_certificate(tmp_path, gateway_data):
    gateway = write_files(tmp_path / "gateway", gateway_data)

    with gateway_server(gateway) as (port, outcome), pytest.raises((ssl.SSLError, ConnectionError)):
        exchange(port, gateway / "ca.crt", GATEWAY_HOST, gateway)

    assert "peer" not in outcome
    assert "unsuitable certificate purpose" in str(outcome["error"])


def test_collector_rejects_another_hostname(tmp_path, gateway_data, client_data):
    gateway = write_files(tmp_path / "gateway", gateway_data)
    client = write_files(tmp_path / "client", client_data["cell-cell-1"])

    with (
        gateway_server(gateway) as (port, _),
        pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"),
    ):
        exchange(port, client / "ca.crt", "otel.eu-west-1.cells.internal", client)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("otel.example.com:4317", "otel.example.com"),
        ("10.0.0.5:4317", "10.0.0.5"),
    ],
)
def test_endpoint_host_accepts_name_or_address(endpoint, expected):
    assert trust.endpoint_host(endpoint) == expected


@pytest.mark.parametrize(
    "endpoint",
    [
        "otel.example.com",
        "otel.example.com:0",
        "otel.example.com:70000",
        "..:4317",
        "otel..example.com:4317",
        "[fd00::5]:4317",
        "https://otel.example.com:4317",
        4317,
        "",
    ],
)
def test_endpoint_host_rejects_invalid_endpoint(endpoint):
    with pytest.raises(ConfigError, match="telemetry_endpoint") as error:
        trust.endpoint_host(endpoint)
    assert str(error.value).endswith(
        "expected HOST:PORT with a DNS name or IPv4 address and a port from 1 to 65535"
    )


def test_workloads_reject_endpoint_port_zero():
    args = dataclasses.replace(workloads_args(), telemetry_endpoint="otel.example.com:0")
    with pytest.raises(
        ConfigError, match=r"telemetry_endpoint: invalid value 'otel\.example\.com:0'"
    ):
        args.validate()


CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            ("not a certificate", CERTIFICATE, KEY),
            "gateway_tls.ca_certificate_pem: invalid value 'not a certificate'; expected a PEM "
            "certificate (-----BEGIN CERTIFICATE-----)",
        ),
        (
            (CERTIFICATE, KEY, CERTIFICATE),
            "gateway_tls.certificate_pem: invalid value '-----BEGIN EC PRIVATE KEY-----'; "
            "expected a PEM certificate (-----BEGIN CERTIFICATE-----)",
        ),
        (
            (CERTIFICATE, CERTIFICATE, 7),
            "gateway_tls.private_key_pem: invalid value 'int'; expected a PEM string or an "
            "output of one",
        ),
        (
            (CERTIFICATE, CERTIFICATE, None),
            "gateway_tls.private_key_pem: invalid value None; expected a PEM string or an "
            "output of one",
        ),
    ],
    ids=["not-pem", "swapped", "integer", "missing"],
)
def test_tls_args_reject_invalid_pem(values, message):
    with pytest.raises(ConfigError) as error:
        trust.TelemetryTLSArgs(*values).validate("gateway_tls")
    assert str(error.value) == message


def test_tls_args_accept_certificates_and_key():
    trust.TelemetryTLSArgs(CERTIFICATE, CERTIFICATE, KEY).validate("gateway_tls")


def _config_digests(ca_pem: str) -> dict[str, str]:
    def make_args():
        tls = trust.TelemetryTLSArgs(
            ca_pem, "-----BEGIN CERTIFICATE-----", "-----BEGIN EC PRIVATE KEY-----"
        )
        return dataclasses.replace(workloads_args(), telemetry_tls=tls)

    recording = run_workloads(preview=False, make_args=make_args)
    return {
        record.inputs["metadata"]["name"]: record.inputs["spec"]["template"]["metadata"][
            "annotations"
        ]["cellarch.io/config-sha256"]
        for record in recording.of_type("kubernetes:apps/v1:Deployment")
    }


def test_new_authority_rolls_the_cells_pods():
    first = _config_digests("-----BEGIN CERTIFICATE-----\nfirst\n")
    second = _config_digests("-----BEGIN CERTIFICATE-----\nsecond\n")

    assert sorted(first) == ["audit", "ledger", "orders"]
    for service, config_digest in first.items():
        assert second[service] != config_digest, service
