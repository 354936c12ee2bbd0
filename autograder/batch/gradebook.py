"""The batch's gradebook: a SQLite file that holds every graded submission, its checks and
its feedback, and that a crash cannot corrupt.

Each submission is written in one transaction (its row, its function scores, its checks), in
WAL mode with full sync: a batch killed at any moment keeps every submission committed before,
and a re-run picks up where it stopped. Every output of the batch is regenerated from here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from autograder.errors import GradebookError
from autograder.results import CaseResult, GradeReport

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    source TEXT NOT NULL,           -- the entry in the class folder: alice/, bob.zip
    content_hash TEXT NOT NULL,     -- SHA-256 of the submission's files
    rubric_hash TEXT NOT NULL,      -- SHA-256 of the cases and points it was graded on
    status TEXT NOT NULL CHECK (status IN ('graded', 'error')),
    score REAL,                     -- NULL when nothing could be graded at all
    max_score REAL NOT NULL,
    error TEXT NOT NULL,            -- why it could not be graded ('' when graded)
    graded_at TEXT NOT NULL,        -- UTC, ISO 8601
    feedback_html TEXT NOT NULL,    -- the student's feedback page, as written to feedback/
    PRIMARY KEY (student, assignment)
);
CREATE TABLE IF NOT EXISTS function_scores (
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    position INTEGER NOT NULL,      -- catalog order
    function TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    headline TEXT NOT NULL,
    PRIMARY KEY (student, assignment, function),
    FOREIGN KEY (student, assignment) REFERENCES submissions (student, assignment)
);
CREATE TABLE IF NOT EXISTS checks (
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    position INTEGER NOT NULL,      -- rubric order
    name TEXT NOT NULL,
    function TEXT NOT NULL,
    category TEXT NOT NULL,
    visible INTEGER NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    bug TEXT,                       -- the diagnosed known bug, NULL when none
    misconception TEXT NOT NULL,
    hint TEXT NOT NULL,
    PRIMARY KEY (student, assignment, position),
    FOREIGN KEY (student, assignment) REFERENCES submissions (student, assignment)
);
CREATE INDEX IF NOT EXISTS checks_by_bug ON checks (assignment, function, bug);
CREATE TABLE IF NOT EXISTS attempts (   -- gradings begun and not yet recorded
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    alone INTEGER NOT NULL,         -- 1: no other submission was being graded meanwhile
    started_at TEXT NOT NULL
);
"""
_GRADED_CHECKS = (
    "FROM checks c JOIN submissions s USING (student, assignment) "
    "WHERE c.assignment = ? AND s.status = 'graded' "
)
TABLES = ("checks", "function_scores", "submissions")  # children first, for deletes


@dataclass(frozen=True)
class Graded:
    """One submission's outcome, ready to record: a report, or the reason there is none."""

    student: str
    source: str
    content_hash: str
    rubric_hash: str
    max_score: float
    report: GradeReport | None
    error: str
    feedback_html: str
    refused: bool = False  # not graded: it stopped the grader before; its attempts stay

    @property
    def status(self) -> str:
        return "graded" if self.report is not None and not self.report.errors else "error"


@dataclass(frozen=True)
class Stored:
    """A recorded submission as the outputs read it back."""

    student: str
    status: str
    score: float | None
    max_score: float
    error: str
    function_scores: dict[str, float]
    feedback_html: str


@dataclass(frozen=True)
class FunctionFailures:
    """The graded students who failed some case of a function: how many, how many of them
    no known bug explains, and how many failed in each way (status: students)."""

    students: int
    unexplained: int
    kinds: dict[str, int]


