import os
import subprocess
import sys

import pytest

from bench.procstat import CLOCK_TICKS_PER_SECOND, CpuMeter, cpu_seconds, peak_rss_bytes


def test_cpu_seconds_counts_busy_child():
    # The child spins until it has used 0.3 s of CPU by its own clock, then exits.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time, sys\n"
            "while time.process_time() < 0.3: pass\n"
            "sys.stdout.write('done\\n'); sys.stdout.flush(); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "done\n"
        # The kernel counts whole clock ticks, so allow two ticks less than the child saw.
        assert cpu_seconds(child.pid) >= 0.3 - 2 / CLOCK_TICKS_PER_SECOND
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def test_cpu_meter_reports_difference():
    meter = CpuMeter({"self": os.getpid()})
    meter.start()
    before = cpu_seconds(os.getpid())
    while cpu_seconds(os.getpid()) < before + 0.05:
        pass

    used = meter.stop()

    assert set(used) == {"self"}
    # Both readings are whole clock ticks, but their float difference can land a hair under.
    assert round(used["self"], 9) >= 0.05


def test_peak_rss_is_positive():
    assert peak_rss_bytes(os.getpid()) > 1024 * 1024


def test_cpu_seconds_of_missing_process():
    with pytest.raises(FileNotFoundError):
        cpu_seconds(2**22 + 1)
