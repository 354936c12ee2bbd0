"""The nbgrader source notebook of an assignment, made from its solution module.

One markdown cell for the module's docstring, locked code cells for what the module holds
besides its graded functions (imports, helpers), and per graded function a solution cell (its
source, solution region and all: `nbgrader generate_assignment` clears the region) followed by
an autograded grade cell worth the function's rubric points. The grade cell's call to the kit
sits in a hidden-tests region, so the released notebook shows only a comment and students
cannot run the instructor's grading; at autograde time nbgrader puts it back.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from autograder.catalog import Assignment
from autograder.release.regions import HIDDEN_TESTS

SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def source_notebook(assignment: Assignment, solution: str, points: Mapping[str, float]) -> str:
    """The notebook's JSON (as nbformat writes it), from the `solution` module's text and each
    graded function's `points`."""
    tree = ast.parse(solution)
    lines = solution.splitlines(keepends=True)
    graded = {f.name for f in assignment.functions}
    cells = [_markdown("intro", _introduction(assignment, ast.get_docstring(tree) or ""))]
    pending: list[str] = []
    for index, node in enumerate(tree.body):
        start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
        end = tree.body[index + 1].lineno - 1 if index + 1 < len(tree.body) else len(lines)
        text = "".join(lines[start - 1 : end]).strip("\n")
        if index == 0 and ast.get_docstring(tree) is not None:
            continue
        name = getattr(node, "name", None)
        if name not in graded:
            pending.append(text)
            continue
        if pending:
            cells.append(_locked_code(f"module-{len(cells)}", "\n\n".join(pending)))
            pending = []
        cells += [_solution(name, text), _grade(assignment.name, name, points[name])]
    if pending:
        cells.append(_locked_code(f"module-{len(cells)}", "\n\n".join(pending)))
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _introduction(assignment: Assignment, docstring: str) -> str:
    return (
        f"# {assignment.title}\n\n"
        "Write each function in its cell below, where it says `YOUR CODE HERE`. The cell "
        "after each function is its grade cell: when the notebook is autograded, optim-grader "
        "runs the function on the public cases and on hidden ones, and the feedback appears "
        "there.\n\n"
        "Only the definitions are graded (functions, classes, imports, constants): your own "
        "experiments never run at grading time, so a failing one costs nothing. "
        f"`{assignment.module}`, beside this notebook, holds the same functions to write, for "
        "reference: what is graded is this notebook.\n\n"
        "```text\n" + docstring + "\n```\n"
    )


def _nbgrader(grade_id: str, **fields: Any) -> dict[str, Any]:
    defaults = {"grade": False, "solution": False, "locked": False, "task": False}
    return {
        "nbgrader": {**defaults, **fields, "grade_id": grade_id, "schema_version": SCHEMA_VERSION}
    }


def _markdown(grade_id: str, text: str) -> dict[str, Any]:
    metadata = _nbgrader(grade_id, locked=True)
    return {"cell_type": "markdown", "id": grade_id, "metadata": metadata, "source": text}


def _code(grade_id: str, text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": grade_id,
        "metadata": metadata,
        "outputs": [],
        "source": text,
    }


def _locked_code(grade_id: str, text: str) -> dict[str, Any]:
    return _code(grade_id, text, _nbgrader(grade_id, locked=True))


def _solution(function: str, text: str) -> dict[str, Any]:
    return _code(function, text, _nbgrader(function, solution=True))


def _grade(assignment: str, function: str, points: float) -> dict[str, Any]:
    grade_id = f"grade_{function}"
    text = (
        f"# {function}: graded by optim-grader on its public and hidden cases when this "
        "notebook is autograded.\n"
        f"{HIDDEN_TESTS.begin}\n"
        "from autograder.nbgrader_cell import grade\n\n"
        f"grade({assignment!r}, {function!r}, points={points!r})\n"
        f"{HIDDEN_TESTS.end}"
    )
    metadata = _nbgrader(grade_id, grade=True, locked=True, points=points)
    return _code(grade_id.replace("_", "-"), text, metadata)
