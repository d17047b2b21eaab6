"""Locate and run the OPA command-line tool."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from wasm.errors import BundleError

REPO_ROOT = Path(__file__).resolve().parent.parent

# scripts/setup installs the pinned OPA (v1.22.4, built with WebAssembly support) here.
PINNED_OPA = REPO_ROOT / ".tools" / "bin" / "opa"

# No OPA step here may run longer than this. The slowest, `opa test` over the policy,
# takes about 2 seconds on a 2-core machine.
OPA_TIMEOUT_SECONDS = 120


def opa_binary() -> Path:
    """Return the OPA executable: $OPA_BINARY, the pinned one, or `opa` on PATH."""
    configured = os.environ.get("OPA_BINARY")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise BundleError(f"OPA_BINARY is {configured}, which is not a file")
        return path
    if PINNED_OPA.is_file():
        return PINNED_OPA
    found = shutil.which("opa")
    if found is None:
        raise BundleError(
            f"opa not found at {PINNED_OPA} or on PATH; run scripts/setup to install it"
        )
    return Path(found)


def run_opa(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `opa ARGS`, capture its output as text, and return it whatever the exit status."""
    command = [str(opa_binary()), *(str(arg) for arg in args)]
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=OPA_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BundleError(f"`opa {args[0]}` timed out after {OPA_TIMEOUT_SECONDS} s") from error


def failure_reason(completed: subprocess.CompletedProcess[str]) -> str:
    """Return the last line that a failed OPA command printed, without its "error: " prefix.

    OPA prints some errors on stdout (`opa build`) and others on stderr.
    """
    lines = [
        line.strip()
        for line in (completed.stderr + "\n" + completed.stdout).splitlines()
        if line.strip()
    ]
    if not lines:
        return f"exit status {completed.returncode} and no output"
    return lines[-1].removeprefix("error: ")
