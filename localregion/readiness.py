"""Wait for a component to become ready, with a deadline, watching that it still runs."""

import time
from collections.abc import Callable

import httpx

from localregion.errors import LocalRegionError
from localregion.ports import is_port_listening
from localregion.supervisor import Supervisor

POLL_INTERVAL_SECONDS = 0.05


class Deadline:
    """A point in time that every wait of one bring-up shares."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self._end

    def check(self, when: str) -> None:
        """Raise LocalRegionError if the deadline has passed; when is e.g. "during the build"."""
        if self.expired():
            raise LocalRegionError(
                f"timed out after {self.seconds:g} s {when}; pass a larger --timeout"
            )


def wait_until(
    condition: Callable[[], bool],
    what: str,
    deadline: Deadline,
    *,
    supervisor: Supervisor | None = None,
    process: str | None = None,
) -> None:
    """Poll condition until it is true; raise if the deadline passes or process exits."""
    while True:
        if supervisor is not None and process is not None:
            supervisor.check_running(process)
        if condition():
            return
        if deadline.expired():
            hint = ""
            if supervisor is not None and process is not None:
                hint = f"; log: {supervisor.get(process).log_path}"
            raise LocalRegionError(
                f"timed out after {deadline.seconds:g} s waiting for {what}{hint}"
            )
        time.sleep(POLL_INTERVAL_SECONDS)


def port_listening(port: int) -> Callable[[], bool]:
    return lambda: is_port_listening(port)


def http_status_is(url: str, status: int = 200) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0, trust_env=False).status_code == status
        except httpx.HTTPError:
            return False

    return check
