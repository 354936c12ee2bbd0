"""Run an optimizer in the contract shape on a problem and record what it did, step by step."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from autograder.contract import Optimizer

if TYPE_CHECKING:
    from autograder.problems import Problem


@dataclass(frozen=True)
class Trajectory:
    """Parameters x_0..x_T, the loss at each of them, and a copy of the state after each step."""

    points: tuple[Tensor, ...]
    losses: tuple[float, ...]
    states: tuple[Mapping[str, Tensor], ...]

    @property
    def final(self) -> Tensor:
        return self.points[-1]

    @functools.cached_property
    def numeric(self) -> NumericTrajectory:
        """The same values as float64 numpy arrays, made once: comparing a run with the
        reference and with each known bug reads them many times."""
        names = dict.fromkeys(name for state in self.states for name in state)
        entries = {  # each state entry over the steps that keep it
            name: [s[name] for s in self.states if name in s] for name in names
        }
        values = {name: iter(float64_rows(e, float64_stacked(e))) for name, e in entries.items()}
        stacked = float64_stacked(self.points)
        return NumericTrajectory(
            float64_rows(self.points, stacked),
            np.asarray(self.losses, dtype=np.float64),
            tuple({name: next(values[name]) for name in state} for state in self.states),
            stacked,
        )


Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class NumericTrajectory:
    """A trajectory's points, losses and states as float64 numpy arrays on the CPU."""

    points: tuple[Array, ...]
    losses: Array
    states: tuple[Mapping[str, Array], ...]
    # the points as one (steps + 1, ...) array, whose rows `points` are; None when the points
    # differ in shape or dtype
    stacked_points: Array | None

    @functools.cached_property
    def flat_points(self) -> Array:
        """Every coordinate of every point, in order, in one flat array."""
        return np.concatenate([point.reshape(-1) for point in self.points])

    @functools.cached_property
    def flat_states(self) -> dict[str, Array]:
        """Each state entry's values over the steps that keep it, in one flat array."""
        names = dict.fromkeys(name for state in self.states for name in state)
        return {
            name: np.concatenate([s[name].reshape(-1) for s in self.states if name in s])
            for name in names
        }


def float64_array(tensor: Tensor) -> Array:
    """`tensor`'s values as a float64 numpy array, wherever it lives (its own memory when it
    is a float64 CPU tensor already: for reading only)."""
    if tensor.dtype is torch.float64 and tensor.is_cpu and not tensor.requires_grad:
        return tensor.numpy()  # every array of a reply: half the time of the general case
    return tensor.detach().to("cpu", torch.float64).numpy()


def float64_stacked(tensors: Sequence[Tensor]) -> Array | None:
    """`tensors` (a run's points, a state entry over the steps) as one float64 array along a
    new first dimension, converted in one call rather than one each; None when they differ in
    shape or dtype."""
    if len({(tensor.shape, tensor.dtype) for tensor in tensors}) != 1:
        return None
    return float64_array(torch.stack(tuple(tensors)))


def float64_rows(tensors: Sequence[Tensor], stacked: Array | None) -> tuple[Array, ...]:
    """Each of `tensors` as a float64 array: the rows of `stacked`, their float64_stacked,
    unless that is None."""
    return tuple(float64_array(t) for t in tensors) if stacked is None else tuple(stacked)


def snapshot(state: Mapping[str, Any]) -> dict[str, Tensor]:
    """A float64 copy of every numeric state entry, whatever its container (int, float, tensor)."""
    copy: dict[str, Tensor] = {}
    for name, value in state.items():
        if isinstance(value, Tensor):
            copy[name] = value.detach().to("cpu", torch.float64, copy=True)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            # straight to float64: through torch's default float32 a float loses digits
            copy[name] = torch.scalar_tensor(float(value), dtype=torch.float64)
    return copy


def default_lr(optimizer: Optimizer) -> float | None:
    """The default of the optimizer's `lr` keyword, or None when it has none."""
    try:
        parameter = inspect.signature(optimizer).parameters.get("lr")
    except (TypeError, ValueError):
        return None
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return float(parameter.default)


StepCall = Callable[[int, Tensor, Tensor, dict[str, Any]], Tensor]
"""call(step, x, grad, keyword_arguments) -> the next x: one optimizer step, however it is run."""


def optimizer_steps(
    problem: Problem,
    x: Tensor,
    call: StepCall,
    hyperparameters: Mapping[str, Any],
    *,
    base_lr: float | None,
    steps: int | None = None,
) -> Iterator[tuple[int, Tensor]]:
    """The one stepping loop of the kit: (step, x after it) for steps 1..`steps` (default: the
    problem's), each step fed the problem's gradient at the current x and the hyperparameters,
    its lr `base_lr` times `problem.lr_scale` (the lr-change probe relies on it).

    The grader's worker, its device check and the notebooks' runs all step through here, so
    the reference, the student and the tests see the same gradients in the same order.
    """
    for step in range(1, 1 + (problem.steps if steps is None else steps)):
        kwargs = dict(hyperparameters)
        if base_lr is not None:
            kwargs["lr"] = base_lr * problem.lr_scale(step - 1)
        x = call(step, x, problem.grad(x, step - 1), kwargs)
        yield step, x


def run_optimizer(
    optimizer: Optimizer,
    problem: Problem,
    hyperparameters: Mapping[str, Any],
    *,
    steps: int | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> Trajectory:
    """Take `steps` (default: the problem's) steps from the problem's start point; the lr is
    the given one, or the optimizer's default lr when none is given."""
    x = problem.start(dtype, device)
    state: dict[str, Any] = {}
    points, losses, states = [x], [float(problem.f(x))], []

    def call(step: int, x: Tensor, grad: Tensor, kwargs: dict[str, Any]) -> Tensor:
        return optimizer(x, grad, state, **kwargs)

    base_lr = hyperparameters.get("lr", default_lr(optimizer))
    walk = optimizer_steps(problem, x, call, hyperparameters, base_lr=base_lr, steps=steps)
    for _, point in walk:
        points.append(point)
        losses.append(float(problem.f(point)))
        states.append(snapshot(state))
    return Trajectory(tuple(points), tuple(losses), tuple(states))
