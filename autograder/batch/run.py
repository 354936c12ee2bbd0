"""Grade a class folder into a gradebook: find the submissions, skip those already graded and
unchanged, grade the rest in threads, record each one as soon as it is graded, then
regenerate the outputs from the gradebook.

Threads are enough: each submission runs in its own worker process, so a thread only waits on
pipes. The gradebook and the HTML rendering (matplotlib) stay on the calling thread. Each
grading is noted in the gradebook as an attempt when it starts and cleared when it is
recorded, so after a crash the next run knows what was running: those are graded one at a
time first, and one the grader died on twice while grading it alone is not run again.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from autograder.batch.discover import ClassEntry, discover
from autograder.batch.gradebook import Gradebook, Graded, Grading, open_gradebook
from autograder.batch.outputs import GRADEBOOK, write_outputs
from autograder.batch.progress import Reporter, reporter
from autograder.config import CASE_TIME_LIMIT, SUBMISSION_TIME_BUDGET
from autograder.errors import ClassFolderError
from autograder.expectations import Expectations, shared_reference
from autograder.grading import grade_submission
from autograder.reports import render
from autograder.reports.scores import points, rounded
from autograder.results import GradeReport
from autograder.rubric import Rubric, load_rubric
from autograder.safe_text import printable

DEATHS_BEFORE_REFUSAL = 2  # one death alone may be the machine's doing (an OOM kill, a reboot)


@dataclass(frozen=True)
class BatchResult:
    """What a run did: submissions graded now, those kept as they were, and the students of
    the class folder that could not be graded, with the reason."""

    graded: int
    kept: int
    not_graded: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Settings:
    """How to grade: the rubric, where expectations come from, the limit per case."""

    rubric: Rubric
    rubric_hash: str
    expectations: Expectations
    case_time_limit: float
    time_budget: float


def run_batch(
    folder: Path,
    assignment: str,
    out: Path,
    *,
    jobs: int = 1,
    regrade: bool = False,
    students: Sequence[str] = (),
    case_time_limit: float = CASE_TIME_LIMIT,
    time_budget: float = SUBMISSION_TIME_BUDGET,
    stream: TextIO | None = None,
) -> BatchResult:
    """Grade every submission in `folder` (or, when `students` names some, those again and
    no other) into out/gradebook.sqlite with `jobs` threads and write the outputs, reporting
    progress on `stream` (default: stdout). Raises ClassFolderError or GradebookError before
    grading anything."""
    stream = sys.stdout if stream is None else stream
    rubric = load_rubric(assignment)
    settings = Settings(
        rubric, rubric_hash(rubric), shared_reference(), case_time_limit, time_budget
    )
    found = discover(folder, exclude=out)
    submissions = _chosen(found, students, folder)
    out.mkdir(parents=True, exist_ok=True)
    with open_gradebook(out / GRADEBOOK, assignment) as book:
        plan = _plan(submissions, book, settings.rubric_hash, regrade or bool(students))
        if students:
            others = len(found) - len(submissions)
            left = "1 other submission is" if others == 1 else f"{others} other submissions are"
            print(
                f"grading {', '.join(s.student for s in submissions)} again; {left} left as graded",
                file=stream,
                flush=True,
            )
        _announce(plan, len(submissions), stream)
        total = len(plan.refused) + len(plan.suspects) + len(plan.rest)
        with reporter(stream, total) as progress:
            for submission, deaths in plan.refused:
                _record(book, progress, _refusal(submission, deaths, settings))
            _grade_all(plan.suspects, settings, book, 1, progress)
            _grade_all(plan.rest, settings, book, jobs, progress)
        stored = {s.student: s for s in write_outputs(book, rubric, out)}
    not_graded = tuple(
        (s.student, stored[s.student].error)
        for s in submissions
        if stored[s.student].status != "graded"
    )
    return BatchResult(total - len(plan.refused), plan.kept, not_graded)


def _chosen(
    submissions: list[ClassEntry], students: Sequence[str], folder: Path
) -> list[ClassEntry]:
    """The submissions of `students`, or all of them when none is named; a ClassFolderError
    naming the students that have no submission in `folder`."""
    if not students:
        return submissions
    found = {s.student for s in submissions}
    unknown = [name for name in dict.fromkeys(students) if name not in found]
    if unknown:
        raise ClassFolderError(
            f"{folder} holds no submission of {', '.join(unknown)}; --student takes a name "
            "as the class folder spells it (the folder or file name without its extension)"
        )
    return [s for s in submissions if s.student in students]


def _announce(plan: BatchPlan, submissions: int, stream: TextIO) -> None:
    """Say what is kept from the last run, and what it stopped on."""
    if plan.kept:
        print(
            f"{plan.kept} of {submissions} submissions are graded and unchanged since the last "
            "run: kept (--regrade grades them again)",
            file=stream,
            flush=True,
        )
    if plan.suspects:
        names = ", ".join(s.student for s in plan.suspects)
        print(
            f"the last run stopped while grading {names}: grading them one at a time first",
            file=stream,
            flush=True,
        )


def rubric_hash(rubric: Rubric) -> str:
    """A fingerprint of the cases and points: a submission graded on an edited rubric is
    graded again."""
    return hashlib.sha256(repr(rubric.cases).encode()).hexdigest()


@dataclass(frozen=True)
class BatchPlan:
    """What a run does with each submission of the class folder."""

    refused: tuple[tuple[ClassEntry, int], ...]  # the grader died grading it alone, twice
    suspects: tuple[ClassEntry, ...]  # the grader died while grading it: graded alone, first
    rest: tuple[ClassEntry, ...]  # new, changed, or not graded last time
    kept: int  # graded and unchanged


def _plan(
    submissions: Sequence[ClassEntry], book: Gradebook, rubric_digest: str, regrade: bool
) -> BatchPlan:
    recorded = book.fingerprints()
    unfinished = book.unfinished_attempts()
    refused, suspects, rest = [], [], []
    for submission in submissions:
        alone, attempts = unfinished.get((submission.student, submission.content_hash), (0, 0))
        if alone >= DEATHS_BEFORE_REFUSAL and not regrade:
            refused.append((submission, alone))
        elif attempts:
            suspects.append(submission)
        elif regrade or recorded.get(submission.student) != (
            submission.content_hash, rubric_digest, "graded"
        ):  # fmt: skip
            rest.append(submission)
    kept = len(submissions) - len(refused) - len(suspects) - len(rest)
    return BatchPlan(tuple(refused), tuple(suspects), tuple(rest), kept)


def _grade_all(
    todo: Sequence[ClassEntry], settings: Settings, book: Gradebook, jobs: int, progress: Reporter
) -> None:
    """Grade `todo` with the workers of at most `jobs` submissions running at once, each
    noted as an attempt when it starts; record and report each as soon as it is graded.

    One job grades one submission at a time, alone (a death is then its own). More keep as
    many again in flight: while one is compared, diagnosed and recorded in this process, the
    next one's worker already runs, and so does one beside a worker that lends its place
    through a slow case (`Shared`); docs/design.md, section 6, gives what each saved."""
    queue = iter(todo)
    alone = jobs == 1
    in_flight = jobs if alone else 2 * jobs
    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="grade")
    places = threading.BoundedSemaphore(jobs)
    running: dict[Future[GradeReport | str], ClassEntry] = {}

    def start_next() -> None:
        submission = next(queue, None)
        if submission is not None:
            book.begin_attempt(submission.student, submission.content_hash, alone=alone)
            running[pool.submit(_grade, submission, settings, places)] = submission

    try:
        for _ in range(in_flight):
            start_next()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                submission = running.pop(future)
                _record(book, progress, _graded(submission, future.result(), settings))
                start_next()  # after the record: an attempt left over is the one that died
    except KeyboardInterrupt:  # let those running finish, and keep them: they did no harm
        pool.shutdown(wait=True)
        for future, submission in running.items():
            _record(book, progress, _graded(submission, future.result(), settings))
        raise
    finally:
        pool.shutdown(wait=True)


def _record(book: Gradebook, progress: Reporter, graded: Graded) -> None:
    before = book.history(graded.student)
    book.record(graded)
    progress.done(_line(graded, before[-1] if before else None))


def _refusal(submission: ClassEntry, deaths: int, settings: Settings) -> Graded:
    """The record of a submission the grader died on, alone, `deaths` times: not run again."""
    reason = (
        f"the grader died {deaths} times while grading this submission alone (killed by the "
        "submission, or by the machine), so it was not run again; check it by hand, then "
        f"run the batch with --student {submission.student}"
    )
    return replace(_graded(submission, reason, settings), refused=True)


def _grade(
    submission: ClassEntry, settings: Settings, places: threading.Semaphore
) -> GradeReport | str:
    """The report, or why the submission could not be graded at all; each of its workers
    runs in one of the batch's `places`."""
    if submission.path is None:
        return submission.problem
    try:
        return grade_submission(
            submission.path,
            settings.rubric,
            settings.expectations,
            case_time_limit=settings.case_time_limit,
            time_budget=settings.time_budget,
            places=places,
        )
    except Exception as error:  # the kit or the machine failed: this submission alone pays
        return f"the grader failed on this submission ({type(error).__name__}: {error})"


