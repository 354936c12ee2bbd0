"""The batch's gradebook: a SQLite file that holds every grading of every submission (with
its time, the kit's version and the rubric's digest), the checks and feedback of the current
one, and that a crash cannot corrupt.

Each grading is written in one transaction (its row, its function scores, its checks), in
WAL mode with full sync: a batch killed at any moment keeps every grading committed before,
and a re-run picks up where it stopped. Every output of the batch is regenerated from here,
from each student's current (latest) grading. schema.py holds the tables and migrations.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from autograder.batch.schema import prepare, stored_assignments
from autograder.errors import GradebookError
from autograder.results import CaseResult, GradeReport

_GRADED_CHECKS = (
    "FROM checks c JOIN submissions s USING (student, assignment) "
    "WHERE c.assignment = ? AND s.status = 'graded' "
)
TABLES = ("checks", "function_scores")  # the current grading's details, replaced on a record


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
class Grading:
    """One past or current grading of a student, as the history keeps it."""

    graded_at: str
    kit_version: str
    rubric_hash: str
    content_hash: str
    status: str
    score: float | None
    max_score: float


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

    def history(self, student: str) -> list[Grading]:
        """Every grading of `student`, oldest first; the last one is current."""
        rows = self._db.execute(
            "SELECT graded_at, kit_version, rubric_hash, content_hash, status, score, max_score "
            "FROM gradings WHERE assignment = ? AND student = ? ORDER BY id",
            (self.assignment, student),
        )
        return [Grading(*row) for row in rows]

    def record(self, graded: Graded) -> None:
        """Add `graded` as the student's current grading, all of it in one transaction (which
        also clears the student's unfinished attempts, unless the record refuses grading)."""
        key = (graded.student, self.assignment)
        tables = TABLES if graded.refused else (*TABLES, "attempts")
        with self._transaction():
            for table in tables:
                self._db.execute(f"DELETE FROM {table} WHERE student = ? AND assignment = ?", key)
            report = graded.report
            self._db.execute(
                "INSERT INTO gradings (student, assignment, source, content_hash, rubric_hash, "
                "kit_version, status, score, max_score, error, graded_at, feedback_html) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key, graded.source, graded.content_hash, graded.rubric_hash, kit_version(),
                    graded.status, None if report is None else report.score, graded.max_score,
                    graded.error, _now(), graded.feedback_html,
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


@cache
def kit_version() -> str:
    """The installed optim-grader's version, recorded with each grading."""
    try:
        return version("optim-grader")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


@contextmanager
def open_gradebook(path: Path, assignment: str | None) -> Iterator[Gradebook]:
    """The gradebook at `path` for `assignment` (None: the one it holds), created if new and
    migrated if older. Raises GradebookError when the file is not a gradebook of this kit or
    holds another assignment's grades."""
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    except sqlite3.Error as error:
        raise GradebookError(f"{path}: cannot open the gradebook ({error})") from None
    try:
        prepare(connection, path)
        yield Gradebook(connection, _held(connection, path, assignment))
    finally:
        connection.close()


def _held(connection: sqlite3.Connection, path: Path, assignment: str | None) -> str:
    """`assignment`, or the one the gradebook holds when None, checked against what it holds."""
    held = stored_assignments(connection)  # at most one: a batch refuses to add another
    if assignment is None and not held:
        raise GradebookError(f"{path} holds no grades yet; run optim-grader batch first")
    if assignment is None:
        return held[0]
    others = [name for name in held if name != assignment]
    if others:
        raise GradebookError(
            f"{path} holds the grades of {', '.join(others)}, not {assignment}; "
            "give each assignment its own --out folder"
        )
    return assignment
