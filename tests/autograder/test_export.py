"""`optim-grader export canvas|moodle|csv`: a real batch's grades in the LMS import formats,
checked against the columns each LMS documents, mapped through a roster that loses nobody."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from autograder.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "class" / "gradient_descent"
GD = "gradient_descent"

# Canvas's gradebook import (Canvas Instructor Guide, "How do I import grades in the
# Gradebook?"): these identity columns in this order, then one column per assignment.
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Moodle's CSV grade import (docs.moodle.org, "Grade import"): any columns; the user is found
# by mapping one column to useremail or useridnumber, the grade by mapping its column to an item.
MOODLE_EMAIL, MOODLE_IDNUMBER = "Email address", "ID number"

ROSTER = (
    "submission,name,id,sis_user_id,sis_login_id,section,email,idnumber\n"
    'alice,"Liddell, Alice",1021,S-881,aliddell,Section 01,alice@uni.edu,881\n'
    "bob,Bob Stone,1022,S-882,bstone,Section 02,bob@uni.edu,882\n"
    "carol,Carol Reed,1023,S-883,creed,Section 01,carol@uni.edu,883\n"
)


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The --out folder of a real batch: alice (all correct) and bob (two bugs)."""
    root = tmp_path_factory.mktemp("class")
    for student in ("alice", "bob"):
        shutil.copytree(SAMPLE / student, root / "class" / student)
    out = root / "out"
    status = main(["batch", str(root / "class"), "--assignment", GD, "--out", str(out),
                   "--case-time-limit", "1"])  # fmt: skip
    assert status == 0
    return out


def _canvas_reads(rows: list[list[str]]) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The file as Canvas's GradebookImporter reads it (instructure/canvas-lms,
    app/models/gradebook_importer.rb: header?, update_column_count, check_for_non_student_row,
    process_student): the assignment columns, their points possible, {user ID: grades}."""
    header, *body = rows
    assert len(header) > 3 and re.search("Student", header[0]) and re.search("ID", header[1])
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    student_columns = 5  # Student, ID, SIS User ID, SIS Login ID, then Section
    assert re.search("Section", header[student_columns - 1])
    assignments, points, grades = header[student_columns:], [], {}
    for row in body:
        if re.search("Points Possible", row[0]):
            points = row[student_columns:]
        else:
            grades[row[1]] = row[student_columns:]  # the second column is the student's ID
    return assignments, points, grades


def _bob(out: Path) -> str:
    rows = csv.DictReader((out / "grades.csv").read_text().splitlines())
    return next(row["score"] for row in rows if row["student"] == "bob")


def _export(out: Path, tmp_path: Path, fmt: str, roster: str, *extra: str) -> tuple[int, Path]:
    (tmp_path / "roster.csv").write_text(roster)
    target = tmp_path / f"{fmt}.csv"
    status = main(["export", fmt, str(out), "--roster", str(tmp_path / "roster.csv"),
                   "-o", str(target), *extra])  # fmt: skip
    return status, target


def _read(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text().splitlines()))


def test_canvas_gets_its_identity_columns_the_points_possible_and_one_total_column(
    batch_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, target = _export(batch_out, tmp_path, "canvas", ROSTER)
    assert status == 0
    assert _canvas_reads(_read(target)) == (
        [GD],
        ["40"],
        {"1021": ["40"], "1022": [_bob(batch_out)], "1023": [""]},
    )
    header, _, *students = _read(target)
    assert header == [*CANVAS_COLUMNS, GD]
    assert students == [
        ["Liddell, Alice", "1021", "S-881", "aliddell", "Section 01", "40"],
        ["Bob Stone", "1022", "S-882", "bstone", "Section 02", _bob(batch_out)],
        ["Carol Reed", "1023", "S-883", "creed", "Section 01", ""],  # no submission: empty
    ]
    assert "no grade for carol (left empty)" in capsys.readouterr().err


def test_moodle_gets_the_identifiers_its_import_maps_from_and_the_grade(
    batch_out: Path, tmp_path: Path
) -> None:
    status, target = _export(
        batch_out, tmp_path, "moodle", ROSTER, "--missing-as-zero", "--column", "Optimizers 1"
    )
    assert status == 0
    header, *rows = _read(target)
    assert header[-1] == "Optimizers 1"
    email, idnumber = header.index(MOODLE_EMAIL), header.index(MOODLE_IDNUMBER)
    grades = {row[email]: (row[idnumber], row[-1]) for row in rows}
    assert grades == {
        "alice@uni.edu": ("881", "40"),
        "bob@uni.edu": ("882", _bob(batch_out)),
        "carol@uni.edu": ("883", "0"),  # asked for zeros
    }


def test_a_graded_submission_without_a_roster_row_is_named_and_exits_1(
    batch_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = "submission,email\nalice,alice@uni.edu\n"
    status, target = _export(batch_out, tmp_path, "csv", roster)
    assert status == 1
    assert _read(target) == [["submission", "email", GD], ["alice", "alice@uni.edu", "40"]]
    assert "bob was graded but has no row in" in capsys.readouterr().err


def test_a_roster_name_that_a_spreadsheet_would_run_is_neutralised(
    batch_out: Path, tmp_path: Path
) -> None:
    roster = 'submission,name,id\nalice,"=HYPERLINK(""http://x"",""y"")",1021\nbob,-bob,1022\n'
    status, target = _export(batch_out, tmp_path, "canvas", roster)
    assert status == 0
    names = [row[0] for row in _read(target)[2:]]
    assert names == ['\'=HYPERLINK("http://x","y")', "'-bob"]


@pytest.mark.parametrize(
    ("fmt", "roster", "message"),
    [
        ("csv", "name,email\nAlice,a@uni.edu\n", "no submission column"),
        ("csv", "submission,e-mail\nalice,a@uni.edu\n", "unknown columns e-mail"),
        ("csv", "submission\nalice\nalice\n", "line 3: submission 'alice' a second time"),
        ("canvas", "submission,name,email\nalice,Alice,a@uni.edu\n", "for canvas for alice"),
        ("moodle", "submission,id\nalice,1021\n", "for moodle for alice"),
        ("moodle", "submission,email,idnumber\nalice,a@uni.edu,\nbob,,882\n", "for moodle for"),
    ],
    ids=[
        "no column",
        "misspelt column",
        "repeated name",
        "canvas without id",
        "moodle no email",
        "moodle mixed identities",
    ],
)
def test_a_bad_roster_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, roster: str, message: str
) -> None:
    status, target = _export(tmp_path, tmp_path, fmt, roster)
    assert status == 2 and not target.exists()
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error and "roster.csv" in error


def test_a_folder_without_a_gradebook_is_exit_2_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = _export(tmp_path, tmp_path, "csv", "submission\nalice\n")
    assert status == 2
    assert "holds no gradebook.sqlite; give the --out folder" in capsys.readouterr().err
