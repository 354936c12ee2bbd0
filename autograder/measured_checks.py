"""The grading process's verdicts on efficiency checks, from what it measured itself.

Student code shares the worker with the kit's runners and may patch them (docs/threat-model.md),
so the worker's "ran" vouches for nothing. An efficiency check passes when the case's round
trip, timed by the grading process (session.py), stays within SLOWDOWN_LIMIT times
MEASURED_STEPS steps of a vectorised baseline timed here, plus ALLOWANCE for the worker's own
work (the probe, drawing x, sending it back) and a loaded machine; and when the run's last x
matches the reference's on coordinates the grading process drew when it started and never
sends (replies.py). The round trip bounds the student's time from above, and the seed of the run is
drawn when the grading process starts, so no work can be done ahead or skipped unseen.
"""

from __future__ import annotations

import functools
import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from autograder.compare import first_difference
from autograder.status import Status
from autograder.worker.child.efficiency_runner import MEASURED_STEPS, SLOWDOWN_LIMIT, baseline_step
from autograder.worker.records import CaseOutcome, CaseRequest

if TYPE_CHECKING:
    from autograder.expectations import Expectations

ALLOWANCE = 0.3  # seconds: ~6x an honest case; a loop over 250,000 coordinates: 0.2 s a step
BASELINE_REPEATS = 5
_one_thread = threading.Lock()


SEED = secrets.randbelow(2**31)  # of every efficiency run of this grading process


def with_secret_seed(request: CaseRequest) -> CaseRequest:
    """An efficiency request with this process's SEED, drawn when it started: its x cannot be
    known before the case arrives, and the reference's run serves every submission the
    process grades; any other request as it is."""
    if request.measure != "efficiency":
        return request
    return replace(request, seed=SEED)


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one intra-op thread until the block ends, as in the worker: on a busy machine,
    threads that wait on each other make a large elementwise step hundreds of times slower."""
    with _one_thread:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


@functools.cache
def baseline_seconds(size: int, dtype: str) -> float:
    """The fastest of BASELINE_REPEATS baseline steps on `size` coordinates of `dtype` on the
    CPU with one thread, as the worker runs: measured once per process and size."""
    with one_thread():
        x = torch.randn(size, dtype=getattr(torch, dtype))
        state: dict[str, Tensor] = {}
        baseline_step(x, x, state)
        fastest = math.inf
        for _ in range(BASELINE_REPEATS):
            started = time.perf_counter()
            baseline_step(x, x, state)
            fastest = min(fastest, time.perf_counter() - started)
    return fastest


def time_limit(request: CaseRequest) -> float:
    """The longest round trip an efficiency case may take, in seconds. A case on a GPU is held
    to the CPU's baseline, which a GPU only beats."""
    baseline = baseline_seconds(request.size, request.dtype)
    return SLOWDOWN_LIMIT * MEASURED_STEPS * baseline + ALLOWANCE


def unrecorded(function: str) -> str:
    """A device or efficiency check that the worker reports complete without its records."""
    return (
        f"{function}: the worker reported the check complete without the values it records "
        "(does the module change the grader's code?)"
    )


def tampered(function: str, what: str) -> str:
    """A device check after which the worker found its own machinery changed."""
    return (
        f"{function}: the module changed the grader's device check ({what}), which can then "
        "no longer see a host round trip; leave the grader's code alone"
    )


def efficiency_verdict(outcome: CaseOutcome, expectations: Expectations) -> tuple[Status, str]:
    """The status ("passed", "slow" or "diverged") and message of an efficiency case that ran
    and sent its last x; that x is checked against the reference's on the same run where
    there is a reference (`check` has none)."""
    request, function = outcome.request, outcome.request.function
    size = f"{request.size:,} coordinates"
    limit = time_limit(request)
    if outcome.elapsed is not None and outcome.elapsed > limit:
        baseline = baseline_seconds(request.size, request.dtype)
        return "slow", (
            f"{function}: {MEASURED_STEPS} steps on {size} took {outcome.elapsed:.2f} s, over "
            f"the limit of {limit:.2f} s ({SLOWDOWN_LIMIT:g}x a vectorised step of "
            f"{baseline * 1e3:.2g} ms, plus {ALLOWANCE:g} s): is there a Python loop over "
            "elements? compute with whole-tensor operations"
        )
    with one_thread():
        differs = _first_wrong_coordinate(outcome, expectations)
    if differs is not None:
        where, got, expected = differs
        return "diverged", (
            f"{function}: after {MEASURED_STEPS} steps on {size}, x[{where}] is {got:.6g}, "
            f"expected {expected:.6g}: a step must compute every coordinate, whatever the size "
            "of x"
        )
    return "passed", f"{function}: within {SLOWDOWN_LIMIT:g}x the time of a vectorised step"


def _first_wrong_coordinate(
    outcome: CaseOutcome, expectations: Expectations
) -> tuple[int, float, float] | None:
    """(coordinate, got, expected) for the first sampled coordinate of the last x that leaves
    the reference's, None when all agree or there is no reference."""
    sample, request = outcome.final, outcome.request
    expected = expectations.efficiency_last(request)
    if expected is None or sample is None:
        return None
    dtype = getattr(torch, request.dtype)
    differs = first_difference(expected[None], sample.values[None], "x", dtype)
    if differs is None:
        return None
    where = int(sample.indices[differs.index[0]]) if differs.index else 0
    return where, differs.got, differs.expected
