"""CPU time and memory of running processes, read from /proc (Linux only)."""

import os
from collections.abc import Mapping
from pathlib import Path

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time, in seconds, that process pid has used so far.

    The count covers all threads of the process, at the kernel's clock-tick resolution
    (1/SC_CLK_TCK s, 10 ms on most kernels).
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name in field 2 may contain spaces and parentheses, so the fields are
    # counted from the last ')'. After it, field 3 (state) is index 0, so utime (field 14)
    # is index 11 and stime (field 15) is index 12.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND


def peak_rss_bytes(pid: int) -> int:
    """Return the peak resident set size (VmHWM) of process pid, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"/proc/{pid}/status has no VmHWM line")


class CpuMeter:
    """CPU seconds used by a set of named processes between start() and stop()."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        """Return the CPU seconds each process used since start(), by name."""
        self.used = {name: cpu_seconds(pid) - self._before[name] for name, pid in self.pids.items()}
        return self.used
