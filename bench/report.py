"""Results of a benchmark run as JSON and as short Markdown tables."""

import json
from pathlib import Path

from bench.edge.setups import SETUPS

SETUP_NAMES = {setup.key: f"({setup.key}) {setup.name}" for setup in SETUPS}


def write_results(results: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write results.json and results.md into out_dir and return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    markdown_path = out_dir / "results.md"
    markdown_path.write_text(markdown(results))
    return json_path, markdown_path


def markdown(results: dict) -> str:
    """Return every section present in results as Markdown."""
    machine = results["machine"]
    lines = [
        f"Run of {results['started_at']} on {machine['cpus']} CPUs, Linux {machine['kernel']}"
        f"{' (quick mode: harness check, not a measurement)' if results['quick'] else ''}.",
        _load_line(results),
        "",
    ]
    if "edge" in results:
        lines += edge_markdown(results["edge"])
    if "edge_failure" in results:
        lines += [
            "### Authorization overhead at the edge",
            "",
            f"Failed: {results['edge_failure']}",
            "",
        ]
    if "propagation" in results:
        lines += propagation_markdown(results["propagation"])
    if "scale" in results:
        lines += scale_markdown(results["scale"])
    return "\n".join(lines) + "\n"


def edge_markdown(edge: dict) -> list[str]:
    options = edge["options"]
    lines = [
        "### Authorization overhead at the edge",
        "",
        f"Each run: {options['duration_s']:g} s at a constant rate after {options['warmup_s']:g} s "
        f"of warm-up, {options['rounds']} round(s). Latency is measured by the load generator "
        "through Envoy; CPU is user + system time of each process over the run.",
        "",
        "| setup | rate asked / achieved (req/s) | requests | statuses | p50 ms | p90 ms "
        "| p99 ms | CPU ms per 1,000 req: Envoy / authz / service / total |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in edge["runs"]:
        latency = run["latency_ms"]
        cpu = run["cpu_ms_per_1000_requests"]
        statuses = ", ".join(f"{count} x {code}" for code, count in run["statuses"].items())
        if run.get("saturated"):
            statuses += " (saturated)"
        authz = f"{cpu['authz']:.0f}" if "authz" in cpu else "-"
        lines.append(
            f"| {SETUP_NAMES[run['setup']]} | {run['rate_requested']:g} / "
            f"{run['rate_achieved']:.1f} | {run['requests']} | {statuses} "
            f"| {latency['p50']:.2f} | {latency['p90']:.2f} | {latency['p99']:.2f} "
            f"| {cpu['envoy']:.0f} / {authz} / {cpu['service']:.0f} / {cpu['total']:.0f} |"
        )
    lines += [
        "",
        "| rate (req/s) | (b) - (a) p50 / p90 / p99 ms | (c) - (a) p50 / p90 / p99 ms "
        "| (d) - (b) p50 / p99 ms | authz CPU (c) / (b) | (b) p99 overhead < 1 ms | "
        "(b) p99 < (c) p99 | saturated setups |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for comparison in edge["comparisons"]:
        b_over_a = comparison["overhead_ms"]["b_over_a"]
        c_over_a = comparison["overhead_ms"]["c_over_a"]
        d_minus_b = comparison["d_minus_b_ms"]
        ratio = comparison["authz_cpu_ratio_c_to_b"]
        targets = comparison["targets"]
        lines.append(
            f"| {comparison['rate']:g} | {_triple(b_over_a)} | {_triple(c_over_a)} "
            f"| {d_minus_b['p50']:.2f} / {d_minus_b['p99']:.2f} "
            f"| {'-' if ratio is None else f'{ratio:.2f}'} "
            f"| {_yes(targets['b_p99_overhead_below_1ms'])} "
            f"| {_yes(targets['b_p99_below_c_p99'])} "
            f"| {', '.join(comparison.get('saturated_setups', [])) or 'none'} |"
        )
    calibration = edge["delay_calibration"]
    for failed in edge.get("failed_runs", []):
        lines += [
            "",
            f"No figures for ({failed['setup']}) at {failed['rate_requested']:g}/s, round "
            f"{failed['round']}: {failed['error']}",
        ]
    lines += [
        "",
        "A saturated run is one where more than 1% of requests got no 200 or fewer than 95% of "
        "the requested rate was started: the machine could not keep up, and its latencies "
        "measure queueing rather than the cost of authorization.",
        "",
        f"Delay line of (d): {calibration['one_way_delay_ms']:g} ms each way; a TCP echo through "
        f"it took {calibration['delayed_rtt_ms']['p50']:.2f} ms at p50 against "
        f"{calibration['direct_rtt_ms']['p50']:.2f} ms direct "
        f"(+{calibration['added_rtt_ms_p50']:.2f} ms per round trip).",
        "",
    ]
    return lines


def propagation_markdown(propagation: dict) -> list[str]:
    polling = propagation["polling"] or {}
    lines = [
        "### Propagation from publish to enforcement",
        "",
        f"Agents poll the repository every {polling.get('min_delay_seconds', '?')} to "
        f"{polling.get('max_delay_seconds', '?')} s. Time runs from the moment publishing "
        "returned to the first response with the new decision, per cell; probes every "
        f"{1000 / propagation['probe_rate_per_cell']:.0f} ms per cell. Probes with neither "
        "the old nor the new decision, such as timeouts, per trial: "
        f"{_other_probes(propagation)}.",
        "",
        "| cells | trials | median s | max s | cells that never enforced |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in propagation["summary"]:
        lines.append(
            f"| {row['cells']} | {row['trials']} | {_seconds(row['median_s'])} "
            f"| {_seconds(row['max_s'])} | {row['not_enforced']} |"
        )
    lines.append("")
    for failure in propagation.get("failures", []):
        lines += [f"Failed: {failure}", ""]
    return lines


def scale_markdown(scale: dict) -> list[str]:
    lines = [
        "### Program scale: offline preview of one region",
        "",
        "| cells | resources | preview wall s | preview CPU s | preview wall s per cell "
        "| preview peak MiB | policy pack wall s | policy pack CPU s "
        "| policy pack wall s per cell | policy pack peak MiB | violations |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in scale["runs"]:
        preview = row["preview"]
        policy = row["policy_pack"]
        lines.append(
            f"| {row['cells']} | {preview['resources']} | {preview['wall_s']:.2f} "
            f"| {preview['cpu_s']:.2f} | {preview['s_per_cell']:.3f} "
            f"| {preview['peak_rss_mib']:.0f} | {_seconds(policy.get('wall_s'))} "
            f"| {_seconds(policy.get('cpu_s'))} | {_per_cell(policy.get('s_per_cell'))} "
            f"| {_mib(policy.get('peak_rss_mib'))} | {policy.get('violations', '-')} |"
        )
    ratios = scale["ratios"]
    if ratios["smallest_cells"] is None:
        lines += ["", "No ratios: they need two cell counts measured at least.", ""]
    else:
        lines += _scale_ratio_lines(ratios)
    for failure in scale.get("failures", []):
        lines += [f"Failed: {failure}", ""]
    return lines


def _scale_ratio_lines(ratios: dict) -> list[str]:
    return [
        "",
        f"Time per cell at {ratios['largest_cells']} cells over time per cell at "
        f"{ratios['smallest_cells']} cells (1.0 means linear), wall / CPU: preview "
        f"{_ratio(ratios['preview'])} / {_ratio(ratios['preview_cpu'])}, policy pack "
        f"{_ratio(ratios['policy_pack'])} / {_ratio(ratios['policy_pack_cpu'])}. "
        "Time per added cell between the two counts, wall / CPU: preview "
        f"{_per_cell(ratios['preview_marginal_s_per_cell'])} / "
        f"{_per_cell(ratios['preview_cpu_marginal_s_per_cell'])} s, policy pack "
        f"{_per_cell(ratios['policy_pack_marginal_s_per_cell'])} / "
        f"{_per_cell(ratios['policy_pack_cpu_marginal_s_per_cell'])} s.",
        "",
    ]


def _load_line(results: dict) -> str:
    start = results.get("load_average_at_start")
    end = results.get("load_average_at_end")
    if not start or not end:
        return "Load average not recorded."
    return (
        f"Load average (1 / 5 / 15 min) at start {_load(start)}, at end {_load(end)}; it "
        "counts this run's processes and any other work on the machine."
    )


def _load(average: dict) -> str:
    return f"{average['1m']:.2f} / {average['5m']:.2f} / {average['15m']:.2f}"


def _other_probes(propagation: dict) -> str:
    counts = [
        f"{sum(e.get('other', 0) for e in t['by_cell'].values())} of "
        f"{sum(e['requests'] for e in t['by_cell'].values())}"
        for t in propagation["trials"]
    ]
    return ", ".join(counts) if counts else "none"


def _triple(points: dict) -> str:
    return f"{points['p50']:.2f} / {points['p90']:.2f} / {points['p99']:.2f}"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _per_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
