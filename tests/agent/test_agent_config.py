"""A bad plugin configuration stops the agent with one line, before it listens anywhere."""

import socket
import subprocess
from pathlib import Path

import pytest

from bench.ports import free_ports
from components.sidecar import write_yaml
from localregion.ports import is_port_listening
from localregion.repository import child_environment
from tests.agent.harness import POLICY_AGENT

PLUGIN = "plugins.envoy_ext_authz_wasm"
LOOPBACK = "'127.0.0.1:PORT', '[::1]:PORT' or 'unix:///absolute/path.sock'"


def run_agent(directory: Path, plugin: object) -> tuple[subprocess.CompletedProcess, int, int]:
    """Run the agent with only the plugin section configured; return it and its ports."""
    http_port, diagnostic_port = free_ports(2)
    config = write_yaml({"plugins": {"envoy_ext_authz_wasm": plugin}}, directory / "agent.yaml")
    completed = subprocess.run(
        [str(POLICY_AGENT), "run", "--server", "--skip-version-check", "--disable-telemetry",
         "--addr", f"127.0.0.1:{http_port}", "--diagnostic-addr", f"127.0.0.1:{diagnostic_port}",
         "--config-file", str(config)],
        env=child_environment(), cwd=directory, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    return completed, http_port, diagnostic_port


def error_lines(completed: subprocess.CompletedProcess) -> list[str]:
    output = completed.stdout + completed.stderr
    return [line for line in output.splitlines() if line.startswith("error:")]


BAD_CONFIGS = [
    (
        {"addr": "0.0.0.0:9191", "path": "envoy/authz/result"},
        f'invalid {PLUGIN}.addr "0.0.0.0:9191"; expected a loopback address: {LOOPBACK}',
    ),
    (
        {"addr": "10.0.0.5:9191", "path": "envoy/authz/result"},
        f'invalid {PLUGIN}.addr "10.0.0.5:9191"; expected a loopback address: {LOOPBACK}',
    ),
    (
        {"addr": "127.0.0.1:70000", "path": "envoy/authz/result"},
        f'invalid {PLUGIN}.addr "127.0.0.1:70000"; expected {LOOPBACK} with a port from 1 to 65535',
    ),
    (
        {"addr": "unix://agent.sock", "path": "envoy/authz/result"},
        f"invalid {PLUGIN}.addr \"unix://agent.sock\"; expected 'unix:///absolute/path.sock'",
    ),
    (
        {"path": "envoy/authz/result"},
        f"missing {PLUGIN}.addr; expected '127.0.0.1:PORT' or 'unix:///absolute/path.sock'",
    ),
    (
        {"addr": "127.0.0.1:9191", "path": "envoy.authz.result"},
        f'invalid {PLUGIN}.path "envoy.authz.result"; expected a rule path such as '
        "'envoy/authz/result': Rego identifiers separated by '/'",
    ),
    (
        {"addr": "127.0.0.1:9191", "path": "envoy/authz/result", "enable_reflection": "no"},
        f'invalid {PLUGIN}.enable_reflection "no"; expected true or false',
    ),
    (
        {"addr": "127.0.0.1:9191", "path": "envoy/authz/result", "dry-run": True},
        f"unknown key {PLUGIN}.dry-run; accepted keys are addr, path, enable_reflection",
    ),
]


@pytest.mark.parametrize(
    ("plugin", "expected"), BAD_CONFIGS, ids=[expected.split(";")[0] for _, expected in BAD_CONFIGS]
)
def test_bad_plugin_config_rejected_with_one_line(tmp_path, plugin, expected):
    completed, http_port, diagnostic_port = run_agent(tmp_path, plugin)

    assert completed.returncode == 1
    assert error_lines(completed) == [f"error: config error: {expected}"]
    assert "goroutine" not in completed.stderr
    assert not is_port_listening(http_port)
    assert not is_port_listening(diagnostic_port)


def test_taken_authz_port_rejected_with_one_line(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        completed, http_port, diagnostic_port = run_agent(
            tmp_path, {"addr": f"127.0.0.1:{port}", "path": "envoy/authz/result"}
        )

    assert completed.returncode == 1
    assert error_lines(completed) == [
        f"error: the ext_authz gRPC server cannot listen on 127.0.0.1:{port}: "
        f"listen tcp 127.0.0.1:{port}: bind: address already in use"
    ]
    assert not is_port_listening(http_port)
    assert not is_port_listening(diagnostic_port)


def test_missing_socket_directory_rejected_with_one_line(tmp_path):
    socket_path = tmp_path / "missing" / "agent.sock"

    completed, _, _ = run_agent(
        tmp_path, {"addr": f"unix://{socket_path}", "path": "envoy/authz/result"}
    )

    assert completed.returncode == 1
    assert error_lines(completed) == [
        f"error: the ext_authz gRPC server cannot listen on unix://{socket_path}: "
        f"listen unix {socket_path}: bind: no such file or directory"
    ]
    assert not socket_path.exists()
