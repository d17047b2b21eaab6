"""`scripts/local-region` serves until SIGINT or SIGTERM and then leaves nothing running.

Each test runs the command line as a subprocess, the way a user does, and checks that no
process of the region remains and that none of its ports is still bound.
"""

import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from localregion.ports import is_port_free
from localregion.region import STATE_FILE

pytestmark = pytest.mark.local_region

ROOT = Path(__file__).resolve().parents[2]
PROG = "scripts/local-region"
BRING_UP_DEADLINE_SECONDS = 240
STOP_DEADLINE_SECONDS = 60


class CommandLine:
    """`python -m localregion` in its own session, with its output read line by line."""

    def __init__(self, run_dir: Path, *arguments: str) -> None:
        self.run_dir = run_dir
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localregion", "--run-dir", str(run_dir), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,
        )
        # Raw reads of the pipe: a buffered reader could hold complete lines that select()
        # no longer reports as readable.
        self._pending = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match:
        """Read output until a line matches pattern; fail with the output on timeout or exit."""
        regex = re.compile(pattern)
        checked = 0
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines[checked:]:
                if match := regex.search(line):
                    return match
            checked = len(self.lines)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read_available(remaining):
                break
        output = "\n".join(self.lines[-30:])
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n{output}")

    def _read_available(self, timeout: float) -> bool:
        """Append the complete lines that arrive within timeout; return False at end of output."""
        if not self._selector.select(timeout=timeout):
            return True
        chunk = os.read(self.process.stdout.fileno(), 65536)
        if not chunk:
            return False
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        self.lines += [line.decode(errors="replace") for line in complete]
        return True

    def finish(self, timeout: float) -> int:
        """Wait for the exit status, reading the rest of the output."""
        status = self.process.wait(timeout=timeout)
        rest = self._pending + self.process.stdout.read()
        self._pending = b""
        self.lines += rest.decode(errors="replace").splitlines()
        return status

    def close(self) -> None:
        """Kill the command line and every region process it left, by process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Region processes lead their own process groups. The repository's command line
        # does not name the run directory, so the state file supplies its pid.
        pids = set(region_pids(self.run_dir))
        state_path = self.run_dir / STATE_FILE
        if state_path.exists():
            pids |= set(json.loads(state_path.read_text())["processes"].values())
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.process.stdout.close()
        self._selector.close()


def region_pids(run_dir: Path) -> list[int]:
    """Return the pids of live processes whose command line names run_dir."""
    pids = []
    marker = str(run_dir).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in command and state != "Z":
            pids.append(int(entry))
    return pids


def state_ports(state: dict) -> list[int]:
    urls = [state["router_url"]]
    for cell in state["cells"].values():
        urls += [cell["sidecar_url"], cell["service_url"], cell["agent_url"]]
        urls.append(cell["agent_diagnostic_url"])
    return [urlsplit(url).port for url in urls]


@pytest.fixture
def command_line(tmp_path):
    started = []

    def start(*arguments: str) -> CommandLine:
        command = CommandLine(tmp_path / "run", *arguments)
        started.append(command)
        return command

    yield start
    for command in started:
        command.close()


def test_sigint_stops_serving_region(command_line):
    command = command_line("--cells", "2", "--base-port", "0")
    router = command.wait_for_line(
        rf"^{PROG}: router at (http://127\.0\.0\.1:\d+)$", BRING_UP_DEADLINE_SECONDS
    )[1]
    example = command.wait_for_line(
        r"curl -i -H 'authorization: Bearer (\S+)' -H 'x-user-id: (\S+)' (\S+)$", 10
    )
    command.wait_for_line(rf"^{PROG}: serving; press Ctrl-C to stop$", 10)
    state = json.loads((command.run_dir / STATE_FILE).read_text())
    pids = list(state["processes"].values())
    ports = state_ports(state)
    response = httpx.get(
        example[3],
        headers={"authorization": f"Bearer {example[1]}", "x-user-id": example[2]},
        timeout=5.0,
        trust_env=False,
    )

    command.process.send_signal(signal.SIGINT)
    status = command.finish(STOP_DEADLINE_SECONDS)

    assert example[3] == f"{router}/v1/orders"
    assert response.status_code == 200
    assert response.headers["x-cell"] in state["cells"]
    assert status == 0
    assert command.lines[-1] == f"{PROG}: stopped; every process of the region has exited"
    assert len(pids) == 2 * 3 + 2
    assert region_pids(command.run_dir) == []
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
    assert [port for port in ports if not is_port_free(port)] == []
    assert not (command.run_dir / STATE_FILE).exists()


def test_sigterm_during_bring_up_stops_started_processes(command_line):
    command = command_line("--cells", "2", "--base-port", "0")
    repository = command.wait_for_line(
        r"started the bundle repository \(moto S3\) at http://127\.0\.0\.1:(\d+)/",
        BRING_UP_DEADLINE_SECONDS,
    )
    repository_port = int(repository[1])

    command.process.send_signal(signal.SIGTERM)
    status = command.finish(STOP_DEADLINE_SECONDS)

    assert status == 0
    assert f"{PROG}: SIGTERM received; stopping the region" in command.lines
    assert command.lines[-1] == f"{PROG}: stopped; every process of the region has exited"
    assert not any(line.startswith(f"{PROG}: region up") for line in command.lines)
    assert region_pids(command.run_dir) == []
    assert is_port_free(repository_port)
    assert not (command.run_dir / STATE_FILE).exists()
