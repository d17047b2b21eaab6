"""The agent's Go unit tests run as part of the suite, with the tag its build needs."""

import os
import shutil
import subprocess

from tests.agent.harness import ROOT

AGENT_DIR = ROOT / "agent"
# scripts/setup builds the agent with the same toolchain, so the suite needs it anyway.
GO = shutil.which("go") or "go"


def test_go_unit_tests_pass():
    completed = subprocess.run(
        [GO, "test", "-tags", "opa_wasm", "-count=1", "./..."],
        cwd=AGENT_DIR,
        env={**os.environ, "CGO_ENABLED": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert completed.stdout.startswith("ok  \tcellarch/agent")
