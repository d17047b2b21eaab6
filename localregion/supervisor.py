"""Start, watch and stop the local region's processes.

Each process runs in its own process group, so that stopping it also stops anything it
started. Processes are stopped by process id and group id, never by name.
"""

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from localregion.errors import LocalRegionError
from localregion.ports import group_listens_on

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT_SECONDS = 10.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class ManagedProcess:
    """A process started by the supervisor, with the file that receives its output."""

    name: str
    argv: list[str]
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def is_running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])


class Supervisor:
    """The set of processes one local region runs, by component name."""

    def __init__(self, log_dir: Path, on_start: Callable[[], None] | None = None) -> None:
        """on_start runs after each process is recorded, e.g. to save the pids to a file."""
        self.log_dir = Path(log_dir)
        self._processes: dict[str, ManagedProcess] = {}
        self._on_start = on_start

    def __enter__(self) -> "Supervisor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        """Start argv as component `name`, its output appended to LOG_DIR/<name>.log."""
        current = self._processes.get(name)
        if current is not None and current.is_running():
            raise LocalRegionError(f"{name} is already running (pid {current.pid})")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        # A stop signal whose handler raised between Popen and the bookkeeping below would
        # leave a child that stop_all cannot find, so such signals wait for the bookkeeping.
        with log_path.open("ab") as output, signals_deferred():
            try:
                popen = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    start_new_session=True,
                )
            except OSError as error:
                raise LocalRegionError(f"{name}: failed to start {argv[0]}: {error}") from error
            process = ManagedProcess(name=name, argv=list(argv), popen=popen, log_path=log_path)
            self._processes[name] = process
            if self._on_start is not None:
                self._on_start()
        log.info("started %s (pid %d), output in %s", name, popen.pid, log_path)
        return process

    def get(self, name: str) -> ManagedProcess:
        try:
            return self._processes[name]
        except KeyError:
            raise LocalRegionError(f"no process named {name!r} was started") from None

    def pids(self) -> dict[str, int]:
        """Return the pid of every process started so far, by name (running or not)."""
        return {name: process.pid for name, process in self._processes.items()}

    def commands(self) -> dict[str, list[str]]:
        """Return the command line of every process started so far, by name."""
        return {name: process.argv for name, process in self._processes.items()}

    def running(self) -> list[str]:
        return [name for name, process in self._processes.items() if process.is_running()]

    def check_running(self, name: str) -> None:
        """Raise LocalRegionError with the end of its log if process `name` has exited."""
        process = self.get(name)
        code = process.popen.poll()
        if code is not None:
            raise LocalRegionError(
                f"{name} exited with status {code}; last output: {process.log_tail()} "
                f"(full log: {process.log_path})"
            )

    def check_listening(self, name: str, port: int) -> None:
        """Raise LocalRegionError unless process `name` or its group listens on port."""
        process = self.get(name)
        if not group_listens_on(process.pid, port):
            self.check_running(name)
            raise LocalRegionError(
                f"port {port} responds, but not from {name} (pid {process.pid}): another "
                "process took the port after it was checked free; start the region again"
            )

    def stop(self, name: str, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> None:
        """Stop process `name` and its group: SIGTERM, then SIGKILL after timeout seconds."""
        process = self._processes.get(name)
        if process is None:
            return
        _stop_group(process, timeout)
        log.info("stopped %s (pid %d)", name, process.pid)

    def stop_all(self, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> None:
        """Stop every process, the most recently started first."""
        for name in reversed(list(self._processes)):
            self.stop(name, timeout)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs, then deliver the first one received.

    Only the main thread can change signal handlers; elsewhere the block runs unguarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _frame: received.append(signum))
        for sig in STOP_SIGNALS
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None means a handler installed outside Python; the default is the closest.
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if received:
            signal.raise_signal(received[0])


def _stop_group(process: ManagedProcess, timeout: float) -> None:
    # start_new_session made the process the leader of a group whose id is its pid.
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    try:
        process.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s (pid %d) ignored SIGTERM for %.0f s; killing", process.name, group, timeout)
        _signal_group(group, signal.SIGKILL)
        process.popen.wait()
    # The leader is gone; kill whatever it left in its group.
    if _group_exists(group):
        _signal_group(group, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while _group_exists(group):
        if time.monotonic() > deadline:
            # NOTE: a member that stays a zombie (its new parent does not reap it) keeps
            # the group id alive; it holds no port or file, so this only warns.
            log.warning("process group %d of %s still exists after SIGKILL", group, process.name)
            return
        time.sleep(0.02)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
