"""`optim-grader grade` on real submission files: the grader's acceptance battery.

Solutions score full, stubs zero with "not implemented yet", re-ordered correct modules full,
and every known bug, written as a student's edit, loses points on its own function only and
is named there.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.cli import main
from autograder.rubric import load_rubric
from reference.bugs import known_bugs
from tests.fixtures.students import (
    adaptive_mutations,
    correct_modules,
    gradient_descent_mutations,
    schedules_mutations,
)
from tests.fixtures.students.apply_mutation import student_module

ROOT = Path(__file__).resolve().parents[2]
MUTATIONS = {
    "gradient_descent": gradient_descent_mutations.MUTATIONS,
    "adaptive": adaptive_mutations.MUTATIONS,
    "schedules": schedules_mutations.MUTATIONS,
}


def grade_json(submission: Path, assignment: str, capsys: pytest.CaptureFixture[str]) -> Any:
    status = main(["grade", str(submission), "--assignment", assignment, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert status == (2 if report["errors"] else 0)
    return report


def by_function(report: Any) -> dict[str, list[dict[str, Any]]]:
    tests: dict[str, list[dict[str, Any]]] = {}
    for test in report["tests"]:
        tests.setdefault(test["name"].split("/")[0], []).append(test)
    return tests


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_the_solutions_score_full_marks(assignment: Assignment, capsys):
    report = grade_json(ROOT / "solutions" / assignment.module, assignment.name, capsys)
    maximum = load_rubric(assignment.name).max_score
    assert report["score"] == pytest.approx(report["max_score"]) == maximum
    assert report["errors"] == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_the_stubs_score_zero_and_say_not_implemented_yet(assignment: Assignment, capsys):
    report = grade_json(ROOT / "assignments" / assignment.name, assignment.name, capsys)
    assert report["score"] == 0
    for test in report["tests"]:
        assert "not implemented yet" in test["output"]
        assert "Traceback" not in test["output"]


@pytest.mark.parametrize(
    ("assignment", "module"),
    [(a, m) for a in ASSIGNMENTS for m in correct_modules(a.name)],
    ids=lambda p: p.name if isinstance(p, Assignment) else p.parent.name,
)
def test_differently_written_correct_modules_score_full_marks(
    assignment: Assignment, module: Path, capsys
):
    report = grade_json(module.parent, assignment.name, capsys)
    failing = [t["name"] + ": " + t["output"] for t in report["tests"] if t["status"] != "passed"]
    assert failing == []
    assert report["score"] == pytest.approx(load_rubric(assignment.name).max_score)


def bug_rounds(assignment: Assignment) -> list[dict[str, str]]:
    """Submissions holding at most one known bug per function: round i takes each function's
    i-th bug, so every bug is graded once and untouched functions show what leaks."""
    ids = {f.name: [b.id for b in known_bugs(f.name)] for f in assignment.functions}
    rounds = max(len(v) for v in ids.values())
    return [{f: b[i] for f, b in ids.items() if i < len(b)} for i in range(rounds)]


def calls(source: str) -> dict[str, set[str]]:
    """Which top-level functions each top-level function calls, directly."""
    tree = ast.parse(source)
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return {
        node.name: {
            c.func.id
            for c in ast.walk(node)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in names
        }
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def affected(graph: dict[str, set[str]], mutated: set[str]) -> set[str]:
    """The mutated functions and every function that reaches one through its calls."""
    hit = set(mutated)
    while True:
        more = {f for f, callees in graph.items() if callees & hit} - hit
        if not more:
            return hit
        hit |= more


@pytest.mark.parametrize(
    ("assignment", "bugs"),
    [(a, r) for a in ASSIGNMENTS for r in bug_rounds(a)],
    ids=lambda p: p.name if isinstance(p, Assignment) else "+".join(sorted(p.values())),
)
def test_each_known_bug_costs_its_function_only_and_is_named(
    assignment: Assignment, bugs: dict[str, str], tmp_path: Path, capsys
):
    mutations = MUTATIONS[assignment.name]
    source = student_module(
        ROOT / "solutions" / assignment.module, {f: mutations[b] for f, b in bugs.items()}
    )
    (tmp_path / assignment.module).write_text(source)
    report = grade_json(tmp_path / assignment.module, assignment.name, capsys)
    tests = by_function(report)
    broken = affected(calls(source), set(bugs))
    for function, cases in tests.items():
        score = sum(t["score"] for t in cases)
        if function not in broken:
            failing = [t["name"] for t in cases if t["status"] != "passed"]
            assert failing == [], f"{function} has no bug but fails {failing}"
            continue
        if function not in bugs:
            continue  # it calls a mutated function: losing points there is right
        bug = next(b for b in known_bugs(function) if b.id == bugs[function])
        assert score < sum(t["max_score"] for t in cases), f"{bug.id} costs nothing"
        named = [t for t in cases if bug.misconception.rstrip(".") in t["output"]]
        assert named, f"{bug.id} is never named; outputs: {[t['output'] for t in cases][:3]}"