def _graded(submission: ClassEntry, outcome: GradeReport | str, settings: Settings) -> Graded:
    """What to record: the report and its feedback page, or the reason and a page saying it."""
    assignment = settings.rubric.assignment.name
    if isinstance(outcome, str):
        report, error = None, printable(outcome)
        shown = GradeReport(assignment, submission.source or submission.student, (), (error,))
    else:
        report, error, shown = outcome, "; ".join(outcome.errors), outcome
    return Graded(
        submission.student,
        submission.source,
        submission.content_hash,
        settings.rubric_hash,
        sum(case.points for case in settings.rubric.cases),
        report,
        error,
        render(shown, "html", for_student=True),
    )


def _line(graded: Graded, previous: Grading | None) -> str:
    """The progress line of a grading, with the grading it replaces as current, if any."""
    score = None if graded.report is None else graded.report.score
    was = "" if previous is None else f" (was {_score(previous.score, previous.max_score)})"
    if graded.status == "graded":
        return f"{graded.student}: {_score(score, graded.max_score)}{was}"
    return f"{graded.student}: could not be graded: {graded.error}{was}"


def _score(score: float | None, max_score: float) -> str:
    shown = "not graded" if score is None else points(rounded(score))
    return f"{shown} / {points(rounded(max_score))}"
