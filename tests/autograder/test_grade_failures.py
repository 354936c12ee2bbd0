"""Broken submissions through `optim-grader grade`: each failure costs what it affects, and
says in one line which file, which function and what to do."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from autograder.cli import main

ROOT = Path(__file__).resolve().parents[2]

# Each graded function of adaptive.py redefined the way a struggling student might, after the
# solution's correct definitions; adagrad stays correct.
BROKEN = {
    "rmsprop": ("def rmsprop(x, grad, state, **hyperparameters):\n    x - 0.01 * grad\n",
                ["returned None", "return a new torch.Tensor"]),
    "adadelta": ("def adadelta(x, grad, state, **hyperparameters):\n"
                 "    return (x - grad).tolist()\n", ["returned a"]),
    "adam": ("def adam(x, grad, state, **hyperparameters):\n"
             "    return (x - 0.01 * grad).numpy()\n", ["numpy.ndarray"]),
    "adamw": ("def adamw(x, grad, state, **hyperparameters):\n"
              "    return (x - 0.01 * grad).reshape(-1, 1)\n", ["shape"]),
    "adamax": ("def adamax(x, grad, state, **hyperparameters):\n"
               "    return (x - 0.01 * grad).half()\n", ["float16"]),
    "nadam": ("def nadam(x, grad, state, **hyperparameters):\n"
              "    return x - grad * (1 / len(state))\n",
              ["raised ZeroDivisionError", "line"]),
    "radam": ("def radam(x, grad, state, **hyperparameters):\n    raise NotImplementedError\n",
              ["not implemented yet"]),
    "adabound": ("def adabound(x, grad):\n    return x - 0.01 * grad\n",
                 ["cannot be called", "keep the signature"]),
}  # fmt: skip


def grade_json(submission: Path, assignment: str, capsys: pytest.CaptureFixture[str]) -> Any:
    status = main(["grade", str(submission), "--assignment", assignment, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return status, report


def outputs(report: Any, function: str) -> list[dict[str, Any]]:
    return [t for t in report["tests"] if t["name"].split("/")[0] == function]


def test_each_failure_costs_its_function_alone_with_a_one_line_reason(tmp_path: Path, capsys):
    source = (ROOT / "solutions" / "adaptive.py").read_text()
    source += "".join(f"\n\n{definition}" for definition, _ in BROKEN.values())
    (tmp_path / "adaptive.py").write_text(source)
    status, report = grade_json(tmp_path / "adaptive.py", "adaptive", capsys)
    assert status == 0 and report["errors"] == []
    assert all(t["status"] == "passed" for t in outputs(report, "adagrad"))
    for function, (_, phrases) in BROKEN.items():
        tests = outputs(report, function)
        assert sum(t["score"] for t in tests) == 0, function
        for test in tests:
            text = test["output"]
            assert "adaptive.py" in text and function in text, text
            assert all(p in text for p in phrases), f"{function}: {text}"
            assert "Traceback" not in text and "\n" not in text.strip(), text


def test_a_missing_function_costs_only_its_cases(tmp_path: Path, capsys):
    lines = (ROOT / "solutions" / "gradient_descent.py").read_text().splitlines(keepends=True)
    node = next(
        n for n in ast.parse("".join(lines)).body
        if isinstance(n, ast.FunctionDef) and n.name == "minibatches"
    )  # fmt: skip
    source = "".join(lines[: node.lineno - 1] + lines[node.end_lineno :])
    (tmp_path / "gradient_descent.py").write_text(source)
    status, report = grade_json(tmp_path, "gradient_descent", capsys)
    assert status == 0
    missing = outputs(report, "minibatches")
    assert missing and all("there is no function minibatches" in t["output"] for t in missing)
    others = [t for t in report["tests"] if not t["name"].startswith("minibatches/")]
    assert all(t["status"] == "passed" for t in others)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("def gd(x, grad, state, *, lr=1e-3:\n    return x\n", "syntax error at line 1"),
        ("import no_such_module\n", "No module named 'no_such_module'"),
        ("raise SystemExit(3)\n", "sys.exit(3)"),
    ],
    ids=["syntax error", "import error", "exit at import"],
)
def test_a_module_that_does_not_load_scores_zero_with_the_reason(
    tmp_path: Path, capsys, text: str, reason: str
):
    (tmp_path / "gradient_descent.py").write_text(text)
    status, report = grade_json(tmp_path / "gradient_descent.py", "gradient_descent", capsys)
    assert status == 2
    assert report["score"] == 0 and report["max_score"] == 40
    assert len(report["errors"]) == 1 and reason in report["errors"][0]
    assert "gradient_descent.py" in report["errors"][0]


def test_a_submission_without_the_module_names_what_to_submit(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("my optimizers are in my head")
    status, report = grade_json(tmp_path, "adaptive", capsys)
    assert status == 2 and report["score"] == 0
    assert "adaptive.py" in report["errors"][0] and "submit" in report["errors"][0]


HANGING_EVERYWHERE = """
def gd(x, grad, state, **hyperparameters):
    while True:
        pass


momentum = nesterov = gd


def minibatches(n, batch_size, *, generator):
    while True:
        pass
"""


def test_a_submission_that_hangs_everywhere_stops_at_its_time_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "gradient_descent.py"
    module.write_text(HANGING_EVERYWHERE)
    arguments = ["--case-time-limit", "1", "--time-budget", "1.5", "--format", "json"]
    assert main(["grade", str(module), "--assignment", "gradient_descent", *arguments]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["score"] == 0
    outputs = {test["name"].split("/")[0]: test["output"] for test in report["tests"]}
    assert "did not finish within 1 s" in outputs["gd"]
    assert "used up its 1.5 s of grading time" in outputs["minibatches"]


@pytest.mark.parametrize("option", ["--time-budget", "--case-time-limit"])
def test_a_time_limit_must_be_positive(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(ROOT / "solutions" / "gradient_descent.py")
    assert main(["grade", module, "--assignment", "gradient_descent", option, "0"]) == 2
    assert f"{option} must be a positive number of seconds" in capsys.readouterr().err
