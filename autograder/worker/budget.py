"""How much a case's reply may weigh: what its request can legitimately record, and a little.

The grading process checks each reply against these bounds before it reads the reply's
arrays, and caps a submission's replies in all, so that its memory stays bounded whatever a
worker sends; the worker applies the same bounds first, so that a student who keeps too much
in state is told so plainly.
"""

from __future__ import annotations

import functools

import torch

from autograder.config import MAX_STATE_KEY
from autograder.problems import problem as find_problem
from autograder.training import minibatch_count
from autograder.worker.records import CaseRequest

MAX_STATE_ENTRIES = 32  # numeric entries of one step's state
STATE_ELEMENTS = 16  # a step's state holds at most this many times x's elements in all
WIDEST = 8  # bytes of float64 and int64, the widest dtypes on the wire
ALLOWANCE = 2**20  # bytes, for small extras (a training case's network, rounding)
HEADER_BASE = 64 * 2**10  # bytes of JSON besides the state entries' names
MAX_SUBMISSION_BYTES = 256 * 2**20  # a submission's replies in all


def recorded_steps(request: CaseRequest) -> int:
    """The steps an optimizer (its values or its device check) or schedule case records (0 for
    other cases)."""
    if request.kind == "optimizer" and request.measure != "efficiency":
        return find_problem(str(request.problem)).steps if request.steps is None else request.steps
    if request.kind == "schedule":
        return request.steps or 0
    return 0


def array_budget(request: CaseRequest) -> int:
    """The bytes of arrays that the reply to `request` may carry."""
    steps = recorded_steps(request)
    if request.measure == "efficiency":  # the last x
        return request.size * WIDEST + ALLOWANCE
    if request.kind == "optimizer":
        per_step = _elements(str(request.problem)) * (1 + STATE_ELEMENTS) + 1 + MAX_STATE_ENTRIES
        return (steps + 1) * per_step * WIDEST + ALLOWANCE
    if request.kind == "sampler":
        return 3 * (request.n + 1) * WIDEST + ALLOWANCE
    if request.kind == "training":
        count = minibatch_count(
            request.n, request.hyperparameters["batch_size"], request.hyperparameters["epochs"]
        )
        return count * WIDEST + ALLOWANCE
    return steps * WIDEST + ALLOWANCE


@functools.cache
def _elements(problem: str) -> int:
    """The coordinates of the problem's x: its start point is made anew on each call, and every
    reply of a batch is weighed against it."""
    return find_problem(problem).start(torch.float64, "cpu").numel()


def header_budget(request: CaseRequest) -> int:
    """The bytes of the reply's JSON header: its fields and one name per state entry."""
    return HEADER_BASE + (recorded_steps(request) + 1) * MAX_STATE_ENTRIES * (MAX_STATE_KEY + 96)
