"""The efficiency check, inside the worker: a quick probe, then the steps the grader times.

A step that loops over elements in Python is hundreds of times slower than whole-tensor
operations. The probe times the student's function and `baseline_step`, an Adam-like step of
a dozen elementwise operations, in the same process on the same tensors, at growing sizes: from
FIRST_SIZE coordinates up to PROBE_SIZE, ten times more each time. The student's fastest step
must stay within SLOWDOWN_LIMIT times the baseline's fastest (plus SLACK, for timer noise on
tiny tensors): a loop fails at the first size, within a few milliseconds. The probe can only
fail a function, never vouch for it: student code shares this process and could patch it. The
verdict is the grading process's (efficiency_check.py): it times the whole case itself and
checks the last x of MEASURED_STEPS steps on all `size` coordinates, which this runner sends
back. Only time counts here: a host synchronisation costs what it costs, and the device check
is the one that names it.
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
from autograder.trajectory import optimizer_steps
from autograder.worker.child.calls import (
    CaseStop,
    Reply,
    Student,
    base_lr,
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
PROBE_SIZE = 10_000  # a loop over elements takes tens of ms a step here, a vectorised step us
MEASURED_STEPS = 8  # steps on the case's `size` coordinates, timed by the grading process

StepCall = Callable[[int, Tensor, Tensor, dict[str, Any]], Tensor]


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


def efficiency_start(request: CaseRequest) -> Tensor:
    """The first x of an efficiency run: `size` coordinates drawn from the request's seed."""
    generator = torch.Generator().manual_seed(request.seed)
    dtype = getattr(torch, request.dtype)
    return torch.randn(request.size, generator=generator, dtype=dtype).to(request.device)


def measured_steps(call: StepCall, request: CaseRequest, x: Tensor, lr: float | None) -> Tensor:
    """x after MEASURED_STEPS steps of `call` from `x` (`efficiency_start`): what the worker
    sends back and what the grading process computes again with the reference."""
    problem = find_problem(str(request.problem))
    walk = optimizer_steps(problem, x, call, request.hyperparameters, base_lr=lr,
                           steps=MEASURED_STEPS)  # fmt: skip
    last = x
    for _, point in walk:  # only the last x is kept: the others would be fresh pages each step
        last = point
    return last


def run_efficiency(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Probe the student's step at sizes up to PROBE_SIZE, a "slow" stop at the first size
    where it is over the budget; then take MEASURED_STEPS steps on all `size` coordinates and
    send the last x back."""
    require_device(request)
    problem = find_problem(str(request.problem))
    start = efficiency_start(request)
    hyperparameters = dict(request.hyperparameters)
    check_signature(function, request, {"x": start, "grad": start, "state": {}}, hyperparameters)
    probe = start[: min(request.size, PROBE_SIZE)]
    for size in sizes(len(probe)):
        took, baseline, over = _time_steps(student, function, request, problem, probe[:size])
        if over:
            raise CaseStop(
                "slow", None, ratio=_about(took / baseline), time=_seconds(took), size=f"{size:,}",
                baseline=_seconds(baseline), limit=f"{SLOWDOWN_LIMIT:g}x",
            )  # fmt: skip

    def call(step: int, x: Tensor, grad: Tensor, kwargs: dict[str, Any]) -> Tensor:
        result = call_student(student, function, step, x, grad, state, **kwargs)
        return checked_return(request, step, result, x).detach()

    state: dict[Any, Any] = {}
    last = measured_steps(call, request, start, base_lr(function, hyperparameters))
    reply.header["final"] = reply.add(last.to("cpu"))


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
) -> tuple[float, float, bool]:
    """The fastest student step and the fastest baseline step, and whether the student is over
    the budget: REPEATS rounds of one baseline step then one student step on the same gradient,
    after a first round that makes both states. Over means the fastest student step took more
    than SLOWDOWN_LIMIT times the fastest baseline step plus SLACK; a step within that ends
    the rounds. Noise only ever adds time, so the fastest steps are the
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
        x = checked_return(request, step, result, x).detach()
        if step > 1:
            fastest, fastest_baseline = min(fastest, took), min(fastest_baseline, baseline)
            if fastest <= SLOWDOWN_LIMIT * fastest_baseline + SLACK:
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
