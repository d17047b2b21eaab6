"""Reliability drills: faults injected into the local region, with measured figures.

Run them with `scripts/drills`; each drill module has NAME, TITLE and
run(result, run_dir, quick), and fills a DrillResult with figures and checks.
"""
