"""Start a policy agent and an Envoy sidecar in front of it, as one cell's pod runs them.

The agent's configuration and command line come from components.sidecar, the generator
that the local region and the Kubernetes manifests use, and the sidecar's Envoy
configuration likewise, so the tests exercise what ships.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.ports import free_ports
from components.sidecar import (
    AgentSpec,
    S3Repository,
    SidecarSpec,
    agent_args,
    agent_config,
    sidecar_bootstrap,
    write_yaml,
)
from localregion.configs import validate_envoy_config
from localregion.decisions import read_decisions
from localregion.governance import SIGNING_KEY, Governance
from localregion.readiness import Deadline, http_status_is, wait_until
from localregion.repository import BundleRepository, child_environment
from localregion.supervisor import Supervisor
from wasm.keys import key_pair_paths
from wasm.publish import publish_bundle

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".tools" / "bin"
POLICY_AGENT = BIN / "policy-agent"
ENVOY = BIN / "envoy"
OPA = BIN / "opa"
# Deadlines, not delays: generous because other test processes may load the machine.
STARTUP_SECONDS = 120.0
# Header that distinguishes the decision log entry of one request from all others.
MARKER_HEADER = "x-test-marker"
BUNDLE = "authz"
# A revision of the bundle whose Rego decides differently from its WebAssembly module.
DIVERGENT_BUNDLE = "divergent"
DIVERGENT_REVISION = "wasm-not-rego"


@dataclass(frozen=True)
class Agent:
    """A running policy agent."""

    name: str
    http_url: str
    diagnostic_url: str
    authz_address: str
    log_path: Path

    def decisions(self) -> list[dict]:
        return read_decisions(self.log_path)

    def decision_for(self, marker: str) -> dict | None:
        """Return the decision log entry of the request that carried MARKER_HEADER: marker."""
        for entry in reversed(self.decisions()):
            http = entry.get("input", {}).get("attributes", {}).get("request", {}).get("http", {})
            if http.get("headers", {}).get(MARKER_HEADER) == marker:
                return entry
        return None

    def wait_for_decision(self, marker: str, seconds: float = 30.0) -> dict:
        wait_until(
            lambda: self.decision_for(marker) is not None,
            f"the decision log entry of {marker} in {self.log_path}",
            Deadline(seconds),
        )
        entry = self.decision_for(marker)
        assert entry is not None
        return entry


def agent_spec(
    directory: Path,
    *,
    bundle_name: str,
    repository: BundleRepository,
    signing_key_id: str,
    signing_public_key_pem: str,
    authz_address: str,
) -> AgentSpec:
    """Return the spec of an agent that polls repository for bundle_name every 1-2 s."""
    http_port, diagnostic_port = free_ports(2)
    return AgentSpec(
        bundle_name=bundle_name,
        repository=S3Repository(url=repository.bucket_url),
        signing_key_id=signing_key_id,
        signing_public_key_pem=signing_public_key_pem,
        persistence_directory=str(directory / "persistence"),
        authz_address=authz_address,
        http_address=f"127.0.0.1:{http_port}",
        diagnostic_address=f"127.0.0.1:{diagnostic_port}",
        polling_min_delay_seconds=1,
        polling_max_delay_seconds=2,
    )


def start_agent(supervisor: Supervisor, name: str, directory: Path, spec: AgentSpec) -> Agent:
    """Start the agent of spec and wait until its diagnostic /health responds.

    /health without parameters reports that the server runs; it says nothing about
    bundles, so this returns before the first bundle is active.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config_file = write_yaml(agent_config(spec), directory / "agent.yaml")
    process = supervisor.start(
        name,
        [str(POLICY_AGENT), *agent_args(spec, str(config_file))],
        env=child_environment(),
        cwd=directory,
    )
    diagnostic_url = f"http://{spec.diagnostic_address}"
    wait_until(
        http_status_is(f"{diagnostic_url}/health"),
        f"the agent {name} at {diagnostic_url}/health",
        Deadline(STARTUP_SECONDS),
        supervisor=supervisor,
        process=name,
    )
    return Agent(
        name=name,
        http_url=f"http://{spec.http_address}",
        diagnostic_url=diagnostic_url,
        authz_address=spec.authz_address,
        log_path=process.log_path,
    )


