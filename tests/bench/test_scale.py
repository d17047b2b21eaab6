"""The scale benchmark's config, ratios and failure reporting."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scale import measure_scale, ratios
from bench.scale_step import BASE_STACK, scale_config
from offline.stack_config import load_stack_config

ROOT = Path(__file__).resolve().parents[2]


def _run(cells, preview_s, policy_s, preview_cpu_s=None):
    return {
        "cells": cells,
        "preview": {"wall_s": preview_s, "cpu_s": preview_cpu_s or preview_s},
        "policy_pack": {"wall_s": policy_s, "cpu_s": policy_s},
    }


def test_scale_config_sets_cell_count():
    config = scale_config(100)

    assert config["cellarch:cells"] == "100"


def test_scale_config_widens_supernet_only():
    config = scale_config(100)
    base = load_stack_config(BASE_STACK)
    network = json.loads(config["cellarch:network"])

    assert network["supernet"] == "10.0.0.0/8"
    assert network["cellPrefixLength"] == json.loads(base["cellarch:network"])["cellPrefixLength"]
    unchanged = {k: v for k, v in config.items() if k not in ("cellarch:cells", "cellarch:network")}
    assert unchanged == {
        k: v for k, v in base.items() if k not in ("cellarch:cells", "cellarch:network")
    }


def test_ratios_linear_cost_is_one():
    result = ratios([_run(10, 20.0, 2.0), _run(100, 200.0, 20.0)])

    assert result["smallest_cells"] == 10
    assert result["largest_cells"] == 100
    assert result["preview"] == pytest.approx(1.0)
    assert result["policy_pack"] == pytest.approx(1.0)
    assert result["preview_marginal_s_per_cell"] == pytest.approx(2.0)


def test_ratios_fixed_cost_lowers_ratio():
    # 5 s fixed plus 1 s per cell: 1.5 s per cell at 10, 1.05 at 100.
    result = ratios([_run(100, 105.0, 1.0), _run(10, 15.0, 1.0)])

    assert result["preview"] == pytest.approx(1.05 / 1.5)
    assert result["preview_marginal_s_per_cell"] == pytest.approx(1.0)


def test_ratios_cpu_apart_from_wall():
    # Wall time doubled per cell by other work at 100 cells; CPU time stayed linear.
    result = ratios([_run(10, 10.0, 1.0, 10.0), _run(100, 200.0, 10.0, 100.0)])

    assert result["preview"] == pytest.approx(2.0)
    assert result["preview_cpu"] == pytest.approx(1.0)
    assert result["preview_cpu_marginal_s_per_cell"] == pytest.approx(1.0)


def test_ratios_quadratic_cost_grows():
    result = ratios([_run(10, 10.0 * 10, 1.0), _run(50, 50.0 * 50, 1.0)])

    assert result["preview"] == pytest.approx(5.0)


def test_ratios_missing_policy_pack_is_none():
    small = _run(10, 10.0, 1.0)
    large = _run(50, 50.0, 1.0)
    large["policy_pack"] = {}

    result = ratios([small, large])

    assert result["preview"] == pytest.approx(1.0)
    assert result["policy_pack"] is None
    assert result["policy_pack_cpu"] is None
    assert result["policy_pack_marginal_s_per_cell"] is None


def test_ratios_single_count_is_none():
    result = ratios([_run(10, 10.0, 1.0)])

    assert result["preview"] is None
    assert result["policy_pack"] is None


def test_scale_reports_rejected_cell_count(tmp_path):
    # 300 cells of /16 do not fit a /8, whatever the cap on cells per region.
    lines = []

    result = measure_scale((300,), tmp_path, lines.append)

    assert result["runs"] == []
    (failure,) = result["failures"]
    assert failure.startswith("preview of 300 cells failed with exit code 2: scale: ")
    message = failure.split("exit code 2: ", 1)[1]
    assert "cellarch:" in message
    assert "300" in message
    assert not (tmp_path / "recording-300.pickle").exists()


def test_peak_memory_excludes_parent(tmp_path):
    # ru_maxrss survives fork and execve, so a child of a large process would report the
    # parent's peak; the step's own peak (VmHWM) must not.
    parent_block = bytearray(300 * 2**20)
    for offset in range(0, len(parent_block), 4096):
        parent_block[offset] = 1
    code = "from bench.scale_step import peak_rss_mib; print(peak_rss_mib())"

    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )

    assert float(child.stdout) < 250
    del parent_block
