import subprocess
from pathlib import Path

import pytest

from bench.edge.delay import DELAY_PROXY, calibrate

ROOT = Path(__file__).resolve().parents[2]


def test_delay_line_adds_at_least_the_delay():
    result = calibrate(one_way_delay_ms=2.5, round_trips=20)

    # A delay line cannot deliver earlier than its delay; 2.5 ms each way is 5 ms round trip.
    assert result["round_trips"] == 20
    assert result["delayed_rtt_ms"]["p50"] >= 5.0
    assert result["added_rtt_ms_p50"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-target", "10.0.0.1:80"], 'invalid -target "10.0.0.1:80"'),
        (["-target", "127.0.0.1:80", "-listen", "0.0.0.0:0"], 'invalid -listen "0.0.0.0:0"'),
        ([], "missing -target"),
        (["-target", "127.0.0.1:80", "-one-way-delay", "-1ms"], "invalid -one-way-delay"),
    ],
)
def test_delay_proxy_rejects_bad_flags(args, message):
    completed = subprocess.run(
        [str(DELAY_PROXY), *args], capture_output=True, text=True, timeout=30, check=False
    )

    assert completed.returncode == 2
    assert message in completed.stderr
