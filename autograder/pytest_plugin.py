"""The pytest plugin of the student checker: `pytest` in an assignment folder runs `check`.

Each visible case is one test, named as the kit names it (`adam/quadratic_2d/lr=0.1`), under
one node per function of the assignment's module. Collection reads the case names from
expected/*.json with plain json: no torch, no worker, so editors' test panels fill in at once.
The first test that runs grades every selected case of its folder in one worker run, through
the engine of `check` (docs/design.md §3); each test then reports its own case. Anywhere else,
the plugin collects nothing.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.commands import find_assignment

if TYPE_CHECKING:
    from autograder.results import GradeReport

MODULES = {a.module for a in ASSIGNMENTS}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> AssignmentModule | None:
    """The assignment's module when it sits in its assignment folder; None for any other file."""
    if file_path.name not in MODULES:
        return None
    try:
        assignment, _ = find_assignment(file_path)
    except FileNotFoundError:
        return None
    return AssignmentModule.from_parent(parent, path=file_path, assignment=assignment)


def _definition_lines(module: Path) -> dict[str, int]:
    """The 0-based line of each top-level function, where editors put its run button; none when
    the student's module does not parse (the tests then say why)."""
    try:
        tree = ast.parse(module.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    return {
        node.name: node.lineno - 1
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


class AssignmentModule(pytest.File):
    """The student's module: one node per function with visible cases, in teaching order."""

    def __init__(self, *, assignment: Assignment, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assignment = assignment
        self._report: GradeReport | str | None = None

    def collect(self) -> list[FunctionCases]:
        lines = _definition_lines(self.path)
        nodes = []
        for graded in self.assignment.functions:
            expected = self.path.parent / "expected" / f"{graded.name}.json"
            if not expected.is_file():
                continue
            document = json.loads(expected.read_text(encoding="utf-8"))
            nodes.append(
                FunctionCases.from_parent(
                    self,
                    name=graded.name,
                    cases=[str(case["name"]) for case in document["cases"]],
                    line=lines.get(graded.name, 0),
                )
            )
        return nodes

    def feedback(self, name: str) -> str | None:
        """None when case `name` passes, else the kit's message on it. The first call grades
        every selected case of this module; an error that stops grading fails them all with
        its one line, as the CLI prints it."""
        if self._report is None:
            from autograder.worker.host.forks import warm_up

            warm_up()  # the fork server imports torch while this process imports the kit
            from autograder.commands import visible_report
            from autograder.errors import OptimGraderError

            selected = {i.name for i in self.session.items if i.getparent(AssignmentModule) is self}
            try:
                self._report = visible_report(
                    self.assignment, self.path.parent, self.path, names=selected
                )
            except OptimGraderError as error:
                self._report = str(error)
        if isinstance(self._report, str):
            return self._report
        result = next(c for c in self._report.checks if c.name == name)
        return None if result.passed else result.message


class FunctionCases(pytest.Class):
    """The visible cases of one function: `MODULE::NAME` or `pytest -k NAME` selects them. A
    pytest.Class that holds no Python class: editors' test trees (VS Code's) nest tests under
    classes only, so this is what groups them per function there."""

    def __init__(self, *, cases: list[str], line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cases = cases
        self.line = line

    def collect(self) -> list[CaseItem]:
        return [CaseItem.from_parent(self, name=case) for case in self.cases]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line, self.name


class CaseItem(pytest.Item):
    """One visible case; it fails with the kit's feedback on it (first divergence, diagnosis,
    hint, or why the function did not run) and no traceback: pytrace=False keeps pytest's
    structured report, which JUnit XML and Classroom's Python grader read."""

    def runtest(self) -> None:
        module = self.getparent(AssignmentModule)
        assert module is not None
        feedback = module.feedback(self.name)
        if feedback is not None:
            pytest.fail(feedback, pytrace=False)

    def reportinfo(self) -> tuple[Path, int, str]:
        parent = self.getparent(FunctionCases)
        assert parent is not None
        return self.path, parent.line, self.name
