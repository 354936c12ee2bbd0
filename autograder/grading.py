"""The grading engine: run a submission's cases, compare, diagnose, score.

`grade` and `check` both come here; they differ only in the cases they run (all, or the
visible ones) and where the expectations come from (the reference, or the public expected
values), so on the visible cases they always agree.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from autograder import feedback
from autograder.compare import Divergence, first_difference, first_divergence
from autograder.config import CASE_TIME_LIMIT, SUBMISSION_TIME_BUDGET, WORKERS_ALONE
from autograder.diagnosis import Differs, Other, diagnose
from autograder.errors import SubmissionError
from autograder.expectations import Expectations
from autograder.measured_checks import (
    efficiency_verdict,
    tampered,
    unrecorded,
    with_secret_seed,
)
from autograder.outcome_reduction import only_what_grading_reads
from autograder.results import CaseResult, Diagnosis, FunctionResult, GradeReport, Plot
from autograder.rubric import Case, Rubric
from autograder.safe_text import printable
from autograder.status import Status
from autograder.submission import check_assignment, open_submission
from autograder.worker import CaseOutcome, Shared, load_errors, messages, run_in_workers

DRAWABLE_DIMENSIONS = (1, 2)


def grade_submission(
    submission: Path,
    rubric: Rubric,
    expectations: Expectations,
    *,
    cases: Sequence[Case] | None = None,
    functions: Sequence[str] | None = None,
    case_time_limit: float = CASE_TIME_LIMIT,
    time_budget: float = SUBMISSION_TIME_BUDGET,
    workers: int = 1,
    places: threading.Semaphore | None = None,
) -> GradeReport:
    """Grade `submission` on `cases` (default: all of the rubric's), optionally only some
    functions, in up to `workers` workers at once; a submission that cannot be loaded gets
    every case at zero and the reason. `places`: a batch's places for running workers, which
    its submissions share (`Shared`)."""
    selected = [
        case
        for case in (rubric.cases if cases is None else cases)
        if functions is None or case.function in functions
    ]
    assignment = rubric.assignment
    runnable = [c for c in selected if c.unavailable is None]
    try:
        with open_submission(submission, assignment.module) as module:
            check_assignment(module.path, assignment)
            ran = module.explained(
                _run_visible_first(
                    module.path,
                    runnable,
                    Shared.for_submission(time_budget, places),
                    case_time_limit,
                    workers,
                )
            )
    except SubmissionError as error:
        reason = messages.one_line(str(error), messages.MESSAGE_LIMIT)
        return _unloadable(submission, rubric, selected, reason)
    outcomes = _with_unavailable(selected, ran, submission.name)
    checks = grade_cases(selected, outcomes, expectations)
    errors = sorted({o.message for o in outcomes if o.status == "load_error"})
    return GradeReport(
        assignment.name, printable(str(submission)), _by_function(rubric, checks), tuple(errors)
    )


def spare_workers() -> int:
    """The workers a submission graded alone may use at once: one per core this process may
    run on, up to WORKERS_ALONE."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(WORKERS_ALONE, cores or 1))


def _run_visible_first(
    module_path: Path,
    cases: Sequence[Case],
    shared: Shared,
    case_time_limit: float,
    workers: int,
) -> list[CaseOutcome]:
    """The outcomes of `cases`, in order, the visible ones run first (up to `workers` at
    once): what a visible case reports (a student's exception text) can then tell nothing of a
    hidden case, which no process had seen yet. Spread over workers, the visible cases run in
    workers of their own; a single worker (a batch's) takes the hidden cases after them, the
    first sent once every visible reply is in, which saves starting a second one. A module
    that did not load is not loaded again for the hidden cases: they share its load error."""
    order = sorted(range(len(cases)), key=lambda index: not cases[index].visible)
    requests = [with_secret_seed(case.student_request) for case in cases]
    visible = [requests[index] for index in order if cases[index].visible]
    hidden = [requests[index] for index in order if not cases[index].visible]
    keep = only_what_grading_reads(cases)
    outcomes: list[CaseOutcome] = []
    phases = [visible + hidden] if workers == 1 else [visible, hidden]
    for requests in phases:  # none for an empty list
        if requests:
            outcomes += load_errors(outcomes, requests) or run_in_workers(
                module_path,
                requests,
                workers,
                case_time_limit=case_time_limit,
                shared=shared,
                keep=keep,
                boundary=len(visible) if workers == 1 else None,
            )
    by_index = dict(zip(order, outcomes, strict=True))
    return [by_index[index] for index in range(len(cases))]


def _with_unavailable(
    cases: Sequence[Case], ran: Sequence[CaseOutcome], file: str
) -> list[CaseOutcome]:
    """The outcomes of `cases` in order: those that ran, and an "unavailable" one for each
    case this machine cannot run, which never reached the worker."""
    outcomes = iter(ran)
    return [
        next(outcomes)
        if case.unavailable is None
        else CaseOutcome(
            case.student_request,
            "unavailable",
            messages.render(
                "unavailable",
                file=file,
                function=case.function,
                device=case.student_request.device,
                reason=case.unavailable,
            ),
        )
        for case in cases
    ]


def _unloadable(
    submission: Path, rubric: Rubric, cases: Sequence[Case], reason: str
) -> GradeReport:
    checks = [
        CaseResult(c.name, c.function, c.category, c.visible, c.points, 0.0, "load_error", reason)
        for c in cases
    ]
    return GradeReport(
        rubric.assignment.name, printable(str(submission)), _by_function(rubric, checks), (reason,)
    )


def _by_function(rubric: Rubric, checks: Sequence[CaseResult]) -> tuple[FunctionResult, ...]:
    results = []
    for graded in rubric.assignment.functions:
        mine = [c for c in checks if c.function == graded.name]
        if mine:
            ran = tuple(c for c in mine if not c.skipped)
            skipped = tuple(c for c in mine if c.skipped)
            headline = feedback.headline(graded.name, ran, skipped)
            results.append(FunctionResult(graded.name, ran, headline, skipped))
    return tuple(results)


def grade_cases(
    cases: Sequence[Case], outcomes: Sequence[CaseOutcome], expectations: Expectations
) -> list[CaseResult]:
    """Grade each case; a diagnosis weighs the other cases of the same function compared by
    value, passed, or failed with the student's run. A function whose code called torch.optim
    or the kit in any case scores zero on every case, unless its rubric allows it; its
    purity, device, efficiency and error checks earn points only when all its cases compared
    by value pass (else, when they passed or their verdict is the grading process's own,
    they are "unvouched")."""
    delegated = {
        case.function: outcome.delegated
        for case, outcome in zip(cases, outcomes, strict=True)
        if outcome.delegated is not None and not case.allow_delegation
    }
    divergences = [
        _divergence(case, expectations.expected(case), outcome)
        if _compares(case, outcome)
        else None
        for case, outcome in zip(cases, outcomes, strict=True)
    ]
    compared = [
        (case, None if divergence is None else outcome)
        for case, outcome, divergence in zip(cases, outcomes, divergences, strict=True)
        if _compares(case, outcome)
    ]
    differs = _answering_once(_divergence)
    results = [
        grade_case(case, outcome, divergence, expectations, compared, differs)
        for case, outcome, divergence in zip(cases, outcomes, divergences, strict=True)
    ]
    wrong_values = {
        case.function
        for case, result in zip(cases, results, strict=True)
        if case.by_value and result.status not in ("skipped", "unavailable") and not result.passed
    }
    return [
        _result(case, "delegated", feedback.delegation(case.function, delegated[case.function]))
        if case.function in delegated
        else _result(case, "unvouched", feedback.values_first(case.function, case.category))
        if (result.passed or _judged_here(case, outcome))
        and _is_check(case)
        and case.function in wrong_values
        else result
        for case, outcome, result in zip(cases, outcomes, results, strict=True)
    ]


def _is_check(case: Case) -> bool:
    """A check of how the function runs (purity, device, efficiency, errors), which counts once
    its values are right: a placeholder, or code that forges the worker's report, passes it."""
    return case.category == "purity" or not case.by_value


def _judged_here(case: Case, outcome: CaseOutcome) -> bool:
    """Whether the verdict is the grading process's own, on a device or efficiency check the
    worker ran to its end (its values, its time), rather than a failure the worker saw."""
    return outcome.ok and case.student_request.measure != "trajectory"


def _compares(case: Case, outcome: CaseOutcome) -> bool:
    """Whether the case is graded on values that its run gave: one that ran to its end, not
    an error, device or efficiency check."""
    return outcome.ok and case.by_value


def grade_case(
    case: Case,
    outcome: CaseOutcome,
    divergence: Divergence | None,
    expectations: Expectations,
    compared: Sequence[Other],
    differs: Differs,
) -> CaseResult:
    """One case: full points if it ran and matched, else zero with the reason and a diagnosis
    (`differs` compares two runs of a case for it)."""
    if outcome.status == "unavailable":
        status: Status = "skipped" if case.when_unavailable == "skip" else "unavailable"
        return _result(case, status, outcome.message)
    if case.raises is not None:
        return _raises(case, outcome)
    if case.category == "purity" and divergence is None:
        return _purity(case, outcome)
    if case.student_request.measure != "trajectory":
        return _device_or_efficiency(case, outcome, expectations)
    if not outcome.ok:
        message = outcome.message
        if outcome.status == "bad_return" and outcome.trajectory is not None:
            others = _others_of_its_function(case, compared)
            diagnosis = diagnose(case, outcome, expectations, others, differs)
            if diagnosis.bug is not None:
                message += "; " + feedback.diagnosis_text(diagnosis)
        return _result(case, outcome.status, message)
    if divergence is None:
        return _result(case, "passed", f"{case.function}: matches the reference")
    others = _others_of_its_function(case, compared)
    diagnosis = diagnose(case, outcome, expectations, others, differs)
    message = feedback.divergence_message(
        case.function, case.reference_request.kind, divergence, diagnosis
    )
    plot = _plot(case, expectations.expected(case), outcome, divergence)
    return _result(case, "diverged", message, divergence, diagnosis, plot)


def _others_of_its_function(case: Case, compared: Sequence[Other]) -> list[Other]:
    """The other cases of `case`'s function that compare by value, for its diagnosis: listed
    only for a case that failed (most pass, and each list is a pass over every case)."""
    return [(c, p) for c, p in compared if c.function == case.function and c is not case]


def _answering_once(differs: Differs) -> Differs:
    """`differs`, remembering its answers: diagnosing each failing case of a function checks
    every candidate bug on the function's other cases again, the same comparisons several
    times over. Each answer keeps its runs alive, so that their ids stay theirs."""
    answers: dict[tuple[int, int, int], tuple[object, Divergence | None]] = {}

    def answered(case: Case, expected: CaseOutcome, got: CaseOutcome) -> Divergence | None:
        key = (id(case), id(expected), id(got))
        if key not in answers:
            answers[key] = ((case, expected, got), differs(case, expected, got))
        return answers[key][1]

    return answered


def _raises(case: Case, outcome: CaseOutcome) -> CaseResult:
    """An error case: passed when the first call raised the exception the docstring names;
    a step returned, or another exception, is a missing error; any other failure is itself."""
    raises = str(case.raises)
    options = case.student_request.hyperparameters
    if outcome.status == "raised" and outcome.error_type == raises:
        return _result(case, "passed", feedback.raised(case.function, options, raises))
    if outcome.status == "ran":
        return _result(case, "missing_error", feedback.not_raised(case.function, options, raises))
    if outcome.status == "raised":
        asked = feedback.not_raised(case.function, options, raises, outcome.error_type)
        return _result(case, "missing_error", f"{outcome.message}; {asked}")
    return _result(case, outcome.status, outcome.message)


def _purity(case: Case, outcome: CaseOutcome) -> CaseResult:
    if not outcome.ok:
        return _result(case, outcome.status, outcome.message)
    if outcome.modified is not None:
        return _result(case, "modified_input", outcome.modified)
    return _result(case, "passed", f"{case.function}: leaves x and grad unchanged")


def _device_or_efficiency(
    case: Case, outcome: CaseOutcome, expectations: Expectations
) -> CaseResult:
    """A device or efficiency check: what stopped it, or the grading process's own verdict on
    a run the worker reports complete (its "ran" alone vouches for nothing: student code
    shares the worker). A device check's emulated run must match the reference's values, and
    fails when the worker found the check's own code changed (integrity.py); an efficiency
    check is timed and checked in measured_checks.py."""
    if not outcome.ok:
        return _result(case, outcome.status, outcome.message)
    function = case.function
    efficiency = case.student_request.measure == "efficiency"
    if (outcome.final if efficiency else outcome.trajectory) is None:
        return _result(case, "invalid_reply", unrecorded(function))
    if efficiency:
        return _result(case, *efficiency_verdict(outcome, expectations))
    expected = expectations.expected(case)
    if expected.trajectory is not None:  # `check` has no values for a device check
        divergence = _divergence(case, expected, outcome)
        if divergence is not None:
            message = feedback.divergence_message(
                function, case.reference_request.kind, divergence, Diagnosis(None)
            )
            return _result(case, "diverged", f"on the emulated GPU: {message}", divergence)
    if outcome.tampered is not None:
        return _result(case, "invalid_reply", tampered(function, outcome.tampered))
    return _result(case, "passed", f"{function}: runs without a host round trip; state follows x")


def _result(
    case: Case,
    status: Status,
    message: str,
    divergence: Divergence | None = None,
    diagnosis: Diagnosis | None = None,
    plot: Plot | None = None,
) -> CaseResult:
    score = case.points if status == "passed" else 0.0
    worth = 0.0 if status == "skipped" else case.points
    return CaseResult(
        case.name, case.function, case.category, case.visible, worth, score,
        status, message, divergence, diagnosis, plot,
    )  # fmt: skip


def _divergence(case: Case, expected: CaseOutcome, got: CaseOutcome) -> Divergence | None:
    """Where `got` first leaves `expected`; state entries only count in the state category. A
    run on a GPU is held to float32's tolerance against the CPU's float64 reference."""
    on_gpu = case.student_request.device != "cpu"
    dtype = torch.float32 if on_gpu else getattr(torch, case.reference_request.dtype)
    kind = case.reference_request.kind
    if kind == "optimizer":
        assert expected.trajectory is not None and got.trajectory is not None
        return first_divergence(
            expected.trajectory, got.trajectory, dtype, with_state=case.compares_state
        )
    if kind == "schedule":
        assert expected.lrs is not None and got.lrs is not None
        return first_difference(
            torch.tensor(expected.lrs, dtype=torch.float64),
            torch.tensor(got.lrs, dtype=torch.float64),
            "lr",
        )
    if kind == "training":
        return _training_difference(expected, got)
    assert expected.batches is not None and got.batches is not None
    return _batch_difference(expected.batches, got.batches)


def _training_difference(expected: CaseOutcome, got: CaseOutcome) -> Divergence | None:
    """The first minibatch loss that differs, else the first final parameter that does (its
    step is the number of minibatches, the point after the last)."""
    assert expected.losses is not None and got.losses is not None
    assert expected.parameters is not None and got.parameters is not None
    losses = first_difference(
        torch.tensor(expected.losses, dtype=torch.float64),
        torch.tensor(got.losses, dtype=torch.float64),
        "loss",
    )
    if losses is not None:
        return losses
    differs = first_difference(expected.parameters[None], got.parameters[None], "parameters")
    return None if differs is None else replace(differs, step=len(expected.losses))


def _batch_difference(
    expected: Sequence[torch.Tensor], got: Sequence[torch.Tensor]
) -> Divergence | None:
    """The first batch that differs in size or content; indices must match exactly."""
    for index, batch in enumerate(expected):
        if index >= len(got):
            return Divergence(index, "batch", (), float(len(batch)), float("nan"))
        if got[index].shape != batch.shape:
            return Divergence(index, "batch size", (), float(len(batch)), float(len(got[index])))
        differs = first_difference(batch.double(), got[index].double(), "batch", torch.float64)
        if differs is not None:
            return Divergence(index, "batch", (differs.step,), differs.expected, differs.got)
    if len(got) > len(expected):
        return Divergence(len(expected), "batch count", (), float(len(expected)), float(len(got)))
    return None


def _plot(
    case: Case, expected: CaseOutcome, got: CaseOutcome, divergence: Divergence
) -> Plot | None:
    """The paths to draw for a 1-D or 2-D problem; a hidden case's reference path stops at the
    divergence, so its expected trajectory is never shown past what the student matched."""
    if (
        case.reference_request.kind != "optimizer"
        or expected.trajectory is None
        or got.trajectory is None
    ):
        return None
    if expected.trajectory.points[0].numel() not in DRAWABLE_DIMENSIONS:
        return None
    shown = len(expected.trajectory.points) if case.visible else divergence.step + 1
    return Plot(
        str(case.reference_request.problem),
        tuple(tuple(p.double().flatten().tolist()) for p in expected.trajectory.points[:shown]),
        tuple(tuple(p.double().flatten().tolist()) for p in got.trajectory.points),
        divergence.step,
    )
