"""The gradebook's SQLite schema, its version, and the migration of older gradebooks.

Schema 2 keeps every grading of every student (`gradings`, never deleted); `submissions` is a
view of each student's latest grading, the current one, which the outputs show. The checks
and function scores are those of the current grading. A schema-1 gradebook (one row per
student, no history) is migrated in one transaction: each row becomes its student's first
grading, with the kit version recorded as unknown.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from autograder.errors import GradebookError

SCHEMA_VERSION = 2
UNKNOWN_VERSION = "unknown (graded before the gradebook kept history)"

SCHEMA = """
CREATE TABLE IF NOT EXISTS gradings (   -- every grading of every student, oldest first
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    source TEXT NOT NULL,           -- the entry in the class folder: alice/, bob.zip
    content_hash TEXT NOT NULL,     -- SHA-256 of the submission's files
    rubric_hash TEXT NOT NULL,      -- SHA-256 of the cases and points it was graded on
    kit_version TEXT NOT NULL,      -- the version of optim-grader that graded it
    status TEXT NOT NULL CHECK (status IN ('graded', 'error')),
    score REAL,                     -- NULL when nothing could be graded at all
    max_score REAL NOT NULL,
    error TEXT NOT NULL,            -- why it could not be graded ('' when graded)
    graded_at TEXT NOT NULL,        -- UTC, ISO 8601
    feedback_html TEXT NOT NULL     -- the student's feedback page, as written to feedback/
);
CREATE INDEX IF NOT EXISTS gradings_by_student ON gradings (assignment, student, id);
CREATE VIEW IF NOT EXISTS submissions AS   -- each student's current grading: the latest
    SELECT * FROM gradings AS g WHERE g.id = (
        SELECT MAX(id) FROM gradings WHERE student = g.student AND assignment = g.assignment
    );
CREATE TABLE IF NOT EXISTS function_scores (   -- of the current grading
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    position INTEGER NOT NULL,      -- catalog order
    function TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    headline TEXT NOT NULL,
    PRIMARY KEY (student, assignment, function)
);
CREATE TABLE IF NOT EXISTS checks (   -- of the current grading
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
    PRIMARY KEY (student, assignment, position)
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

_COLUMNS = "student, assignment, source, content_hash, rubric_hash"
_RESULT = "status, score, max_score, error, graded_at, feedback_html"
# from version -> the script that brings it to SCHEMA_VERSION (run inside one transaction)
MIGRATIONS = {
    1: f"""
DROP INDEX checks_by_bug;
ALTER TABLE checks RENAME TO v1_checks;
ALTER TABLE function_scores RENAME TO v1_function_scores;
ALTER TABLE submissions RENAME TO v1_submissions;
{SCHEMA}
INSERT INTO gradings ({_COLUMNS}, kit_version, {_RESULT})
    SELECT {_COLUMNS}, '{UNKNOWN_VERSION}', {_RESULT} FROM v1_submissions
    ORDER BY graded_at, student;
INSERT INTO function_scores SELECT * FROM v1_function_scores;
INSERT INTO checks SELECT * FROM v1_checks;
DROP TABLE v1_checks;
DROP TABLE v1_function_scores;
DROP TABLE v1_submissions;
""",
}


def prepare(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the database at `path` to SCHEMA_VERSION: create it when empty, migrate it when
    older; a GradebookError for a newer one or a file that is no gradebook."""
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        if not tables:
            _in_transaction(connection, SCHEMA)
        elif version in MIGRATIONS:
            _in_transaction(connection, MIGRATIONS[version])
        elif version != SCHEMA_VERSION:
            raise GradebookError(
                f"{path} is not a gradebook this optim-grader reads (schema {version}; it "
                f"reads 1 to {SCHEMA_VERSION}): upgrade optim-grader if a newer one wrote "
                "it, or give another --out folder"
            )
    except sqlite3.DatabaseError as error:
        raise GradebookError(
            f"{path} is not a readable gradebook ({error}); give another --out folder"
        ) from None


def _in_transaction(connection: sqlite3.Connection, script: str) -> None:
    """Run `script` and set the schema version, all or nothing."""
    try:
        connection.executescript(
            f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
        )
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def stored_assignments(connection: sqlite3.Connection) -> list[str]:
    """The assignments whose grades the gradebook holds, by name."""
    rows = connection.execute("SELECT DISTINCT assignment FROM gradings ORDER BY assignment")
    return [str(name) for (name,) in rows]
