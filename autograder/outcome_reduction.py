"""Outcomes cut down, as each arrives from the worker, to what grading reads of them.

A submission's replies may hold up to budget.py's caps; the grading process keeps every
outcome until the last case, so it keeps only what the comparison, the diagnosis and the plot
read: the state snapshots of a run only where its case compares state (compare.py reads them
nowhere else). An efficiency check arrives already cut to a sample of its last x (replies.py),
a device check without states.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from autograder.rubric import Case
from autograder.worker.records import CaseOutcome


def only_what_grading_reads(cases: Sequence[Case]) -> Callable[[CaseOutcome], CaseOutcome]:
    """The reduction of an outcome of one of `cases`: its trajectory's states dropped unless
    a case with its request compares state."""
    with_state = {case.student_request for case in cases if case.compares_state}

    def keep(outcome: CaseOutcome) -> CaseOutcome:
        path = outcome.trajectory
        if path is None or outcome.request in with_state or not any(path.states):
            return outcome
        return replace(outcome, trajectory=replace(path, states=tuple({} for _ in path.states)))

    return keep
