"""The efficiency check, inside the worker: the student's step timed against a vectorised one.

A step that loops over elements in Python is hundreds of times slower than whole-tensor
operations. The check times the student's function and `baseline_step`, an Adam-like step of
a dozen elementwise operations, in the same process on the same tensors, at growing sizes: from
FIRST_SIZE coordinates up to the case's `size`, ten times more each time. The student's
fastest step must stay within SLOWDOWN_LIMIT times the baseline's fastest (plus SLACK, for
timer noise on tiny tensors). A loop fails at the first size, within a few steps of a few
milliseconds, so it never stalls grading however large `size` is. Only time counts here: a
host synchronisation costs what it costs, and the device check is the one that names it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from autograder.problems import Problem
from autograder.problems import problem as find_problem
from autograder.worker.child.calls import (
    CaseStop,
    Reply,
    Student,
    call_student,
    check_signature,
    checked_return,
    require_device,
)
from autograder.worker.records import CaseRequest

SLOWDOWN_LIMIT = 20.0
SLACK = 1e-3  # seconds
FIRST_SIZE = 100
GROWTH = 10
REPEATS = 5  # timed steps per size at most


def baseline_step(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> Tensor:
    """Adam without bias correction, written out of place as students write it: how fast a
    plain vectorised step runs, new tensors and all."""
    if not state:
        state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(x), torch.zeros_like(x)
    beta1, beta2 = betas
    exp_avg = beta1 * state["exp_avg"] + (1 - beta1) * grad
    exp_avg_sq = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
    state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq
    return x - lr * exp_avg / (exp_avg_sq.sqrt() + eps)


def sizes(size: int) -> list[int]:
    """FIRST_SIZE, GROWTH times more, ..., and `size` last."""
    grown = FIRST_SIZE
    steps = []
    while grown < size:
        steps.append(grown)
        grown *= GROWTH
    return [*steps, size]


def run_efficiency(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Time the student's step at each size; a "slow" stop at the first size where it is over
    the budget. A passing run records nothing: its times differ from run to run, its verdict
    does not."""
    require_device(request)
    problem = find_problem(str(request.problem))
    generator = torch.Generator().manual_seed(request.seed)
    dtype = getattr(torch, request.dtype)
    start = torch.randn(request.size, generator=generator, dtype=dtype).to(request.device)
    hyperparameters = dict(request.hyperparameters)
    check_signature(function, request, {"x": start, "grad": start, "state": {}}, hyperparameters)
    for size in sizes(request.size):
        final = size == request.size
        took, baseline, over = _time_steps(
            student, function, request, problem, start[:size], settle_early=not final
        )
        if over:
            raise CaseStop(
                "slow", None, ratio=_about(took / baseline), time=_seconds(took), size=f"{size:,}",
                baseline=_seconds(baseline), limit=f"{SLOWDOWN_LIMIT:g}x",
            )  # fmt: skip


def _clock(device: torch.device) -> float:
    """Seconds, once the device has finished what it was given."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _time_steps(
    student: Student,
    function: Callable[..., Any],
    request: CaseRequest,
    problem: Problem,
    x: Tensor,
    *,
    settle_early: bool,
) -> tuple[float, float, bool]:
    """The fastest student step and the fastest baseline step, and whether the student is over
    the budget: REPEATS rounds of one baseline step then one student step on the same gradient,
    after a first round that makes both states. Over means the fastest student step took more
    than SLOWDOWN_LIMIT times the fastest baseline step plus SLACK; with `settle_early`, a step
    within that ends the rounds. Noise only ever adds time, so the fastest steps are the
    truest, and a loaded machine does not fail an honest step."""
    state: dict[Any, Any] = {}
    baseline_state: dict[str, Any] = {}
    x, baseline_x = x.clone(), x.clone()
    fastest, fastest_baseline = math.inf, math.inf
    for step in range(1, 2 + REPEATS):
        grad = problem.grad(x, step - 1)
        started = _clock(x.device)
        baseline_step(baseline_x, grad, baseline_state)
        baseline = _clock(x.device) - started
        started = _clock(x.device)
        result = call_student(student, function, step, x, grad, state,
                              **request.hyperparameters)  # fmt: skip
        took = _clock(x.device) - started
        x = checked_return(request, step, result, x, finite_inputs=False).detach()
        if step > 1:
            fastest, fastest_baseline = min(fastest, took), min(fastest_baseline, baseline)
            if settle_early and fastest <= SLOWDOWN_LIMIT * fastest_baseline + SLACK:
                break
    return fastest, fastest_baseline, fastest > SLOWDOWN_LIMIT * fastest_baseline + SLACK


def _seconds(value: float) -> str:
    """'4.21 ms', '35.2 us', '1.30 s', '123 ms'."""
    scaled, unit = next(
        ((value / scale, unit) for scale, unit in ((1.0, "s"), (1e-3, "ms")) if value >= scale),
        (value * 1e6, "us"),
    )
    return f"{scaled:.3g} {unit}" if scaled < 100 else f"{scaled:.0f} {unit}"


def _about(ratio: float) -> str:
    """The ratio as a whole number of two significant digits: 812.3 -> '810', 4.3 -> '4'."""
    digits = len(str(int(ratio))) - 2
    return str(int(round(ratio, -digits)) if digits > 0 else round(ratio))