class Gradebook:
    """The gradebook of one assignment in one SQLite file; use `open_gradebook`."""

    def __init__(self, connection: sqlite3.Connection, assignment: str) -> None:
        self._db = connection
        self.assignment = assignment

    def fingerprints(self) -> dict[str, tuple[str, str, str]]:
        """{student: (content_hash, rubric_hash, status)} of what is recorded."""
        rows = self._db.execute(
            "SELECT student, content_hash, rubric_hash, status FROM submissions "
            "WHERE assignment = ?",
            (self.assignment,),
        )
        return {student: (content, rubric, status) for student, content, rubric, status in rows}

    def begin_attempt(self, student: str, content_hash: str, *, alone: bool) -> None:
        """Note that grading `student` starts; `record` clears it. One left over means the
        grader died while grading it (killed by the submission, or by the machine)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, ?)",
                (student, self.assignment, content_hash, int(alone), _now()),
            )

    def unfinished_attempts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """{(student, content_hash): (attempts made alone, all attempts)} never recorded."""
        rows = self._db.execute(
            "SELECT student, content_hash, SUM(alone), COUNT(*) FROM attempts "
            "WHERE assignment = ? GROUP BY student, content_hash",
            (self.assignment,),
        )
        return {(student, digest): (alone, total) for student, digest, alone, total in rows}

    def record(self, graded: Graded) -> None:
        """Replace the student's record with `graded`, all of it in one transaction (which
        also clears the student's unfinished attempts, unless the record refuses grading)."""
        key = (graded.student, self.assignment)
        tables = TABLES if graded.refused else (*TABLES, "attempts")
        with self._transaction():
            for table in tables:
                self._db.execute(f"DELETE FROM {table} WHERE student = ? AND assignment = ?", key)
            report = graded.report
            self._db.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key, graded.source, graded.content_hash, graded.rubric_hash, graded.status,
                    None if report is None else report.score, graded.max_score, graded.error,
                    _now(), graded.feedback_html,
                ),
            )  # fmt: skip
            if report is None:
                return
            self._db.executemany(
                "INSERT INTO function_scores VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (*key, position, f.function, f.score, f.max_score, f.headline)
                    for position, f in enumerate(report.functions)
                ],
            )
            self._db.executemany(
                "INSERT INTO checks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        *key, position, c.name, c.function, c.category, int(c.visible), c.score,
                        c.max_score, c.status, c.message,
                        *_diagnosis_columns(c),
                    )
                    for position, c in enumerate(report.checks)
                ],
            )  # fmt: skip

    def submissions(self) -> list[Stored]:
        """Every recorded submission of the assignment, by student."""
        scores: dict[str, dict[str, float]] = {}
        for student, function, score in self._db.execute(
            "SELECT student, function, score FROM function_scores WHERE assignment = ? "
            "ORDER BY student, position",
            (self.assignment,),
        ):
            scores.setdefault(student, {})[function] = score
        rows = self._db.execute(
            "SELECT student, status, score, max_score, error, feedback_html FROM submissions "
            "WHERE assignment = ? ORDER BY student",
            (self.assignment,),
        )
        return [
            Stored(student, status, score, max_score, error, scores.get(student, {}), html)
            for student, status, score, max_score, error, html in rows
        ]

    def failures(self) -> dict[str, FunctionFailures]:
        """Per function, who lost points on it among the graded submissions, and how."""
        graded = (
            "FROM checks c JOIN submissions s USING (student, assignment) "
            "WHERE c.assignment = ? AND s.status = 'graded' AND c.status != 'passed' "
        )
        found: dict[str, FunctionFailures] = {}
        for function, failed, unexplained in self._db.execute(
            "SELECT function, COUNT(DISTINCT student), COUNT(DISTINCT student) - "
            "COUNT(DISTINCT CASE WHEN bug IS NOT NULL THEN student END) "
            + graded
            + "GROUP BY function",
            (self.assignment,),
        ):
            found[function] = FunctionFailures(failed, unexplained, {})
        for function, status, students in self._db.execute(
            "SELECT function, c.status, COUNT(DISTINCT student) AS n "
            + graded
            + "GROUP BY function, c.status ORDER BY n DESC, c.status",
            (self.assignment,),
        ):
            found[function].kinds[status] = students
        return found

    def diagnoses(self) -> list[tuple[str, str, str, str, str]]:
        """(student, function, bug, misconception, hint) of each known bug diagnosed in a
        graded submission, once per student and function."""
        return list(self._db.execute(
            "SELECT DISTINCT student, function, bug, c.misconception, c.hint " + _GRADED_CHECKS
            + "AND bug IS NOT NULL ORDER BY student, function, bug",
            (self.assignment,),
        ))  # fmt: skip

    def unexplained_failures(self) -> list[tuple[str, str, str, str]]:
        """(student, function, status, message) of the first failed case of each function that
        no known bug explains, per graded student: where an instructor looks for new bugs."""
        rows = self._db.execute(  # SQLite: bare columns come from the MIN(position) row
            "SELECT student, function, c.status, message, MIN(position) "
            + _GRADED_CHECKS
            + "AND c.status NOT IN ('passed', 'skipped') AND bug IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM checks d WHERE d.assignment = c.assignment "
            "AND d.student = c.student AND d.function = c.function AND d.bug IS NOT NULL) "
            "GROUP BY student, function ORDER BY function, student",
            (self.assignment,),
        )
        return [
            (student, function, status, message) for student, function, status, message, _ in rows
        ]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _diagnosis_columns(check: CaseResult) -> tuple[str | None, str, str]:
    """The check's diagnosed bug, misconception and hint; (None, "", "") when none."""
    diagnosis = check.diagnosis
    if diagnosis is None or diagnosis.bug is None:
        return None, "", ""
    return diagnosis.bug, diagnosis.misconception, diagnosis.hint


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def open_gradebook(path: Path, assignment: str) -> Iterator[Gradebook]:
    """The gradebook at `path` for `assignment`, created if new. Raises GradebookError when
    the file is not a gradebook of this kit or holds another assignment's grades."""
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    except sqlite3.Error as error:
        raise GradebookError(f"{path}: cannot open the gradebook ({error})") from None
    try:
        _prepare(connection, path, assignment)
        yield Gradebook(connection, assignment)
    finally:
        connection.close()


def _prepare(connection: sqlite3.Connection, path: Path, assignment: str) -> None:
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables and version != SCHEMA_VERSION:
            raise GradebookError(
                f"{path} is not a gradebook of this version of optim-grader (schema "
                f"{version}, expected {SCHEMA_VERSION}); give another --out folder"
            )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.executescript(SCHEMA)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        others = [
            name
            for (name,) in connection.execute("SELECT DISTINCT assignment FROM submissions")
            if name != assignment
        ]
    except sqlite3.DatabaseError as error:
        raise GradebookError(
            f"{path} is not a readable gradebook ({error}); give another --out folder"
        ) from None
    if others:
        raise GradebookError(
            f"{path} holds the grades of {', '.join(sorted(others))}, not {assignment}; "
            "give each assignment its own --out folder"
        )
