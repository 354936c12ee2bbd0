"""CSV cells that a spreadsheet would run as formulas are neutralised, in every CSV the kit
writes (grades.csv here; the LMS exports in test_export.py)."""

from __future__ import annotations

import csv
import io

import pytest

from autograder.batch.gradebook import Stored
from autograder.batch.outputs import grades_csv
from autograder.catalog import assignment
from autograder.spreadsheet import csv_text


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_evaluate_gets_a_leading_apostrophe(start: str) -> None:
    cell = f'{start}HYPERLINK("http://evil","x")'
    (row,) = list(csv.reader(io.StringIO(csv_text(["student"], [[cell]]))))[1:]
    assert row == ["'" + cell]


@pytest.mark.parametrize("cell", ["alice", "40", "21.33", "", "o'brien", "a=b", "x-y"])
def test_ordinary_cells_are_left_as_they_are(cell: str) -> None:
    assert list(csv.reader(io.StringIO(csv_text(["c"], [[cell]])))) == [["c"], [cell]]


def test_grades_csv_neutralises_a_student_named_like_a_formula() -> None:
    stored = [Stored("=cmd|' /C calc'!A0", "error", None, 40.0, "syntax error", {}, "")]
    text = grades_csv(assignment("gradient_descent"), stored)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == "'=cmd|' /C calc'!A0"
