"""The process supervisor stops whole process groups and frees their ports."""

import os
import signal
import socket
import sys
import textwrap

import pytest

from localregion.errors import LocalRegionError
from localregion.ports import is_port_free, is_port_listening, plan_ports
from localregion.readiness import Deadline, port_listening, wait_until
from localregion.supervisor import Supervisor, signals_deferred

# Listens on a port, then forks a child that inherits the listening socket, so the port
# is free only when both are gone.
SERVER_WITH_CHILD = textwrap.dedent(
    """
    import os, signal, socket, sys, time
    if sys.argv[2] == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen()
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(sys.argv[3] if child else sys.argv[4], "w") as pid_file:
        pid_file.write(str(os.getpid()))
    while True:
        time.sleep(1)
    """
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it holds no port or file.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def start_server(supervisor: Supervisor, tmp_path, name: str, mode: str = "normal"):
    port = plan_ports(2, 0).router
    parent_file, child_file = tmp_path / f"{name}.parent", tmp_path / f"{name}.child"
    supervisor.start(
        name,
        [
            sys.executable,
            "-c",
            SERVER_WITH_CHILD,
            str(port),
            mode,
            str(parent_file),
            str(child_file),
        ],
    )
    deadline = Deadline(20)
    wait_until(
        port_listening(port), f"{name} to listen", deadline, supervisor=supervisor, process=name
    )
    wait_until(lambda: parent_file.exists() and child_file.exists(), "pid files", deadline)
    wait_until(
        lambda: parent_file.read_text() and child_file.read_text(), "pid file text", deadline
    )
    return port, int(parent_file.read_text()), int(child_file.read_text())


def test_stop_kills_process_group_and_frees_port(tmp_path):
    supervisor = Supervisor(tmp_path / "logs")
    port, parent, child = start_server(supervisor, tmp_path, "server")

    supervisor.stop("server", timeout=2)

    assert not pid_alive(parent)
    assert not pid_alive(child)
    assert is_port_free(port)


def test_stop_kills_process_that_ignores_sigterm(tmp_path):
    supervisor = Supervisor(tmp_path / "logs")
    port, parent, child = start_server(supervisor, tmp_path, "stubborn", mode="ignore-term")

    supervisor.stop("stubborn", timeout=0.5)

    assert not pid_alive(parent)
    assert not pid_alive(child)
    assert is_port_free(port)


def test_failing_block_leaves_no_process_or_port(tmp_path):
    servers = []
    with (
        pytest.raises(RuntimeError, match="test failed here"),
        Supervisor(tmp_path / "logs") as supervisor,
    ):
        servers.append(start_server(supervisor, tmp_path, "first"))
        servers.append(start_server(supervisor, tmp_path, "second"))
        raise RuntimeError("test failed here")

    for port, parent, child in servers:
        assert not pid_alive(parent)
        assert not pid_alive(child)
        assert not is_port_listening(port)
        assert is_port_free(port)


def test_output_goes_to_log_file(tmp_path):
    supervisor = Supervisor(tmp_path / "logs")
    process = supervisor.start("echo", [sys.executable, "-c", "print('hello from echo')"])

    process.popen.wait(timeout=20)

    assert (tmp_path / "logs" / "echo.log").read_text() == "hello from echo\n"


def test_check_running_reports_exit_status_and_output(tmp_path):
    supervisor = Supervisor(tmp_path / "logs")
    process = supervisor.start(
        "crash", [sys.executable, "-c", "import sys; print('bind failed'); sys.exit(3)"]
    )
    process.popen.wait(timeout=20)

    with pytest.raises(LocalRegionError) as error:
        supervisor.check_running("crash")

    assert str(error.value).startswith("crash exited with status 3; last output: bind failed")


def test_missing_binary_is_one_line_error(tmp_path):
    supervisor = Supervisor(tmp_path / "logs")

    with pytest.raises(LocalRegionError) as error:
        supervisor.start("ghost", [str(tmp_path / "no-such-binary")])

    assert str(error.value).startswith(f"ghost: failed to start {tmp_path / 'no-such-binary'}")
    assert supervisor.running() == []


def test_second_start_of_running_name_is_rejected(tmp_path):
    with Supervisor(tmp_path / "logs") as supervisor:
        first = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])

        with pytest.raises(LocalRegionError) as error:
            supervisor.start("sleeper", [sys.executable, "-c", "pass"])

        assert str(error.value) == f"sleeper is already running (pid {first.pid})"


class Interrupted(Exception):
    """Raised by the test's SIGTERM handler."""


def raise_interrupted(_signum, _frame):
    raise Interrupted


def test_deferred_signal_arrives_after_block():
    previous = signal.signal(signal.SIGTERM, raise_interrupted)
    steps = []
    try:
        with pytest.raises(Interrupted), signals_deferred():
            signal.raise_signal(signal.SIGTERM)
            steps.append("block ran to its end")
        handler = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert steps == ["block ran to its end"]
    assert handler is raise_interrupted


def test_block_without_signal_raises_nothing():
    previous = signal.signal(signal.SIGTERM, raise_interrupted)
    try:
        with signals_deferred():
            pass
        handler = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert handler is raise_interrupted


def test_check_listening_accepts_own_port(tmp_path):
    with Supervisor(tmp_path / "logs") as supervisor:
        port, _parent, _child = start_server(supervisor, tmp_path, "server")

        supervisor.check_listening("server", port)


def test_check_listening_rejects_port_of_other_process(tmp_path):
    with (
        socket.socket() as other,
        Supervisor(tmp_path / "logs") as supervisor,
    ):
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        sleeper = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])

        with pytest.raises(LocalRegionError) as error:
            supervisor.check_listening("sleeper", port)

    assert str(error.value) == (
        f"port {port} responds, but not from sleeper (pid {sleeper.pid}): another process took "
        "the port after it was checked free; start the region again"
    )
