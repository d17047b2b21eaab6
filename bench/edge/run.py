"""The edge benchmark from start to end: region, setups, interleaved runs, comparisons."""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.edge.compare import compare
from bench.edge.delay import calibrate
from bench.edge.measure import TOKEN_TTL_SECONDS, measure
from bench.edge.setups import SETUPS, EdgeStack
from loadgen import LoadgenError
from localregion.region import LocalRegion

# The local region needs two cells at least; the benchmark uses the first.
REGION_CELLS = 2


@dataclass(frozen=True)
class EdgeOptions:
    """How long and how hard the edge benchmark runs."""

    # 500 and 2,000 requests per second are the rates to compare at. 100 is a reference
    # rate, low enough for a 2-core machine to keep up in every setup, so that its overheads
    # measure authorization rather than queueing. A run that does not keep up is marked
    # saturated in the results.
    rates: tuple[int, ...] = (100, 500, 2000)
    duration_s: float = 20.0
    warmup_s: float = 3.0
    timeout_s: float = 2.0
    rounds: int = 1
    # Half of the 5 ms round trip that setup (d) adds.
    one_way_delay_ms: float = 2.5


def measure_edge(options: EdgeOptions, workdir: Path, progress: Callable[[str], None]) -> dict:
    """Run every setup at every rate, interleaved, and return runs and comparisons.

    Setups take turns at each rate (a, b, c, d, then the next rate), so a slow period of
    the machine spreads over all of them rather than landing on one.
    """
    calibration = calibrate(options.one_way_delay_ms)
    progress(
        f"edge: the delay line adds {calibration['added_rtt_ms_p50']:.2f} ms per round trip "
        f"at p50 ({options.one_way_delay_ms:g} ms each way)"
    )
    runs = []
    failed_runs = []
    with LocalRegion(
        cells=REGION_CELLS,
        run_dir=workdir / "region",
        progress=lambda line: progress(f"edge: {line}"),
    ) as region:
        tokens: dict[str, str] = {}

        def mint_token(caller: str) -> str:
            if caller not in tokens:
                tokens[caller] = region.token(caller, ttl_seconds=TOKEN_TTL_SECONDS)
            return tokens[caller]

        stack = EdgeStack(region, workdir / "edge", options.one_way_delay_ms)
        try:
            running = stack.start()
            progress(f"edge: started the four setups in front of cell {stack.cell.name}")
            for round_number in range(1, options.rounds + 1):
                for rate in options.rates:
                    for setup in SETUPS:
                        try:
                            record, _ = measure(
                                running[setup.key],
                                mint_token,
                                rate,
                                options.duration_s,
                                options.warmup_s,
                                options.timeout_s,
                            )
                        except LoadgenError as error:
                            # The load generator itself failed, so this run has no figures;
                            # the other setups and rates still get measured.
                            failed_runs.append(
                                {
                                    "setup": setup.key,
                                    "rate_requested": rate,
                                    "round": round_number,
                                    "error": str(error),
                                }
                            )
                            progress(
                                f"edge: ({setup.key}) {setup.name} at {rate}/s failed: {error}"
                            )
                            continue
                        record["round"] = round_number
                        runs.append(record)
                        progress(_run_line(record))
        finally:
            stack.stop()
    return {
        "options": asdict(options),
        "cell": "the first cell of a two-cell local region",
        "setups": [asdict(setup) for setup in SETUPS],
        "delay_calibration": calibration,
        "runs": runs,
        "failed_runs": failed_runs,
        "comparisons": compare(runs),
    }


def _run_line(record: dict) -> str:
    latency = record["latency_ms"]
    return (
        f"edge: ({record['setup']}) {record['setup_name']} at {record['rate_requested']:g}/s "
        f"(achieved {record['rate_achieved']:.1f}/s): p50 {latency['p50']:.2f} ms, "
        f"p99 {latency['p99']:.2f} ms, {record['unexpected_statuses']} of "
        f"{record['requests']} requests without status {record['expected_status']}"
    )
