"""Run a student's functions in the teaching notebooks, and stop cleanly where one is a stub.

A stub raises NotImplementedError; in a notebook that would print a long traceback through the
kit's code. These helpers turn it into `NotImplementedYet`, which IPython shows as one line
naming the function to write, and which stops "Run all" at the first experiment that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

from autograder.contract import Optimizer
from autograder.problems import Problem, problem
from autograder.torch_optim import dynamo_free
from autograder.trajectory import Trajectory, run_optimizer


class NotImplementedYet(Exception):
    """A student function that an experiment needs still raises NotImplementedError."""

    def _render_traceback_(self) -> list[str]:
        """What IPython prints instead of the traceback: the one-line message."""
        return [f"{type(self).__name__}: {self}"]


def _explain(function: Callable[..., Any], error: NotImplementedError) -> str:
    name = getattr(function, "__name__", "a function")
    message = str(error)
    if "not implemented yet" not in message.lower():
        message = f"{name} is not implemented yet" + (f" ({message})" if message else "")
    return f"{message} (this experiment needs it; run the cell again once it is written)"


@contextmanager
def student_code(function: Callable[..., Any]) -> Iterator[None]:
    """Run the block; if `function` is still a stub, stop with a one-line NotImplementedYet."""
    try:
        yield
    except NotImplementedError as error:
        raise NotImplementedYet(_explain(function, error)) from None


def run(
    optimizer: Optimizer,
    on: Problem | str,
    *,
    steps: int | None = None,
    **hyperparameters: Any,
) -> Trajectory:
    """The student's optimizer run from the problem's start (float64, CPU): points and losses."""
    target = problem(on) if isinstance(on, str) else on
    with student_code(optimizer):
        return run_optimizer(optimizer, target, hyperparameters, steps=steps, dtype=torch.float64)


def from_torch(optimizer_class: type[torch.optim.Optimizer]) -> Optimizer:
    """A torch.optim optimizer in the contract shape, as a baseline to compare students' with.

    The torch optimizer lives in `state` (under "optimizer"); the hyperparameters of each call
    are written into its parameter group first, so a learning rate may change from step to step.
    """
    torch_class = dynamo_free(optimizer_class)

    def step(x: Tensor, grad: Tensor, state: dict[str, Any], **hyperparameters: Any) -> Tensor:
        if "optimizer" not in state:
            state["optimizer"] = torch_class([x.detach().clone()], **hyperparameters)
        group = state["optimizer"].param_groups[0]
        group.update(hyperparameters)
        (parameter,) = group["params"]
        with torch.no_grad():
            parameter.copy_(x)
        parameter.grad = grad.detach().clone()
        state["optimizer"].step()
        return parameter.detach().clone()

    step.__name__ = optimizer_class.__name__
    return step


def schedule(function: Callable[..., float], steps: int, **hyperparameters: Any) -> list[float]:
    """The student's schedule at steps 0..steps-1, as a list of learning rates."""
    with student_code(function):
        return [float(function(step, **hyperparameters)) for step in range(steps)]
