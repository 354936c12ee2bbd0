"""The demo: grade the sample class in the course's examples/class/ and print its gradebook.

Each assignment folder holds one folder per student (a perfect one, typical bugs, one that
crashes, one that never returns); every submission goes through the real grading engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from autograder.catalog import ASSIGNMENTS
from autograder.config import DEMO_CASE_TIME_LIMIT
from autograder.expectations import shared_reference
from autograder.grading import grade_submission
from autograder.results import GradeReport
from autograder.rubric import load_rubric


def grade_class(root: Path) -> dict[str, dict[str, GradeReport]]:
    """Every submission below root/ASSIGNMENT/STUDENT, graded: {student: {assignment: report}}."""
    expectations = shared_reference()
    gradebook: dict[str, dict[str, GradeReport]] = {}
    for assignment in ASSIGNMENTS:
        rubric = load_rubric(assignment.name)
        for folder in sorted((root / assignment.name).iterdir()):
            report = grade_submission(
                folder, rubric, expectations, case_time_limit=DEMO_CASE_TIME_LIMIT
            )
            gradebook.setdefault(folder.name, {})[assignment.name] = report
    return gradebook


def print_gradebook(gradebook: dict[str, dict[str, GradeReport]], out: TextIO) -> None:
    """A table of scores, then what went wrong for each student, one line per function."""
    names = [a.name for a in ASSIGNMENTS]
    width = max(len(n) for n in names) + 2
    print(f"{'student':<10}" + "".join(f"{n:>{width}}" for n in names), file=out)
    for student, reports in gradebook.items():
        cells = [
            f"{reports[n].score:.1f}/{reports[n].max_score:.0f}" if n in reports else "-"
            for n in names
        ]
        print(f"{student:<10}" + "".join(f"{c:>{width}}" for c in cells), file=out)
    for student, reports in gradebook.items():
        lines = [
            f"  {name}: {line}"
            for name, report in reports.items()
            for line in report.errors or [f.headline for f in report.functions if not f.passed]
        ]
        if lines:
            print(f"\n{student}", file=out)
            print("\n".join(lines[:12]), file=out)
            if len(lines) > 12:
                print(f"  ... and {len(lines) - 12} more", file=out)


def run_demo(out: TextIO, sample_class: Path) -> None:
    print(f"Grading the sample class in {sample_class} ...\n", file=out, flush=True)
    print_gradebook(grade_class(sample_class), out)
