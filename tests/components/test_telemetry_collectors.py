"""The generated collector configurations, run by a real collector over mutual TLS.

`otelcol-mini` (tools/otelcol, built by scripts/setup) is a collector of release v0.115.0,
the release of the cells' collector image, with the components those configurations name.
A cell's collector runs the configuration that CellWorkloads generates and sends to a
gateway that runs the receivers of the gateway's configuration, both on 127.0.0.1, with the
certificates the offline mocks generate for the aws-us-east-1 stack. Changes for the test:
ports, file paths, the name the cell expects on the gateway's certificate (it dials
127.0.0.1), and no listener for the collectors' own metrics.
"""

import contextlib
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from components.kubernetes.collector import collector_config
from components.telemetry import trust
from components.telemetry.gateway_config import GatewaySpec, gateway_config
from localregion.ports import free_ports
from localregion.readiness import Deadline, port_listening, wait_until
from tests.components.test_telemetry_tls import GATEWAY_HOST, secrets_named, write_files

COLLECTOR = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "otelcol-mini"
STACK = "aws-us-east-1"
START_SECONDS = 30
# The cell's batch processor waits up to 5 s before it sends, and a failed export is
# retried after about 1 s.
DELIVERY_SECONDS = 30


def with_files(value, directory: Path):
    """Return value with every path under trust.TLS_DIRECTORY moved to directory."""
    if isinstance(value, dict):
        return {key: with_files(item, directory) for key, item in value.items()}
    if isinstance(value, list):
        return [with_files(item, directory) for item in value]
    if isinstance(value, str) and value.startswith(trust.TLS_DIRECTORY + "/"):
        return str(directory / value.removeprefix(trust.TLS_DIRECTORY + "/"))
    return value


def gateway_document(files: Path, grpc_port: int, http_port: int) -> dict:
    spec = GatewaySpec("in-cluster", 512, 1000, "us-east-1", "http://p/api/v1/write", None, True)
    receivers = with_files(gateway_config(spec)["receivers"], files)
    protocols = receivers["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"127.0.0.1:{grpc_port}"
    protocols["http"]["endpoint"] = f"127.0.0.1:{http_port}"
    return {
        "receivers": receivers,
        "exporters": {"debug": {"verbosity": "detailed"}},
        "service": {
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["debug"]}},
            "telemetry": {"metrics": {"level": "none"}},
        },
    }


def cell_document(files: Path, gateway_port: int, ports: list[int]) -> dict:
    document = with_files(
        collector_config(
            gateway_endpoint=f"127.0.0.1:{gateway_port}",
            insecure=False,
            resource_attributes={"cell": "cell-2", "region": "us-east-1"},
            client_certificate=True,
        ),
        files,
    )
    document["exporters"]["otlp"]["tls"]["server_name_override"] = GATEWAY_HOST
    protocols = document["receivers"]["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"127.0.0.1:{ports[0]}"
    protocols["http"]["endpoint"] = f"127.0.0.1:{ports[1]}"
    document["extensions"]["health_check"]["endpoint"] = f"127.0.0.1:{ports[2]}"
    document["service"]["telemetry"] = {"metrics": {"level": "none"}}
    return document


@contextlib.contextmanager
def running_collector(name: str, document: dict, directory: Path, port: int):
    """Run otelcol-mini with document until the block ends; yield the path of its log."""
    config = directory / f"{name}.json"
    config.write_text(json.dumps(document))
    log = directory / f"{name}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(COLLECTOR), f"--config=file:{config}"], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until(
            lambda: process.poll() is None and port_listening(port)(),
            f"{name} collector on port {port} (log: {log})",
            Deadline(START_SECONDS),
        )
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def validate(document: dict, config: Path) -> subprocess.CompletedProcess:
    """Write document to config and run the collector's `validate` command on it."""
    config.write_text(json.dumps(document))
    return subprocess.run(
        [str(COLLECTOR), "validate", f"--config=file:{config}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def send_span(port: int, span_name: str) -> None:
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": span_name,
        "kind": 1,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
    }
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": [span]}],
            }
        ]
    }
    response = httpx.post(
        f"http://127.0.0.1:{port}/v1/traces", json=body, timeout=5.0, trust_env=False
    )
    assert response.status_code == 200, response.text


def wait_for_text(log: Path, text: str, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if text in log.read_text():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def certificates(tmp_path):
    (gateway,) = secrets_named(STACK, "otel-gateway-tls").values()
    cells = secrets_named(STACK, "otel-collector-tls")
    other = secrets_named("aws-eu-west-1", "otel-collector-tls")["cell-dublin-1"]
    return {
        "gateway": write_files(tmp_path / "gateway", gateway),
        "cell": write_files(tmp_path / "cell", cells["cell-cell-2"]),
        # Another region's cell, which trusts this gateway's authority but was signed by
        # its own.
        "stranger": write_files(tmp_path / "stranger", {**other, "ca.crt": gateway["ca.crt"]}),
    }


@contextlib.contextmanager
def gateway_and_cell(tmp_path: Path, gateway_files: Path, cell_files: Path):
    """Run a gateway and a cell's collector that sends to it; yield the cell's OTLP/HTTP
    port and both logs."""
    ports = free_ports(5)
    gateway = gateway_document(gateway_files, ports[0], ports[1])
    cell = cell_document(cell_files, ports[0], ports[2:])
    with (
        running_collector("gateway", gateway, tmp_path, ports[0]) as gateway_log,
        running_collector("cell", cell, tmp_path, ports[3]) as cell_log,
    ):
        yield ports[3], gateway_log, cell_log


def test_cell_collector_delivers_to_gateway(tmp_path, certificates):
    with gateway_and_cell(tmp_path, certificates["gateway"], certificates["cell"]) as run:
        cell_port, gateway_log, cell_log = run
        send_span(cell_port, "mtls-delivered")
        delivered = wait_for_text(gateway_log, "mtls-delivered", DELIVERY_SECONDS)

    log = gateway_log.read_text()
    assert delivered, cell_log.read_text()[-3000:]
    assert "cell: Str(cell-2)" in log
    assert "region: Str(us-east-1)" in log


def test_gateway_refuses_another_regions_cell(tmp_path, certificates):
    with gateway_and_cell(tmp_path, certificates["gateway"], certificates["stranger"]) as run:
        cell_port, gateway_log, cell_log = run
        send_span(cell_port, "mtls-refused")
        # The export fails once the batch is sent; the gateway never logs the span.
        failed = wait_for_text(cell_log, "Exporting failed", DELIVERY_SECONDS)

    assert failed, cell_log.read_text()[-3000:]
    assert "mtls-refused" not in gateway_log.read_text()


def test_collector_rejects_client_ca_typo(tmp_path, certificates):
    """The collector checks the TLS keys by name, so this test would catch a misspelled one."""
    ports = free_ports(2)
    gateway = gateway_document(certificates["gateway"], ports[0], ports[1])
    tls = gateway["receivers"]["otlp"]["protocols"]["grpc"]["tls"]
    tls["client_ca_fiel"] = tls.pop("client_ca_file")

    completed = validate(gateway, tmp_path / "typo.json")

    assert completed.returncode != 0
    assert "client_ca_fiel" in completed.stdout + completed.stderr


def test_generated_configs_validate(tmp_path, certificates):
    for name, document in (
        ("gateway", gateway_document(certificates["gateway"], 14317, 14318)),
        ("cell", cell_document(certificates["cell"], 14317, [14327, 14328, 14333])),
    ):
        completed = validate(document, tmp_path / f"{name}.json")
        assert completed.returncode == 0, name + ": " + completed.stdout + completed.stderr
