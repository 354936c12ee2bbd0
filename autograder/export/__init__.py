"""`optim-grader export canvas|moodle|csv OUT_DIR --roster ROSTER.csv -o FILE`: a batch's
current grades in an LMS's import format, each submission name mapped to an LMS identity.

    status = export("canvas", Path("grades"), Path("roster.csv"), Path("canvas.csv"))

roster.py reads the roster, formats.py lays out each format. Every roster student gets a
row: a student with no grade is left empty (or given 0 with `missing_as_zero`) and named on
stderr, and a submission that no roster row claims is named on stderr and makes the status 1,
so no grade is ever dropped in silence.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from autograder.batch.gradebook import open_gradebook
from autograder.batch.outputs import GRADEBOOK, write_atomically
from autograder.errors import GradebookError, UsageError
from autograder.export.formats import FORMATS, IDENTITIES
from autograder.export.roster import Roster, read_roster
from autograder.reports.scores import points, rounded
from autograder.spreadsheet import csv_text

EXIT_EXPORTED, EXIT_UNMATCHED = 0, 1


def export(
    fmt: str,
    out_dir: Path,
    roster_path: Path,
    output: Path,
    *,
    column: str | None = None,
    missing_as_zero: bool = False,
    errors: TextIO | None = None,
) -> int:
    """Write the grades of the batch in `out_dir` to `output` in format `fmt`; 0 every
    submission matched, 1 some submission has no roster row. Raises UsageError or
    GradebookError for bad input, before writing anything."""
    errors = sys.stderr if errors is None else errors
    prefix = f"optim-grader export {fmt}"
    roster = read_roster(roster_path)
    _check_identities(roster, roster_path, fmt)
    assignment, scores, max_score = _current_scores(out_dir)
    listed = roster.by_submission()
    empty = "0" if missing_as_zero else ""
    grades = {name: scores.get(name) or empty for name in listed}
    table = FORMATS[fmt](roster, grades, column or assignment, max_score)
    try:
        write_atomically(output, csv_text(table.header, table.rows))
    except OSError as error:
        raise UsageError(f"cannot write {output} ({error.strerror}); give another -o") from None
    without_grade = [name for name in listed if not scores.get(name)]
    if without_grade:
        shown = "given 0" if missing_as_zero else "left empty"
        print(f"{prefix}: no grade for {', '.join(without_grade)} ({shown})", file=errors)
    unmatched = sorted(name for name in scores if name not in listed)
    for name in unmatched:
        print(
            f"{prefix}: {name} was graded but has no row in {roster_path}; add one with "
            f"submission={name}",
            file=errors,
        )
    print(f"wrote the {fmt} grades of {len(listed)} students to {output}")
    return EXIT_UNMATCHED if unmatched else EXIT_EXPORTED


def _check_identities(roster: Roster, path: Path, fmt: str) -> None:
    """Each student has an identity `fmt` finds students by (for Moodle, the same one)."""
    columns, same_for_all = IDENTITIES[fmt]
    if same_for_all:
        lacking = ([s["submission"] for s in roster.students if not s.get(c)] for c in columns)
        unknown = min(lacking, key=len)
    else:
        unknown = [s["submission"] for s in roster.students if not any(s.get(c) for c in columns)]
    if unknown:
        every = "every student needs the same one of" if same_for_all else "each student needs"
        raise UsageError(
            f"{path}: no identity for {fmt} for {', '.join(unknown)}: {every} "
            f"{', '.join(columns)}; fill it in"
        )


def _current_scores(out_dir: Path) -> tuple[str, dict[str, str], str]:
    """The assignment of the batch in `out_dir`, {student: total in cents, '' when it could
    not be graded}, and the maximum, in cents."""
    path = out_dir / GRADEBOOK
    if not path.is_file():
        raise GradebookError(
            f"{out_dir} holds no {GRADEBOOK}; give the --out folder of an optim-grader batch"
        )
    with open_gradebook(path, None) as book:
        stored = book.submissions()
        assignment = book.assignment
    scores = {s.student: "" if s.score is None else points(rounded(s.score)) for s in stored}
    return assignment, scores, points(rounded(max(s.max_score for s in stored)))
