"""`optim-grader batch --student NAME`: one student graded again, the others left alone, and
every grading kept in the gradebook; older gradebooks migrated, newer ones refused."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from autograder.batch import open_gradebook
from autograder.batch.schema import UNKNOWN_VERSION
from autograder.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "class" / "gradient_descent"
GD = "gradient_descent"
MODULE = "gradient_descent.py"


def _batch(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["batch", str(folder), "--assignment", GD, "--out", str(out),
            "--case-time-limit", "1", *extra]  # fmt: skip


def _rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def _grades(out: Path) -> dict[str, str]:
    rows = csv.DictReader((out / "grades.csv").read_text().splitlines())
    return {row["student"]: row["score"] for row in rows}


@pytest.mark.slow
def test_a_regraded_student_gets_a_new_current_grading_and_the_others_are_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    for student in ("alice", "bob"):
        shutil.copytree(SAMPLE / student, folder / student)
    assert main(_batch(folder, out)) == 0
    capsys.readouterr()
    gradebook = out / "gradebook.sqlite"
    alice_before = _rows(gradebook, "SELECT * FROM gradings WHERE student = 'alice'")
    buggy = _grades(out)["bob"]
    assert float(buggy) < 40
    assert "momentum/ema_dampening" in (out / "class_report.html").read_text()

    shutil.copy(SAMPLE / "alice" / MODULE, folder / "bob" / MODULE)  # bob fixes his bugs
    shutil.copytree(SAMPLE / "alice", folder / "carol")  # a late submission: not asked for
    assert main(_batch(folder, out, "--student", "bob")) == 0
    printed = capsys.readouterr().out
    assert "grading bob again; 2 other submissions are left as graded" in printed
    assert f"bob: 40 / 40 (was {buggy} / 40)" in printed

    history = _rows(
        gradebook,
        "SELECT score, kit_version, rubric_hash, graded_at FROM gradings "
        "WHERE student = 'bob' ORDER BY id",
    )
    assert [row[0] for row in history] == [pytest.approx(float(buggy), abs=0.01), 40.0]
    assert {row[1] for row in history} == {version("optim-grader")}
    digest = _rows(gradebook, "SELECT rubric_hash FROM submissions WHERE student = 'alice'")[0][0]
    assert {row[2] for row in history} == {digest} and len(digest) == 64
    assert history[0][3] <= history[1][3]
    assert _rows(gradebook, "SELECT * FROM gradings WHERE student = 'alice'") == alice_before
    assert _rows(gradebook, "SELECT count(*) FROM gradings WHERE student = 'carol'") == [(0,)]

    assert _grades(out) == {"alice": "40", "bob": "40"}  # the current grading of each
    assert _rows(gradebook, "SELECT DISTINCT status FROM checks WHERE student = 'bob'") == [
        ("passed",)
    ]
    assert "momentum/ema_dampening" not in (out / "class_report.html").read_text()
    assert "ema_dampening" not in (out / "feedback" / "bob.html").read_text()


def test_an_unknown_student_is_one_line_exit_2_before_anything_is_graded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(SAMPLE / "alice", folder / "alice")
    assert main(_batch(folder, out, "--student", "alice", "--student", "zed")) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "holds no submission of zed" in captured.err
    assert captured.out == "" and not out.exists()


# --- the schema ------------------------------------------------------------------------------

# The gradebook as version 0.1.0 of the kit wrote it: one row per student, no history.
SCHEMA_1 = """
CREATE TABLE submissions (student TEXT NOT NULL, assignment TEXT NOT NULL, source TEXT NOT NULL,
    content_hash TEXT NOT NULL, rubric_hash TEXT NOT NULL, status TEXT NOT NULL, score REAL,
    max_score REAL NOT NULL, error TEXT NOT NULL, graded_at TEXT NOT NULL,
    feedback_html TEXT NOT NULL, PRIMARY KEY (student, assignment));
CREATE TABLE function_scores (student TEXT NOT NULL, assignment TEXT NOT NULL,
    position INTEGER NOT NULL, function TEXT NOT NULL, score REAL NOT NULL,
    max_score REAL NOT NULL, headline TEXT NOT NULL, PRIMARY KEY (student, assignment, function),
    FOREIGN KEY (student, assignment) REFERENCES submissions (student, assignment));
CREATE TABLE checks (student TEXT NOT NULL, assignment TEXT NOT NULL, position INTEGER NOT NULL,
    name TEXT NOT NULL, function TEXT NOT NULL, category TEXT NOT NULL, visible INTEGER NOT NULL,
    score REAL NOT NULL, max_score REAL NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL,
    bug TEXT, misconception TEXT NOT NULL, hint TEXT NOT NULL,
    PRIMARY KEY (student, assignment, position),
    FOREIGN KEY (student, assignment) REFERENCES submissions (student, assignment));
CREATE INDEX checks_by_bug ON checks (assignment, function, bug);
CREATE TABLE attempts (student TEXT NOT NULL, assignment TEXT NOT NULL,
    content_hash TEXT NOT NULL, alone INTEGER NOT NULL, started_at TEXT NOT NULL);
INSERT INTO submissions VALUES ('alice', 'gradient_descent', 'alice/', 'h', 'r', 'graded', 30,
    40, '', '2026-11-01T10:00:00+00:00', '<html>alice</html>');
INSERT INTO function_scores VALUES ('alice', 'gradient_descent', 0, 'gd', 10, 10, 'gd ok');
INSERT INTO checks VALUES ('alice', 'gradient_descent', 0, 'gd/a', 'gd', 'convex', 1, 0, 5,
    'diverged', 'msg', 'gd/sign', 'believes', 'hint');
PRAGMA user_version = 1;
"""


def test_a_schema_1_gradebook_is_migrated_its_grades_becoming_the_first_of_each_history(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gradebook.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA_1)
    with open_gradebook(path, GD) as book:
        (first,) = book.history("alice")
        assert (first.score, first.kit_version, first.graded_at) == (
            30.0, UNKNOWN_VERSION, "2026-11-01T10:00:00+00:00"
        )  # fmt: skip
        assert [bug for _, _, bug, _, _ in book.diagnoses()] == ["gd/sign"]
        (stored,) = book.submissions()
        assert (stored.score, stored.function_scores, stored.feedback_html) == (
            30.0, {"gd": 10.0}, "<html>alice</html>"
        )  # fmt: skip
    assert _rows(path, "PRAGMA user_version") == [(2,)]
    assert _rows(path, "PRAGMA foreign_key_check") == []
    assert _rows(path, "SELECT name FROM sqlite_master WHERE name LIKE 'v1_%'") == []
    assert _rows(path, "SELECT name FROM sqlite_master WHERE name = 'checks_by_bug'") == [
        ("checks_by_bug",)
    ]


def test_a_gradebook_of_a_newer_kit_is_refused_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(SAMPLE / "alice", folder / "alice")
    out.mkdir()
    with sqlite3.connect(out / "gradebook.sqlite") as connection:
        connection.executescript("CREATE TABLE future (x); PRAGMA user_version = 3;")
    assert main(_batch(folder, out)) == 2
    error = capsys.readouterr().err
    assert "schema 3" in error and "upgrade optim-grader" in error
    assert not (out / "feedback").exists()  # nothing was graded
