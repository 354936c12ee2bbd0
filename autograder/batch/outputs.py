"""The files a batch leaves in its output folder, all regenerated from the gradebook at the
end of every run so they never disagree with it: grades.csv, one feedback page
per student, and the class report. Each file is written atomically (a temporary file, then a
rename), so a reader or a crash never sees half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from autograder.batch.class_report import render_class_report
from autograder.batch.gradebook import Gradebook, Stored
from autograder.batch.mistakes import Mistake, rooted_mistakes, unexplained_groups
from autograder.catalog import Assignment
from autograder.reports.scores import apportion, points, rounded
from autograder.rubric import Rubric
from autograder.safe_text import file_stem
from autograder.spreadsheet import csv_text

GRADES = "grades.csv"
GRADEBOOK = "gradebook.sqlite"
FEEDBACK = "feedback"
CLASS_REPORT = "class_report.html"
MISTAKES = "mistakes.csv"
TEMPORARY_SUFFIX = ".partial"


def write_outputs(book: Gradebook, rubric: Rubric, out: Path) -> list[Stored]:
    """grades.csv, feedback/STUDENT.html, class_report.html and mistakes.csv from what `book`
    holds; the submissions they were written from."""
    assignment = rubric.assignment
    stored = book.submissions()
    feedback = out / FEEDBACK
    feedback.mkdir(parents=True, exist_ok=True)
    for folder in (out, feedback):
        _remove_leftovers(folder)
    write_atomically(out / GRADES, grades_csv(assignment, stored))
    for submission in stored:
        write_atomically(feedback_page(out, submission.student), submission.feedback_html)
    order = [f.name for f in assignment.functions]
    mistakes = rooted_mistakes(book.diagnoses(), order)
    unexplained = unexplained_groups(book.unexplained_failures())
    report = render_class_report(rubric, stored, mistakes, unexplained, book.failures())
    write_atomically(out / CLASS_REPORT, report)
    write_atomically(out / MISTAKES, mistakes_csv(mistakes))
    return stored


def mistakes_csv(mistakes: list[Mistake]) -> str:
    """One row per student and known mistake (at its root function), to sort or filter."""
    return csv_text(
        ["function", "bug", "student", "misconception"],
        [
            [mistake.function, mistake.bug, student, mistake.misconception]
            for mistake in mistakes
            for student in mistake.students
        ],
    )


def feedback_page(out: Path, student: str) -> Path:
    """Where the student's feedback page goes: feedback/STUDENT.html, under a safe, short and
    unique name (safe_text.file_stem) whatever the student's name."""
    return out / FEEDBACK / f"{file_stem(student)}.html"


def grades_csv(assignment: Assignment, stored: list[Stored]) -> str:
    """One row per student: student, score, max_score, then each function's score in catalog
    order; the scores are empty for a student who could not be graded at all. Cells that a
    spreadsheet would run as formulas are neutralised (`optim-grader export` maps the rows
    to an LMS's import format)."""
    functions = [f.name for f in assignment.functions]
    return csv_text(
        ["student", "score", "max_score", *functions],
        ([submission.student, *_shown(submission, functions)] for submission in stored),
    )


def _shown(submission: Stored, functions: list[str]) -> list[str]:
    """Score, max_score and function scores in whole cents, as the student's feedback shows
    them: the function columns add up to the score."""
    maximum = points(rounded(submission.max_score))
    if submission.score is None:
        return ["", maximum, *("" for _ in functions)]
    total = rounded(submission.score)
    graded = [f for f in functions if f in submission.function_scores]
    shares = dict(
        zip(graded, apportion([submission.function_scores[f] for f in graded], total), strict=True)
    )
    return [points(total), maximum, *(points(shares[f]) if f in shares else "" for f in functions)]


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename; an unchanged file is left alone."""
    data = text.encode("utf-8")
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX
    )
    try:
        os.fchmod(descriptor, 0o644)  # mkstemp's 0600 would hide the page from a web server
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _remove_leftovers(folder: Path) -> None:
    """Temporary files that a batch killed while writing left behind."""
    for leftover in folder.glob(f".*{TEMPORARY_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()
