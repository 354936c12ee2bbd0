"""Probes: problems built to expose one convention each (docs/design.md §1).

Some are gradient sequences rather than landscapes: the gradient at step k does not depend on
x. Each stands for the online linear losses f_k(x) = g_k · x (the setting of the AMSGrad paper's
counterexample), exposed as `f_at`; `f` is the loss the sequence settles on.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from autograder.problems.base import Problem, fixed_point
from autograder.problems.deterministic import diagonal_quadratic

TINY_GRADIENTS = (1e-6, -1e-7, 1e-8)
SPIKE, AFTER_SPIKE = 10.0, 0.1
LR_DROP_STEP, LR_DROP_FACTOR = 5, 0.1


def tiny_gradients() -> Problem:
    """A constant gradient of 1e-6, −1e-7, 1e-8: as small as eps, so eps's placement shows."""
    c = torch.tensor(TINY_GRADIENTS, dtype=torch.float64)

    def f(x: Tensor) -> Tensor:
        return (c.to(x) * x).sum()

    def grad(x: Tensor, step: int) -> Tensor:
        return c.to(x, copy=True)

    return Problem(
        "tiny_gradients",
        "probe",
        "a plane f = 1e-6 x1 − 1e-7 x2 + 1e-8 x3: gradients as small as eps (eps placement)",
        10,
        fixed_point(1, -2, 0.5),
        f,
        grad,
    )


def _spike(step: int) -> float:
    return SPIKE if step == 0 else AFTER_SPIKE


def gradient_spike() -> Problem:
    """A scalar that sees gradient 10 at step 0, then 0.1: AMSGrad's max keeps the spike."""

    def f_at(x: Tensor, step: int) -> Tensor:
        return _spike(step) * x.sum()

    return Problem(
        "gradient_spike",
        "probe",
        "a gradient sequence on a scalar: 10 at the first step, then 0.1 (AMSGrad's running max)",
        10,
        lambda: torch.tensor(1.0, dtype=torch.float64),
        lambda x: AFTER_SPIKE * x.sum(),
        lambda x, step: torch.full_like(x, _spike(step)),
        step_objective=f_at,
    )


def zero_gradient() -> Problem:
    """f = 0 on a 2×3 matrix: only (decoupled) weight decay can move x."""
    return Problem(
        "zero_gradient",
        "probe",
        "f = 0 on a 2×3 matrix: the gradient is zero, so only weight decay moves x",
        10,
        lambda: torch.tensor(((1.0, -2.0, 3.0), (-0.5, 0.25, 4.0)), dtype=torch.float64),
        lambda x: (0 * x).sum(),
        lambda x, step: torch.zeros_like(x),
    )


def _lr_drop(step: int) -> float:
    return 1.0 if step < LR_DROP_STEP else LR_DROP_FACTOR


def lr_drop() -> Problem:
    """The convex quadratic with the learning rate cut 10× after 5 steps (where lr enters)."""
    return diagonal_quadratic(
        "lr_drop",
        "probe",
        "the bowl f = x1² + 2 x2² from (−5, −2), learning rate cut 10× after 5 steps",
        (1, 2),
        (-5, -2),
        steps=15,
        lr_schedule=_lr_drop,
    )


def long_run() -> Problem:
    """12 steps on a quadratic: RAdam switches to rectified adaptive steps at step 6."""
    return diagonal_quadratic(
        "long_run",
        "probe",
        "12 steps on f = 0.5 x1² + 50 x2² from (1, 1): RAdam rectifies from its 6th step on",
        (0.5, 50),
        (1, 1),
        steps=12,
    )


PROBE_BUILDERS: tuple[Callable[[], Problem], ...] = (
    tiny_gradients,
    gradient_spike,
    zero_gradient,
    lr_drop,
    long_run,
)


def probes() -> tuple[Problem, ...]:
    """The probes of docs/design.md §1, freshly built."""
    return tuple(build() for build in PROBE_BUILDERS)
