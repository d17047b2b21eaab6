"""Fixtures of the bundle tests: key pairs, built bundles, a moto S3 server, an OPA server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localregion.ports import free_ports, group_listens_on
from wasm.build import BuildResult, build_bundle
from wasm.data import Issuer
from wasm.keys import KeyPair, generate_key_pair
from wasm.layout import SAMPLE_DATA_FILE
from wasm.opa import REPO_ROOT, opa_binary
from wasm.signing import DEFAULT_SIGNING_KEY_ID
from wasm.tokens import DEFAULT_AUDIENCE, DEFAULT_ISSUER

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
STARTUP_DEADLINE_SECONDS = 30
START_ATTEMPTS = 3


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral range."""
    return free_ports(1)[0]


def wait_for_http(url: str, process: subprocess.Popen, deadline_seconds: float) -> None:
    """Wait until url returns status 200, and fail early if process exits."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with status {process.returncode} before {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer 200 within {deadline_seconds} s")


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop a process started with start_new_session=True, and its children."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def cli_environment(**extra: str) -> dict[str, str]:
    """Return the environment for `python -m wasm` subprocesses, with fake AWS credentials."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "BUNDLE_REPOSITORY_ENDPOINT"
    }
    environment.update(
        PYTHONPATH=str(REPO_ROOT),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    environment.update(extra)
    return environment


def run_cli(
    *arguments: str, cwd: Path = REPO_ROOT, **environment: str
) -> subprocess.CompletedProcess:
    """Run `python -m wasm ARGUMENTS` and return the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "wasm", *arguments],
        cwd=cwd,
        env=cli_environment(**environment),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, so boto3 talks to moto and never looks for real ones."""
    for key, value in cli_environment().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("BUNDLE_REPOSITORY_ENDPOINT", raising=False)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    """Signing, issuer and stranger key pairs, generated once for the session."""
    directory = tmp_path_factory.mktemp("keys")
    return {
        name: generate_key_pair(directory, name)
        for name in ("bundle-signing", "issuer", "stranger")
    }


@pytest.fixture(scope="session")
def local_issuer(keys: dict[str, KeyPair]) -> Issuer:
    return Issuer(DEFAULT_ISSUER, DEFAULT_AUDIENCE, (keys["issuer"].public_key,))


@pytest.fixture(scope="session")
def sample_bundle(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, KeyPair], local_issuer: Issuer
) -> BuildResult:
    """The sample routes table built and signed once for the session."""
    return build_bundle(
        "authz",
        signing_key=keys["bundle-signing"].private_key,
        issuers=[local_issuer],
        out_dir=tmp_path_factory.mktemp("out"),
    )


@pytest.fixture(scope="session")
def second_bundle(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, KeyPair], local_issuer: Issuer
) -> BuildResult:
    """The sample routes table with support also revoked: a second revision."""
    document = json.loads(SAMPLE_DATA_FILE.read_text())
    document["authz"]["revoked"].append("support")
    directory = tmp_path_factory.mktemp("second")
    data_file = directory / "data.json"
    data_file.write_text(json.dumps(document))
    return build_bundle(
        "authz",
        signing_key=keys["bundle-signing"].private_key,
        issuers=[local_issuer],
        data_file=data_file,
        out_dir=directory / "out",
    )


def start_server(
    argv_for_port: Callable[[int], list[str]], ready_path: str
) -> tuple[subprocess.Popen, str]:
    """Start a server on a free port; return it and its endpoint once ready_path returns 200.

    Another process can take the free port before the server binds it, and the readiness
    probe would then reach that process. So the port must belong to the new server, or the
    server is stopped and started again on another port, up to START_ATTEMPTS times.
    """
    for _ in range(START_ATTEMPTS):
        port = free_port()
        process = subprocess.Popen(
            argv_for_port(port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{endpoint}{ready_path}", process, STARTUP_DEADLINE_SECONDS)
        except RuntimeError:
            stop_process_group(process)
            continue
        except BaseException:
            stop_process_group(process)
            raise
        if group_listens_on(process.pid, port):
            return process, endpoint
        stop_process_group(process)
    raise RuntimeError(
        f"{argv_for_port(0)[0]} could not keep a free port in {START_ATTEMPTS} tries"
    )


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1, stopped when the test ends, pass or fail."""
    process, endpoint = start_server(
        lambda port: [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], "/moto-api/"
    )
    try:
        yield endpoint
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def opa_server(sample_bundle: BuildResult, keys: dict[str, KeyPair]) -> Iterator[str]:
    """`opa run --server` on the sample bundle, which it loads only if the signature verifies."""
    process, endpoint = start_server(
        lambda port: [
            str(opa_binary()),
            "run",
            "--server",
            "--skip-version-check",
            "--disable-telemetry",
            "--addr",
            f"127.0.0.1:{port}",
            "--bundle",
            str(sample_bundle.bundle),
            "--verification-key",
            str(keys["bundle-signing"].public_key),
            "--verification-key-id",
            DEFAULT_SIGNING_KEY_ID,
            "--signing-alg",
            "ES256",
        ],
        "/health?bundles",
    )
    try:
        yield endpoint
    finally:
        stop_process_group(process)
