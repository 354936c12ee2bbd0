"""The LMS import formats: the header and one row per roster student, from a grade column.

    canvas   Canvas's gradebook import CSV: Student, ID, SIS User ID, SIS Login ID, Section,
             then the assignment's column, after a "Points Possible" row as Canvas's own
             export writes it. Canvas matches students by ID, SIS User ID or SIS Login ID;
             a column headed "Name (assignment ID)" updates that assignment, any other name
             creates a new one.
    moodle   Moodle's grade import CSV: Email address, ID number, Full name, then the grade
             column; at import, map "Email address" to useremail (or "ID number" to
             useridnumber) and the grade column to the grade item.
    csv      the roster's own columns, then the grade column.

A grade is the total in whole cents, as the feedback shows it; empty for a student with no
grade (or 0 when the instructor asks for zeros).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from autograder.export.roster import Roster

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "Points Possible"
MOODLE_IDENTITY = ("Email address", "ID number", "Full name")


@dataclass(frozen=True)
class Table:
    """A format's header and rows, ready for `csv_text`."""

    header: list[str]
    rows: list[list[str]]


Grades = dict[str, str]  # submission name -> the grade cell
Format = Callable[[Roster, Grades, str, str], Table]


def canvas(roster: Roster, grades: Grades, column: str, max_score: str) -> Table:
    """Canvas's gradebook import: identity columns, the Points Possible row, the grade."""
    fields = ("name", "id", "sis_user_id", "sis_login_id", "section")
    rows = [[CANVAS_POINTS_POSSIBLE, "", "", "", "", max_score]]
    rows += [[s.get(f, "") for f in fields] + [grades[s["submission"]]] for s in roster.students]
    return Table([*CANVAS_IDENTITY, column], rows)


def moodle(roster: Roster, grades: Grades, column: str, max_score: str) -> Table:
    """Moodle's grade import: the identifiers the import maps from, then the grade."""
    fields = ("email", "idnumber", "name")
    rows = [[s.get(f, "") for f in fields] + [grades[s["submission"]]] for s in roster.students]
    return Table([*MOODLE_IDENTITY, column], rows)


def plain(roster: Roster, grades: Grades, column: str, max_score: str) -> Table:
    """The roster as given, with the grade column added."""
    rows = [[s[c] for c in roster.columns] + [grades[s["submission"]]] for s in roster.students]
    return Table([*roster.columns, column], rows)


FORMATS: dict[str, Format] = {"canvas": canvas, "moodle": moodle, "csv": plain}
# format -> (the roster columns the LMS finds a student by, whether one of them must be filled
# for every student): Canvas tries ID, SIS User ID, SIS Login ID row by row; Moodle maps every
# row by the one column chosen at import, and a row whose cell is empty is not skipped but
# given to the student of the row before (grade/import/csv/classes/load_data.php).
IDENTITIES: dict[str, tuple[tuple[str, ...], bool]] = {
    "canvas": (("id", "sis_user_id", "sis_login_id"), False),
    "moodle": (("email", "idnumber"), True),
    "csv": (("submission",), False),
}
