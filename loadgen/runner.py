"""Running vegeta at a constant request rate and reading back every request it made."""

import base64
import json
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from loadgen.errors import LoadgenError
from loadgen.model import LoadResult, RequestResult, Target

ROOT = Path(__file__).resolve().parent.parent

# Seconds that vegeta may take past duration + timeout to drain and exit before it is killed:
# at least EXIT_GRACE, or the duration itself when that is longer. A CPU-starved vegeta falls
# behind on writing its results at high rates (a 20 s run at 2,000/s took over 32 s on a
# loaded 2-core machine), and killing it then loses the whole run.
EXIT_GRACE = 10.0

# vegeta writes Go's RFC 3339 timestamps with up to nine fractional digits, more than
# datetime.fromisoformat reads, so the fraction is split off and added separately.
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def vegeta_path() -> Path:
    """Return the vegeta binary that scripts/setup builds, or raise when it is missing."""
    built = ROOT / ".tools" / "bin" / "vegeta"
    if built.is_file():
        return built
    found = shutil.which("vegeta")
    if found:
        return Path(found)
    raise LoadgenError(f"vegeta not found at {built} or on PATH; run scripts/setup to build it")


class LoadRun:
    """A constant-rate run in progress. wait() returns its LoadResult; stop() ends it early.

    Use it as a context manager so vegeta is stopped even when the caller fails.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        rate: float,
        duration: float,
        timeout: float,
        max_body: int,
    ) -> None:
        _check_run_args(targets, rate, duration, timeout, max_body)
        self.rate = rate
        self.duration = duration
        self.timeout = timeout
        self._vegeta = vegeta_path()
        self._workdir = Path(tempfile.mkdtemp(prefix="loadgen-"))
        self._results_file = self._workdir / "results.gob"
        self._stderr_file = self._workdir / "stderr.txt"
        targets_file = self._workdir / "targets.jsonl"
        targets_file.write_text("".join(json.dumps(t.to_vegeta()) + "\n" for t in targets))

        command = [
            str(self._vegeta),
            "attack",
            "-format=json",
            f"-targets={targets_file}",
            f"-rate={_rate_flag(rate)}",
            f"-duration={_duration_flag(duration)}",
            f"-timeout={_duration_flag(timeout)}",
            f"-max-body={max_body}",
            f"-output={self._results_file}",
            "-keepalive=true",
            "-http2=false",
        ]
        with open(self._stderr_file, "wb") as stderr:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=_default_sigint,
            )
        self._limit = duration + timeout + max(EXIT_GRACE, duration)
        self._deadline = time.monotonic() + self._limit
        self._stopped = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        """End the attack now; requests in flight finish or time out, and wait() still works."""
        if self._process.poll() is None:
            self._stopped = True
            self._process.send_signal(signal.SIGINT)

    def wait(self) -> LoadResult:
        """Wait for the run to end and return every request it made."""
        try:
            remaining = max(0.0, self._deadline - time.monotonic())
            try:
                code = self._process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                self._kill()
                raise LoadgenError(
                    f"vegeta (pid {self._process.pid}) timed out: it did not finish within "
                    f"{self._limit:.0f} s and was killed"
                ) from None
            # A SIGINT that lands before vegeta installs its handler ends it with no results.
            stopped_early = self._stopped and code == -signal.SIGINT
            if code != 0 and not stopped_early:
                stderr = self._stderr_file.read_text(errors="replace").strip()
                raise LoadgenError(f"vegeta attack failed with exit code {code}: {stderr}")
            requests = self._read_results()
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)
        return LoadResult(
            requested_rate=self.rate,
            requested_duration=self.duration,
            timeout=self.timeout,
            requests=requests,
        )

    def _kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _read_results(self) -> tuple[RequestResult, ...]:
        if not self._results_file.exists() or self._results_file.stat().st_size == 0:
            return ()
        encoded = subprocess.run(
            [str(self._vegeta), "encode", "-to", "json", str(self._results_file)],
            capture_output=True,
            check=False,
        )
        if encoded.returncode != 0:
            stderr = encoded.stderr.decode(errors="replace").strip()
            raise LoadgenError(
                f"vegeta encode failed with exit code {encoded.returncode}: {stderr}"
            )
        requests = [_parse_result(line) for line in encoded.stdout.splitlines() if line.strip()]
        requests.sort(key=lambda r: (r.start, r.seq))
        return tuple(requests)

    def __enter__(self) -> "LoadRun":
        return self

    def __exit__(self, *exc_info) -> None:
        self._kill()
        shutil.rmtree(self._workdir, ignore_errors=True)


def start_constant_rate(
    targets: Sequence[Target],
    rate: float,
    duration: float,
    timeout: float = 2.0,
    *,
    max_body: int = 256,
) -> LoadRun:
    """Start sending rate requests per second for duration seconds, in the background.

    Targets are used in turn. A request without a response after timeout seconds is recorded
    with status 0. Response bodies are kept up to max_body bytes.
    """
    return LoadRun(targets, rate, duration, timeout, max_body)


def run_constant_rate(
    targets: Sequence[Target],
    rate: float,
    duration: float,
    timeout: float = 2.0,
    *,
    max_body: int = 256,
) -> LoadResult:
    """Send rate requests per second for duration seconds and return every request made."""
    with start_constant_rate(targets, rate, duration, timeout, max_body=max_body) as run:
        return run.wait()


def _check_run_args(targets, rate, duration, timeout, max_body) -> None:
    if not targets:
        raise LoadgenError("no targets: pass at least one loadgen.Target")
    for name, value in (("rate", rate), ("duration", duration), ("timeout", timeout)):
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise LoadgenError(f"invalid {name} {value!r}: expected a number greater than 0")
    if duration * rate < 1:
        raise LoadgenError(
            f"rate {rate}/s for {duration} s sends no request: raise the rate or the duration"
        )
    if not isinstance(max_body, int) or max_body < 0:
        raise LoadgenError(f"invalid max_body {max_body!r}: expected a byte count of 0 or more")


def _rate_flag(rate: float) -> str:
    # vegeta takes a whole number of requests per period. A fractional rate per second
    # becomes a whole number per 1000 s, which paces requests at the same interval.
    if float(rate).is_integer():
        return f"{int(rate)}/1s"
    return f"{round(rate * 1000)}/1000s"


def _duration_flag(seconds: float) -> str:
    return f"{round(seconds * 1_000_000)}us"


def _parse_result(line: bytes) -> RequestResult:
    raw = json.loads(line)
    headers = raw.get("headers") or {}
    return RequestResult(
        seq=raw["seq"],
        start=_parse_timestamp(raw["timestamp"]),
        latency=raw["latency"] / 1e9,
        status=raw["code"],
        error=raw.get("error") or "",
        method=raw.get("method") or "",
        url=raw.get("url") or "",
        headers={name.lower(): tuple(values) for name, values in headers.items()},
        body=base64.b64decode(raw["body"]) if raw.get("body") else b"",
    )


def _parse_timestamp(text: str) -> float:
    match = _TIMESTAMP.match(text)
    if not match:
        raise LoadgenError(f"vegeta wrote an unexpected timestamp {text!r}")
    whole, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    seconds = datetime.fromisoformat(whole + zone).timestamp()
    return seconds + (float(fraction) if fraction else 0.0)


def _default_sigint() -> None:
    """Restore SIGINT's default action in vegeta before it starts.

    A shell runs background jobs with SIGINT ignored, and children inherit that. A SIGINT
    from stop() that landed before vegeta installed its handler was then dropped, and the
    run went on to its full duration.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
