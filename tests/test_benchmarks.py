"""The benchmark scripts run as documented, so that a machine lent for a short time (a GPU's)
spends it measuring, not debugging."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def test_the_cuda_checks_measure_each_efficiency_case_on_the_gpu_and_the_cpu(tmp_path: Path):
    out = tmp_path / "cuda_checks.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cuda_checks.py"), "--no-tests",
         "--size", "250000", "--assignment", "gradient_descent", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    rows = {(row["function"], row["device"]): row for row in figures["efficiency"]}
    assert set(rows) == {(f, d) for f in ("gd", "momentum", "nesterov") for d in ("cuda", "cpu")}
    gpu = torch.cuda.is_available()
    assert (figures["gpu"] is not None) == gpu
    for (function, device), row in rows.items():
        assert row["size"] == 250_000 and row["limit"] > 0
        expected = "passed" if device == "cpu" or gpu else "unavailable"
        assert row["verdict"] == expected, (function, device, row)
        if row["verdict"] == "passed":
            assert 0 < row["seconds"] < row["limit"]


@pytest.mark.slow
def test_the_grading_benchmark_prints_each_figure_beside_its_target(tmp_path: Path):
    out = tmp_path / "grading_speed.json"
    # timed as an installed kit runs, its modules' bytecode written first (as pip writes it),
    # even where nothing else writes bytecode
    bytecode = Path(importlib.util.cache_from_source(str(ROOT / "autograder" / "cli.py")))
    bytecode.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "grading_speed.py"), "--students", "3",
         "--repeats", "2", "--nbgrader-students", "0", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    printed = {line.split()[0]: line for line in done.stdout.splitlines() if "target" in line}
    for name in ("seconds_per_submission", "isolation_overhead", "check_seconds",
                 "grade_seconds", "batch_peak_memory_gb"):  # fmt: skip
        assert f"{figures[name]:.3g}" in printed[name], printed.get(name)
    assert "not measured" in printed["nbgrader_ratio"]  # asked for no nbgrader students
    assert len(figures["batch_runs"]) == len(figures["in_process_runs"]) == 2
    runs = zip(figures["batch_runs"], figures["in_process_runs"], strict=True)
    assert figures["isolation_overhead"] == pytest.approx(sum(b / p for b, p in runs) / 2)
    assert figures["batch_seconds"] == pytest.approx(sum(figures["batch_runs"]) / 2)
    assert bytecode.is_file()
