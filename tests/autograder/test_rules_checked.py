"""`optim-grader check` enforces the README's rules on the student's machine: purity, float32,
the device (emulated) and efficiency checks and the docstrings' errors, with a student's module
that breaks each; a placeholder earns nothing from the checks of how it runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.cli import main

ROOT = Path(__file__).resolve().parents[2]
STUDENT = ROOT / "tests" / "fixtures" / "students" / "rule_breaker" / "gradient_descent"


@pytest.mark.slow
def test_check_fails_every_rule_the_module_breaks(tmp_path: Path, capsys):
    folder = tmp_path / "gradient_descent"
    shutil.copytree(ROOT / "assignments" / "gradient_descent", folder)
    shutil.copy(STUDENT / "gradient_descent.py", folder)
    assert main(["check", str(folder), "--verbose"]) == 1
    lines = capsys.readouterr().out.splitlines()

    def cases(function: str) -> dict[str, str]:
        return {
            line.split(" [")[0].strip(): line
            for line in lines
            if line.startswith(f"     {function}/")
        }

    gd = cases("gd")
    assert "[modified input]" in gd["gd/quadratic_2d/lr=0.1/purity"]
    assert "float64 tensor for float32 x" in gd["gd/random_quadratic/lr=0.005/float32/shape=5x10"]
    nesterov = cases("nesterov")
    assert "[host sync]" in nesterov["nesterov/random_quadratic/lr=0.005/shape=5x10/device"]
    assert "[slow]" in nesterov["nesterov/quadratic_1d/lr=0.005/float32/size=250000/efficiency"]
    assert all("[passed]" in line for name, line in nesterov.items() if name.endswith("errors"))
    momentum = cases("momentum")
    for name, line in momentum.items():
        if "momentum=0.0" in name:  # the docstring's branch: plain gradient descent
            assert "[passed]" in line
            continue
        assert "[passed]" not in line, name
        if name.endswith(("purity", "device", "efficiency")):
            assert "values are right" in line or "expected" in line, line
        if name.endswith("errors"):
            assert "[missing error]" in line and "ValueError" in line
    float32 = momentum["momentum/random_quadratic/lr=0.005/float32/shape=2x5x5"]
    assert "state 'momentum_buffer' is missing" in float32  # float32 runs compare state
    assert lines[-1].startswith("1 of 4 functions pass their visible cases")


def test_state_kept_in_numpy_is_named_as_such(tmp_path: Path, capsys):
    folder = tmp_path / "adaptive"
    shutil.copytree(ROOT / "assignments" / "adaptive", folder)
    shutil.copy(ROOT / "tests" / "fixtures" / "students" / "numpy_state" / "adaptive" /
                "adaptive.py", folder)  # fmt: skip
    assert main(["check", str(folder), "--function", "adagrad"]) == 1
    out = capsys.readouterr().out
    assert "state 'sum' as a numpy array" in out and "torch tensors" in out
    assert "is missing from state" not in out
