"""The grading subcommands behind the CLI: `grade` one submission, `check` a student's folder."""

from __future__ import annotations

import gc
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.worker.host.forks import warm_up

if TYPE_CHECKING:
    from autograder.results import GradeReport

EXIT_GRADED, EXIT_SOME_FAIL, EXIT_NOT_GRADED = 0, 1, 2


def _start_grading() -> None:
    """Start the fork server first (it imports torch while this process goes on), then import
    torch with the collector off, and freeze what it made: collections during the import took
    a tenth of it, and each full collection of a batch scanned its million objects again
    (six of them, 0.35 s of a batch of 40). Then keep this process's torch on one thread: it
    works beside its workers, and on the cores they keep busy, torch's threads only wait for
    each other (in a batch, picking 4,096 coordinates of a tensor took 1 ms to 7 ms instead
    of 0.1 ms)."""
    warm_up()
    importing = "torch" not in sys.modules and gc.isenabled()  # else it is a caller's process
    if importing:
        gc.disable()
    import torch

    if importing:
        gc.freeze()
        gc.enable()
    torch.set_num_threads(1)


def grade(
    submission: Path,
    assignment: str,
    formats: list[str],
    out: Path | None,
    case_time_limit: float | None = None,
    time_budget: float | None = None,
) -> int:
    """Grade on every case against the reference; write each format to `out` or stdout."""
    _start_grading()
    from autograder.config import CASE_TIME_LIMIT, SUBMISSION_TIME_BUDGET
    from autograder.expectations import shared_reference
    from autograder.grading import grade_submission, spare_workers
    from autograder.reports import render
    from autograder.rubric import load_rubric

    report = grade_submission(
        submission,
        load_rubric(assignment),
        shared_reference(),
        case_time_limit=CASE_TIME_LIMIT if case_time_limit is None else case_time_limit,
        time_budget=SUBMISSION_TIME_BUDGET if time_budget is None else time_budget,
        workers=spare_workers(),
    )
    color = out is None and sys.stdout.isatty()
    rendered = "\n".join(render(report, fmt, color=color) for fmt in formats)
    if out is None:
        sys.stdout.write(rendered if rendered.endswith("\n") else rendered + "\n")
    else:
        out.write_text(rendered, encoding="utf-8")
    return EXIT_NOT_GRADED if report.errors else EXIT_GRADED


def find_assignment(path: Path) -> tuple[Assignment, Path]:
    """The assignment whose module or expected values sit at `path` (a folder or a module)."""
    folder = path if path.is_dir() else path.parent
    for assignment in ASSIGNMENTS:
        if path.is_file() and path.name != assignment.module:
            continue
        if (folder / "expected" / f"{assignment.functions[0].name}.json").is_file():
            return assignment, folder
    raise FileNotFoundError(
        f"{path}: no assignment here; run `optim-grader check` inside an assignment folder "
        "(the one holding its module and the expected/ folder), or give that folder's path"
    )


def visible_report(
    assignment: Assignment,
    folder: Path,
    submission: Path,
    *,
    functions: Sequence[str] | None = None,
    names: Collection[str] | None = None,
) -> GradeReport:
    """`submission` graded on the visible cases of `folder`'s expected/ values, all or those of
    `functions` or called `names`: what `check` and the pytest plugin report."""
    from autograder.grading import grade_submission, spare_workers
    from autograder.public_expected import PublicExpectations
    from autograder.rubric import Rubric

    expectations = PublicExpectations(folder)
    cases = [c for c in expectations.cases if names is None or c.name in names]
    rubric = Rubric(assignment, tuple(expectations.cases))
    return grade_submission(
        submission,
        rubric,
        expectations,
        cases=cases,
        functions=functions,
        workers=spare_workers(),
    )


def check(path: Path, function: str | None, *, verbose: bool = False) -> int:
    """The student's loop: visible cases against the public expected values; every failing
    case, and a summary line (`verbose`: every case)."""
    _start_grading()
    from autograder.check_text import check_lines

    try:
        assignment, folder = find_assignment(path)
    except FileNotFoundError as error:
        print(error)
        return EXIT_NOT_GRADED
    if function is not None and function not in {f.name for f in assignment.functions}:
        known = ", ".join(f.name for f in assignment.functions)
        print(f"{assignment.module} has no graded function {function!r}; choose one of: {known}")
        return EXIT_NOT_GRADED
    submission = path if path.is_file() else folder / assignment.module
    report = visible_report(
        assignment, folder, submission, functions=None if function is None else [function]
    )
    for line in check_lines(report, verbose=verbose):
        print(line)
    return (
        EXIT_GRADED
        if all(f.passed for f in report.functions) and not report.errors
        else EXIT_SOME_FAIL
    )


def batch(
    submissions: Path,
    assignment: str,
    out: Path,
    *,
    jobs: int = 1,
    regrade: bool = False,
    students: list[str] | None = None,
    case_time_limit: float | None = None,
    time_budget: float | None = None,
) -> int:
    """Grade a class folder (or only `students` of it) into `out`; 0 all graded, 1 some could
    not be, 2 bad input, 130 interrupted (Ctrl-C, as shells count it)."""
    _start_grading()
    from autograder.batch import run_batch
    from autograder.config import CASE_TIME_LIMIT, SUBMISSION_TIME_BUDGET

    try:
        result = run_batch(
            submissions,
            assignment,
            out,
            jobs=jobs,
            regrade=regrade,
            students=students or (),
            case_time_limit=CASE_TIME_LIMIT if case_time_limit is None else case_time_limit,
            time_budget=SUBMISSION_TIME_BUDGET if time_budget is None else time_budget,
        )
    except KeyboardInterrupt:
        print(
            f"optim-grader batch: interrupted; what was graded is in {out}/gradebook.sqlite: "
            "run the same command again to go on",
            file=sys.stderr,
        )
        return 130
    print(
        f"graded {result.graded}, kept {result.kept}; wrote {out}/grades.csv, "
        f"{out}/gradebook.sqlite, {out}/feedback/, {out}/class_report.html"
    )
    for student, reason in result.not_graded:
        print(f"could not grade {student}: {reason}")
    return EXIT_SOME_FAIL if result.not_graded else EXIT_GRADED
