"""docs/contributing.md kept honest: every entry of the catalogue, every known bug, problem and
report format has each of the edits that page lists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import reference
from autograder.catalog import ASSIGNMENTS, GradedFunction, all_functions
from autograder.config import REPORT_FORMATS
from autograder.problems import CATEGORIES, PROBLEMS
from autograder.reports import render
from autograder.results import GradeReport
from autograder.rubric import load_rubric
from reference.bugs import KNOWN_BUGS, known_bugs
from reference.known_bug import KnownBug

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = [(a.name, a.module, f) for a in ASSIGNMENTS for f in a.functions]
BY_NAME = pytest.mark.parametrize(("assignment", "module", "graded"), FUNCTIONS,
                                  ids=[f.name for _, _, f in FUNCTIONS])  # fmt: skip


def top_level_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@BY_NAME
def test_a_catalogue_function_has_every_edit(
    assignment: str, module: str, graded: GradedFunction
) -> None:
    name = graded.name
    assert name in reference.FUNCTIONS, f"{name}: add it to FUNCTIONS in reference/__init__.py"
    assert known_bugs(name), f"{name}: give it at least one known bug (reference/FAMILY.py)"
    assert name in top_level_functions(ROOT / "solutions" / module), f"solutions/{module}: {name}"
    released = ROOT / "assignments" / assignment
    assert name in top_level_functions(released / module), "run `optim-grader release`"
    cases = load_rubric(assignment).for_function(name)
    assert cases, f"autograder/rubrics/{assignment}.toml: add [functions.{name}] cases"
    if any(case.visible for case in cases):
        assert (released / "expected" / f"{name}.json").is_file(), "run `optim-grader release`"
    if graded.kind == "optimizer":
        measures = {case.student_request.measure for case in cases}
        assert {"device", "efficiency"} <= measures, f"{name}: add device and efficiency cases"


def mutations(assignment: str) -> dict[str, object]:
    module = importlib.import_module(f"tests.fixtures.students.{assignment}_mutations")
    found: dict[str, object] = module.MUTATIONS
    return found


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.id)
def test_a_known_bug_is_written_as_a_student_would(bug: KnownBug) -> None:
    assignment = next(a.name for a in ASSIGNMENTS for f in a.functions if f.name == bug.function)
    fixtures = f"tests/fixtures/students/{assignment}_mutations.py"
    assert bug.id in mutations(assignment), f"{fixtures}: write {bug.id} as a student's edit"


def test_every_problem_has_a_category_and_a_row_worked_by_hand() -> None:
    from tests.autograder.test_problems import ROWS

    for problem in PROBLEMS:
        assert problem.category in CATEGORIES, problem.name
        assert problem.name in ROWS, f"tests/autograder/test_problems.py: add {problem.name}"


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_every_report_format_renders_and_has_a_test(fmt: str) -> None:
    report = GradeReport("gd", "alice", ())
    assert render(report, fmt).strip(), f"autograder/reports/__init__.py: register {fmt}"
    tests = (ROOT / "tests" / "autograder" / "test_reports.py").read_text(encoding="utf-8")
    assert f'"{fmt}"' in tests or f"render_{fmt}" in tests, f"test_reports.py: test {fmt}"


def test_every_graded_function_is_in_exactly_one_assignment() -> None:
    names = [f.name for f in all_functions()]
    assert len(names) == len(set(names))
