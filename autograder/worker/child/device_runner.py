"""The device check, inside the worker: the student's steps on an emulated GPU.

Every machine can run it (emulated_gpu.py): x and grad act as on "cuda", so `.item()`,
`float(tensor)`, `.cpu()`, `.numpy()` or an `if` on a tensor raise where a GPU would
synchronise, and a tensor made on the default device (`torch.zeros(x.shape)`) is found on the
CPU when it meets x or ends in the state. Each step runs first as a plain CPU step, so that a
function that is wrong anyway fails as it does everywhere else, then on the emulated GPU. The
points of the emulated run go back to the grading process, which compares them with the
reference: a forged "ran" needs the right values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from autograder.problems import problem as find_problem
from autograder.trajectory import optimizer_steps
from autograder.worker.child.calls import (
    Reply,
    Student,
    bad_return,
    base_lr,
    call_on_device,
    call_student,
    check_signature,
    checked_return,
    misplaced_stop,
)
from autograder.worker.child.emulated_gpu import DEVICE, EMULATED, on_gpu, to_gpu
from autograder.worker.records import CaseRequest


def run_device_check(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Step the problem as usual and on the emulated GPU side by side; stop at the first step
    on the GPU that makes a host round trip, mixes in a tensor of the host, or leaves a state
    tensor off x's device or dtype. The emulated run's points and losses are recorded (its
    states are not: the grading process compares the points)."""
    problem = find_problem(str(request.problem))
    dtype = getattr(torch, request.dtype)
    x_cpu, x_gpu = problem.start(dtype), problem.start(dtype)
    view = tuple(x_cpu.shape) if request.shape is None else request.shape
    state_cpu: dict[Any, Any] = {}
    state_gpu: dict[Any, Any] = {}
    hyperparameters = dict(request.hyperparameters)

    def call(step: int, x_cpu: Tensor, grad_cpu: Tensor, kwargs: dict[str, Any]) -> Tensor:
        nonlocal x_gpu
        x_view, grad = x_cpu.reshape(view), grad_cpu.reshape(view)
        result = call_student(student, function, step, x_view.clone(), grad.clone(), state_cpu,
                              **kwargs)  # fmt: skip
        x_next = (
            checked_return(request, step, result, x_view, (x_view, grad))
            .detach()
            .reshape(x_cpu.shape)
        )
        x_view = to_gpu(x_gpu.reshape(view).clone())
        grad = to_gpu(problem.grad(x_gpu, step - 1).reshape(view))
        given = (x_view, grad, state_gpu)
        result = call_on_device(student, function, step, given, kwargs, EMULATED)
        checked = checked_return(request, step, result, x_view)
        if not on_gpu(checked):
            raise bad_return(request, step, f"a tensor on cpu for x on {DEVICE}")
        misplaced = misplaced_stop(state_gpu, x_view, step, EMULATED)
        if misplaced is not None:
            raise misplaced
        x_gpu = checked.detach().reshape(x_gpu.shape)
        return x_next

    arguments = {"x": x_cpu.reshape(view), "grad": x_cpu.reshape(view), "state": state_cpu}
    check_signature(function, request, arguments, hyperparameters)
    lr = base_lr(function, hyperparameters)
    points = [x_gpu.clone()]
    try:
        for _ in optimizer_steps(
            problem, x_cpu, call, hyperparameters, base_lr=lr, steps=request.steps
        ):
            points.append(x_gpu.clone())
    finally:
        reply.header["points"] = reply.add(torch.stack(points))
        losses = [float(problem.f(point)) for point in points]
        reply.header["losses"] = reply.add(torch.tensor(losses, dtype=torch.float64))
        reply.header["states"] = [{} for _ in points[1:]]