def start_sidecar(
    supervisor: Supervisor,
    name: str,
    directory: Path,
    *,
    cell: str,
    agent_address: str,
    service_port: int,
    jurisdiction: str = "eu",
) -> str:
    """Start Envoy process `name`, the sidecar of cell, in front of service_port; return its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    listen_port, admin_port = free_ports(2)
    spec = SidecarSpec(
        cell=cell,
        jurisdiction=jurisdiction,
        region="local",
        listen_port=listen_port,
        admin_port=admin_port,
        service_port=service_port,
        agent_address=agent_address,
        # The tests check decisions, not latency, and a cold WebAssembly instance on a
        # loaded machine can take longer than the production 250 ms on its first call.
        authz_timeout_ms=5_000,
    )
    config = write_yaml(sidecar_bootstrap(spec), directory / "sidecar.yaml")
    validate_envoy_config(str(ENVOY), config)
    supervisor.start(
        name,
        [
            str(ENVOY),
            "-c",
            str(config),
            "--disable-hot-restart",
            "--concurrency",
            "1",
            "--log-level",
            "warn",
            "--service-node",
            name,
        ],
        env=child_environment(),
        cwd=directory,
    )
    url = f"http://127.0.0.1:{listen_port}"
    wait_until(
        http_status_is(f"http://127.0.0.1:{admin_port}/ready"),
        f"the sidecar {name} to be ready",
        Deadline(STARTUP_SECONDS),
        supervisor=supervisor,
        process=name,
    )
    return url


class _EchoHandler(BaseHTTPRequestHandler):
    """Respond to every request with 200 and the method, path and headers it received."""

    def _echo(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _echo

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output free of one line per request."""


@contextmanager
def echo_service() -> Iterator[int]:
    """Serve _EchoHandler on a free loopback port in a thread; yield the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, name="echo-service", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def rego_and_data_directory(bundle: Path, policy_dir: Path, target: Path) -> Path:
    """Write policy_dir's Rego sources (tests left out) and the bundle's data to target.

    The Rego inside a WebAssembly bundle is what `opa build -t wasm` left after compiling
    the entrypoint away, so stock OPA gets the sources the bundle was built from.
    """
    sources = target / "policies" / "authz"
    sources.mkdir(parents=True)
    for source in sorted(policy_dir.glob("*.rego")):
        if not source.name.endswith("_test.rego"):
            (sources / source.name).write_bytes(source.read_bytes())
    members = bundle_members(bundle)
    (target / "data.json").write_bytes(members["data.json"])
    manifest = json.loads(members[".manifest"])
    manifest.pop("wasm", None)
    (target / ".manifest").write_text(json.dumps(manifest))
    return target


def bundle_members(bundle: Path) -> dict[str, bytes]:
    """Return every file of a bundle tarball by its name without the leading '/'."""
    with tarfile.open(bundle) as archive:
        return {
            member.name.lstrip("/"): archive.extractfile(member).read()
            for member in archive.getmembers()
            if member.isfile()
        }


def write_bundle(members: dict[str, bytes], path: Path) -> Path:
    """Write members as a bundle tarball with '/'-prefixed names, as `opa build` does."""
    with tarfile.open(path, "w:gz") as archive:
        for name, content in sorted(members.items()):
            info = tarfile.TarInfo(f"/{name}")
            info.size = len(content)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(content))
    return path


@dataclass(frozen=True)
class Pod:
    """One agent with two sidecars in front of it: eu-1 (jurisdiction eu) and us-1 (us)."""

    agent: Agent
    sidecar_urls: dict[str, str]


def publish(repository: BundleRepository, bundle: Path, name: str, governance: Governance) -> str:
    """Upload bundle as bundle `name` and point its current key at it; return the revision.

    Publishing verifies the bundle's signature with the governance signing key first.
    """
    with repository.credentials():
        result = publish_bundle(
            bundle,
            bucket=repository.bucket,
            name=name,
            public_key=key_pair_paths(governance.key_dir, SIGNING_KEY).public_key,
            key_id=governance.signing_key_id,
            endpoint_url=repository.endpoint_url,
        )
    return result.revision


def start_pod(
    supervisor: Supervisor,
    directory: Path,
    *,
    name: str,
    bundle_name: str,
    governance: Governance,
    repository: BundleRepository,
    echo_port: int,
) -> Pod:
    """Start an agent for bundle_name on a unix socket and sidecars eu-1 and us-1."""
    socket = directory / "agent.sock"
    spec = agent_spec(
        directory,
        bundle_name=bundle_name,
        repository=repository,
        signing_key_id=governance.signing_key_id,
        signing_public_key_pem=governance.signing_public_key_pem,
        authz_address=f"unix://{socket}",
    )
    agent = start_agent(supervisor, f"{name}-agent", directory, spec)
    sidecars = {
        cell: start_sidecar(
            supervisor,
            f"{name}-{cell}",
            directory / cell,
            cell=cell,
            agent_address=spec.authz_address,
            service_port=echo_port,
            jurisdiction=jurisdiction,
        )
        for cell, jurisdiction in (("eu-1", "eu"), ("us-1", "us"))
    }
    return Pod(agent=agent, sidecar_urls=sidecars)


def wait_for_bundle(agent: Agent) -> None:
    """Wait until OPA's bundle health check passes: the first bundle is active."""
    wait_until(
        http_status_is(f"{agent.diagnostic_url}/health?bundles"),
        f"{agent.name} to activate its bundle",
        Deadline(STARTUP_SECONDS),
    )
