"""The student notebook: the instructor's notebook with solutions, hidden tests and outputs out.

Plain json, not nbformat, keeps release light. Solution regions become a NotImplementedError
(as in stubs), hidden-test regions disappear, code cells lose their outputs and execution
counts, and the notebook's metadata is kept with a note saying where the file comes from.
The output is written as nbformat writes it (indent 1, sorted keys), so it is deterministic.
"""

from __future__ import annotations

import ast
import itertools
import json
from dataclasses import dataclass
from typing import Any

from autograder.errors import ReleaseError
from autograder.release.regions import (
    HIDDEN_TESTS,
    SOLUTION,
    Region,
    assert_no_leak,
    enclosing_functions,
    find_regions,
    inside_lines,
    kept_lines,
    outside_lines,
    replace_regions,
    split_lines,
)
from autograder.release.stub import NOTE, not_implemented_message, raise_statement

METADATA_KEY = "optim_grader"
ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"


def release_notebook(text: str, where: str, name: str) -> str:
    """The student version of the notebook `text` (read from `where`), released as `name`."""
    notebook = _load(text, where)
    inside: set[str] = set()
    outside: set[str] = set()
    released: list[str] = []
    for number, cell in enumerate(notebook["cells"], start=1):
        cell_where = f"{where} (cell {number})"
        lines = _release_cell(_as_cell(cell, cell_where), cell_where, name)
        inside |= lines.inside
        outside |= lines.outside
        released += lines.kept
    assert_no_leak(inside - outside, released, f"the notebook released from {where}")
    notebook.setdefault("metadata", {})[METADATA_KEY] = {"note": NOTE, "source": where}
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class _CellLines:
    """A cell's lines inside and outside its regions, and those its release carried over."""

    inside: set[str]
    outside: set[str]
    kept: list[str]


def _release_cell(cell: dict[str, Any], where: str, name: str) -> _CellLines:
    """Rewrite one cell in place (solutions, hidden tests and outputs out)."""
    lines = split_lines(_text(cell))
    solutions = find_regions(lines, where, SOLUTION)
    hidden = find_regions(lines, where, HIDDEN_TESTS)
    _check_solution_cell(cell, solutions, where)
    regions = sorted([*solutions, *hidden], key=lambda region: region.begin)
    _check_disjoint(regions, where)
    replacements = _solution_replacements(cell, lines, solutions, where, name)
    new_lines, origins = replace_regions(lines, regions, lambda _, r: replacements.get(r.begin))
    cell["source"] = new_lines if isinstance(cell["source"], list) else "".join(new_lines)
    if cell["cell_type"] == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return _CellLines(
        inside_lines(lines, regions),
        outside_lines(lines, regions),
        kept_lines(new_lines, origins, regions),
    )


def _load(text: str, where: str) -> dict[str, Any]:
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReleaseError(f"{where}:{error.lineno}: not a notebook ({error.msg})") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ReleaseError(f"{where}: not a notebook (no list of cells)")
    return notebook


def _as_cell(cell: object, where: str) -> dict[str, Any]:
    """`cell`, checked to be a notebook cell whose source is a string or a list of strings."""
    if not isinstance(cell, dict) or "cell_type" not in cell:
        raise ReleaseError(f"{where}: not a notebook cell")
    source = cell.setdefault("source", "")
    if not isinstance(source, str) and not (
        isinstance(source, list) and all(isinstance(piece, str) for piece in source)
    ):
        raise ReleaseError(f"{where}: the cell's source is neither a string nor a list of strings")
    return cell


def _text(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _check_solution_cell(cell: dict[str, Any], solutions: list[Region], where: str) -> None:
    """An nbgrader solution cell without markers would be released whole: refuse it."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    if isinstance(nbgrader, dict) and nbgrader.get("solution") and not solutions:
        raise ReleaseError(
            f"{where}: an nbgrader solution cell without {SOLUTION.begin!r} markers; mark "
            "the part students write"
        )


def _check_disjoint(regions: list[Region], where: str) -> None:
    for before, after in itertools.pairwise(regions):
        if after.begin <= before.end:
            raise ReleaseError(
                f"{where}:{after.begin}: a region starts inside the region of lines "
                f"{before.begin}-{before.end}"
            )


def _solution_replacements(
    cell: dict[str, Any], lines: list[str], solutions: list[Region], where: str, name: str
) -> dict[int, str]:
    """The line that replaces each solution region, keyed by the line of its BEGIN marker."""
    if cell["cell_type"] != "code":
        return {region.begin: ANSWER_PLACEHOLDER for region in solutions}
    if _is_plain_python("".join(lines)):
        scopes = enclosing_functions(lines, solutions, where)
    else:  # IPython syntax (magics, shell escapes): the regions cannot be placed in functions
        scopes = [() for _ in solutions]
    return {
        region.begin: raise_statement(
            not_implemented_message(scope[-1], name)
            if scope
            else f"this cell is not implemented yet: write it in {name}",
            region.indent,
        )
        for region, scope in zip(solutions, scopes, strict=True)
    }


def _is_plain_python(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True
