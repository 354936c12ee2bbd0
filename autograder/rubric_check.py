"""`optim-grader rubric check NAME`: a rubric is valid (its schema, checked when it loads) and
the instructor's solution earns full marks on every one of its cases, hidden ones too, so an
edit of the rubric can never make the reference solution lose points."""

from __future__ import annotations

import math
from pathlib import Path

from autograder.commands import EXIT_GRADED, EXIT_SOME_FAIL
from autograder.config import CASE_TIME_LIMIT
from autograder.errors import UsageError


def check_rubric(
    assignment: str,
    path: Path | None,
    solutions: Path,
    case_time_limit: float | None,
    time_budget: float | None,
) -> int:
    """0 when the rubric loads and solutions/ earns every point of it; 1 with the cases it
    loses otherwise. An invalid rubric raises RubricError (exit 2). The solution has no time
    budget unless one is given: every case must run."""
    from autograder.expectations import shared_reference
    from autograder.grading import grade_submission, spare_workers
    from autograder.rubric import load_rubric

    rubric = load_rubric(assignment, path)
    solution = solutions / rubric.assignment.module
    if not solution.is_file():
        raise UsageError(
            f"{solution} does not exist: `rubric check` grades the instructor's solution; "
            "give the course repository that holds it with --course DIR"
        )
    report = grade_submission(
        solution,
        rubric,
        shared_reference(),
        case_time_limit=CASE_TIME_LIMIT if case_time_limit is None else case_time_limit,
        time_budget=math.inf if time_budget is None else time_budget,
        workers=spare_workers(),
    )
    lost = [c for f in report.functions for c in f.checks if c.score < c.max_score - 1e-9]
    shown = path or f"the rubric of {assignment}"
    for case in lost:
        print(
            f"FAIL {case.name}: the solution scores {case.score:g} / {case.max_score:g}: "
            f"{case.message}"
        )
    for reason in report.errors:
        print(f"FAIL {reason}")
    if lost or report.errors:
        print(
            f"{shown}: the solution loses points on {len(lost)} case(s); fix those cases "
            "(a value the function rejects, more steps than the time limit allows, ...): the "
            "reference solution must earn every point"
        )
        return EXIT_SOME_FAIL
    skipped = sum(len(f.skipped) for f in report.functions)
    note = f" ({skipped} case(s) this machine cannot run skipped)" if skipped else ""
    print(
        f"{shown}: valid; {solution} earns {report.score:g} / {report.max_score:g} on "
        f"{len(rubric.cases)} cases{note}"
    )
    return EXIT_GRADED
