"""Diagnosis that is right or silent, through the CLI on students' own modules: the lecture
notes' momentum forms named, two mistakes named together, a known bug that explains only part
of a run not named, a precision-only difference said plainly, a placeholder told it is one, and
1-D problems drawn as the iterate against the step."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from autograder.cli import main

ROOT = Path(__file__).resolve().parents[2]
STUDENTS = ROOT / "tests" / "fixtures" / "students"
QUOTED = re.compile(r"`[^`]+`")


def check(student: str, assignment: str, function: str, tmp_path: Path, capsys: Any) -> str:
    """`optim-grader check --function` on the student's module in a copy of the assignment."""
    folder = tmp_path / student / assignment
    shutil.copytree(ROOT / "assignments" / assignment, folder)
    shutil.copy(STUDENTS / student / assignment / f"{assignment}.py", folder)
    capsys.readouterr()
    assert main(["check", str(folder), "--function", function]) == 1
    out: str = capsys.readouterr().out
    return out


def test_the_notes_velocity_form_is_named(tmp_path: Path, capsys: Any) -> None:
    out = check("notes_velocity", "gradient_descent", "momentum", tmp_path, capsys)
    assert "likely mistake: Follows the lecture notes' velocity form" in out
    assert "Re-read `x ← x - lr · b`" in out


def test_the_notes_momentum_without_dampening_is_named(tmp_path: Path, capsys: Any) -> None:
    out = check("notes_momentum", "gradient_descent", "momentum", tmp_path, capsys)
    assert "likely mistake: Follows the lecture notes, v ← β v + g" in out
    assert "dampening" in out and "velocity form" not in out


def test_a_float32_step_counter_is_said_plainly(tmp_path: Path, capsys: Any) -> None:
    out = check("float32_step", "adaptive", "adam", tmp_path, capsys)
    assert "the rule is right, but the values agree with the reference to float32's" in out
    assert "likely mistake" not in out and "matches none" not in out


def test_a_placeholder_is_told_it_takes_a_plain_gradient_step(tmp_path: Path, capsys) -> None:
    out = check("float32_step", "adaptive", "adagrad", tmp_path, capsys)
    assert "likely mistake: Takes a plain gradient step, x - lr · g" in out
    assert "Write the whole update of the docstring, down to `x ← x - clr · g / (√s + eps)`" in out
    assert "more than one mistake" not in out


@pytest.fixture(scope="module")
def two_mistakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The JSON report of the two-mistakes student, its failing cases by function."""
    out = tmp_path_factory.mktemp("two") / "report.json"
    module = STUDENTS / "two_mistakes" / "adaptive" / "adaptive.py"
    main(["grade", str(module), "--assignment", "adaptive", "--format", "json", "--out", str(out)])
    failing: dict[str, list[dict[str, Any]]] = {}
    for test in json.loads(out.read_text())["tests"]:
        if test["status"] != "passed":
            failing.setdefault(test["name"].split("/")[0], []).append(test)
    return failing


@pytest.mark.slow
def test_two_mistakes_in_one_function_are_named_together(two_mistakes) -> None:
    diverged = [t for t in two_mistakes["adagrad"] if "expected" in t["output"]]
    assert len(diverged) >= 3
    for test in diverged:
        output = test["output"]
        assert "likely two mistakes:" in output, output
        assert "Decays the learning rate with t instead of t − 1" in output.replace(
            "decays", "Decays"
        )
        assert "tarts the accumulator at 0 whatever initial_accumulator_value says" in output


@pytest.mark.slow
def test_a_known_bug_that_explains_part_of_a_run_is_not_named(two_mistakes) -> None:
    adam = [t["output"] for t in two_mistakes["adam"] if "expected" in t["output"]]
    assert not any("likely mistake" in output for output in adam)
    assert sum("more than one mistake" in output for output in adam) > len(adam) / 2
    adabound = [t["output"] for t in two_mistakes["adabound"]]
    assert not any("likely mistake" in output for output in adabound)


@pytest.mark.slow
def test_every_re_read_quotes_a_line(two_mistakes) -> None:
    for tests in two_mistakes.values():
        for test in tests:
            for sentence in test["output"].split("Re-read")[1:]:
                assert QUOTED.match(sentence.strip()), test["output"]


@pytest.mark.slow
def test_a_1d_problem_is_drawn_as_the_iterate_against_the_step(tmp_path: Path, capsys) -> None:
    module = STUDENTS / "notes_velocity" / "gradient_descent" / "gradient_descent.py"
    page = tmp_path / "report.html"
    main(["grade", str(module), "--assignment", "gradient_descent", "--format", "html",
          "--out", str(page)])  # fmt: skip
    html = page.read_text()
    assert 'alt="x_cos_cx: the reference&#x27;s iterate and yours against the step' in html
    assert 'alt="quadratic_2d: the reference path and yours' in html
