"""The roster: which LMS identity each submission name belongs to, read from a CSV file.

    submission,name,id,sis_user_id,sis_login_id,section,email,idnumber
    alice,"Liddell, Alice",1021,S-881,aliddell,Section 01,alice@uni.edu,881

`submission` (required) is the name as the class folder spells it (the folder or file name
without its extension); the other columns are optional, and each format needs some of them
(IDENTITIES in formats.py). `id` is Canvas's user ID, `idnumber` Moodle's ID number.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UsageError

COLUMNS = ("submission", "name", "id", "sis_user_id", "sis_login_id", "section", "email",
           "idnumber")  # fmt: skip


@dataclass(frozen=True)
class Roster:
    """The roster's columns as given, and one {column: value} per student, in file order."""

    columns: tuple[str, ...]
    students: tuple[dict[str, str], ...]

    def by_submission(self) -> dict[str, dict[str, str]]:
        return {student["submission"]: student for student in self.students}


def read_roster(path: Path) -> Roster:
    """The roster at `path`; a UsageError for a missing file, an unknown or missing column,
    an empty or repeated submission name."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is fine
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the roster ({error})") from None
    rows = csv.reader(text.splitlines())
    columns = tuple(name.strip() for name in next(rows, []))
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown or "submission" not in columns:
        problem = f"unknown columns {', '.join(unknown)}" if unknown else "no submission column"
        raise UsageError(f"{path}: {problem}; a roster's columns are {', '.join(COLUMNS)}")
    students: list[dict[str, str]] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line, as spreadsheets leave at the end
        cells = [cell.strip() for cell in row] + [""] * (len(columns) - len(row))
        student = dict(zip(columns, cells[: len(columns)], strict=True))
        name = student["submission"]
        if not name or name in seen:
            why = "no submission name" if not name else f"submission {name!r} a second time"
            raise UsageError(f"{path}, line {line}: {why}; give each student one row")
        seen.add(name)
        students.append(student)
    return Roster(columns, tuple(students))
