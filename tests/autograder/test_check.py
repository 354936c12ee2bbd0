"""`optim-grader check`, the students' loop: visible cases against the public expected values.

It must agree with `grade` on every visible case, and run where neither reference/ nor
solutions/ exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.cli import main
from autograder.expectations import shared_reference
from autograder.grading import grade_submission
from autograder.public_expected import PublicExpectations
from autograder.rubric import load_rubric
from tests.fixtures.students.adaptive_mutations import MUTATIONS
from tests.fixtures.students.apply_mutation import student_module

ROOT = Path(__file__).resolve().parents[2]
BUGS = {"adam": "adam/no_bias_correction", "rmsprop": "rmsprop/eps_inside_root",
        "nadam": "nadam/no_mu_schedule"}  # fmt: skip
FAILING = {*BUGS, "adamw"}  # the solution's adamw calls its adam


def assignment_folder(tmp_path: Path, assignment: Assignment, module_source: str) -> Path:
    folder = tmp_path / assignment.name
    shutil.copytree(ROOT / "assignments" / assignment.name, folder)
    (folder / assignment.module).write_text(module_source)
    return folder


def buggy_adaptive() -> str:
    return student_module(
        ROOT / "solutions" / "adaptive.py", {f: MUTATIONS[b] for f, b in BUGS.items()}
    )


def test_check_and_grade_agree_on_every_visible_case(tmp_path: Path):
    assignment = next(a for a in ASSIGNMENTS if a.name == "adaptive")
    folder = assignment_folder(tmp_path, assignment, buggy_adaptive())
    public = PublicExpectations(folder)
    rubric = load_rubric(assignment.name)
    assert sorted(c.name for c in public.cases) == sorted(c.name for c in rubric.visible)
    checked = grade_submission(folder, rubric, public, cases=public.cases)
    graded = grade_submission(folder, rubric, shared_reference(), cases=rubric.visible)
    by_name = {c.name: c for c in graded.checks}
    for check in checked.checks:
        grade = by_name[check.name]
        assert (check.status, check.score, check.message) == (
            grade.status,
            grade.score,
            grade.message,
        ), check.name
    assert any(not c.passed for c in checked.checks)


def test_check_names_each_failing_case_and_sums_up(tmp_path: Path, capsys):
    assignment = next(a for a in ASSIGNMENTS if a.name == "adaptive")
    folder = assignment_folder(tmp_path, assignment, buggy_adaptive())
    assert main(["check", str(folder)]) == 1
    lines = capsys.readouterr().out.splitlines()
    headers = [line for line in lines if not line.startswith(" ")]
    for header, function in zip(headers, assignment.functions, strict=False):
        assert header.startswith(("FAIL " if function.name in FAILING else "ok   ") + function.name)
    assert headers[-1].startswith(f"{len(assignment.functions) - len(FAILING)} of 9 functions")
    assert "visible cases:" in headers[-1] and "points" in headers[-1]
    adam = lines[lines.index(next(h for h in headers if h.startswith("FAIL adam:"))) + 1]
    # the case (problem, hyperparameters), step, quantity, both values, difference, tolerance
    assert adam.startswith("     adam/") and "lr=0.1" in adam and "after step" in adam
    assert "expected" in adam and "off by" in adam and "tolerance" in adam
    assert "bias correction" in adam
    collapsed = [line for line in lines if "the same in" in line]
    assert collapsed and all(line.startswith("     the same in") for line in collapsed)
    assert main(["check", str(folder), "--function", "adagrad"]) == 0
    assert capsys.readouterr().out.startswith("ok   adagrad:")
    assert main(["check", str(folder), "--function", "adagrad", "--verbose"]) == 0
    verbose = capsys.readouterr().out.splitlines()
    cases = [line for line in verbose if line.startswith("     adagrad/")]
    assert cases and all("[passed]" in line for line in cases)
    assert not any("the same in" in line for line in verbose)


def test_check_of_an_unknown_function_says_which_exist(tmp_path: Path, capsys):
    assignment = ASSIGNMENTS[0]
    folder = assignment_folder(tmp_path, assignment, "")
    assert main(["check", str(folder), "--function", "adam"]) == 2
    assert "gd, momentum, nesterov, minibatches" in capsys.readouterr().out


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_check_needs_neither_reference_nor_solutions(tmp_path: Path, assignment: Assignment):
    """A copy of the kit without reference/ and solutions/, where importing them fails."""
    kit = tmp_path / "kit"
    shutil.copytree(ROOT / "autograder", kit / "autograder")
    solution = (ROOT / "solutions" / assignment.module).read_text()
    folder = assignment_folder(tmp_path, assignment, solution)
    code = (
        "import sys; sys.modules['reference'] = sys.modules['solutions'] = None; "
        "import autograder; assert autograder.__file__.startswith(sys.argv[1]); "
        "from autograder.cli import main; sys.exit(main(['check']))"
    )
    env = {**os.environ, "PYTHONPATH": str(kit)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(kit)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(assignment.functions) + 1
    assert all(line.startswith("ok") for line in lines[:-1]), result.stdout
    count = len(assignment.functions)
    assert lines[-1].startswith(f"{count} of {count} functions pass"), lines[-1]


def test_check_outside_an_assignment_folder_says_where_to_run_it(tmp_path: Path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    assert "run `optim-grader check` inside an assignment folder" in capsys.readouterr().out


def test_check_reads_a_functions_known_bugs_only_where_one_of_its_cases_fails(
    tmp_path: Path, capsys
):
    """The known bugs' outcomes, most of expected/, stay unread for functions that pass."""
    from tests.fixtures.students.gradient_descent_mutations import MUTATIONS as GD_MUTATIONS

    assignment = next(a for a in ASSIGNMENTS if a.name == "gradient_descent")
    source = student_module(
        ROOT / "solutions" / assignment.module,
        {"momentum": GD_MUTATIONS["momentum/plain_gradient_step"]},
    )
    folder = assignment_folder(tmp_path, assignment, source)
    known_bugs = folder / "expected" / "known-bugs"
    for path in known_bugs.iterdir():
        if path.name != "momentum.json":
            path.unlink()
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("ok   gd:") and "FAIL momentum:" in out and "ok   nesterov:" in out
    misconception = json.loads((known_bugs / "momentum.json").read_text())["variants"]
    named = {v["misconception"] for vs in misconception.values() for v in vs}
    assert any(text in out for text in named), out


@pytest.mark.parametrize(
    "damage",
    [lambda text: text.replace('"format":2', '"format":1', 1), lambda text: text[: len(text) // 2]],
    ids=["another-version", "truncated"],
)
def test_check_of_expected_values_from_another_kit_version_names_the_file_and_the_fix(
    tmp_path: Path, capsys, damage
):
    assignment = next(a for a in ASSIGNMENTS if a.name == "gradient_descent")
    folder = assignment_folder(tmp_path, assignment, "")
    stale = folder / "expected" / "gd.json"
    stale.write_text(damage(stale.read_text()))
    assert main(["check", str(folder)]) == 2
    error = capsys.readouterr().err
    assert str(stale) in error and "get the assignment folder again" in error
