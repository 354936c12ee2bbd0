"""Deterministic problems: convex and ill-conditioned quadratics, saddles, non-convex functions."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from autograder.problems.base import Category, Problem, fixed_minimum, fixed_point, seeded_generator

RANDOM_QUADRATIC_DIM = 50
RANDOM_QUADRATIC_EIGENVALUES = (1e-2, 1e2)  # condition number 1e4
X_COS_C = 0.15 * math.pi
# The local minimiser of x cos(cx) that gradient descent from x = 10 falls into: the root of
# cos(cx) = c x sin(cx) near 7.27, found by Newton's method in float64.
X_COS_LOCAL_MINIMUM = 7.269388146311475


def diagonal_quadratic(
    name: str,
    category: Category,
    description: str,
    coefficients: Sequence[float],
    start: Sequence[float],
    *,
    steps: int = 20,
    lr_schedule: Callable[[int], float] | None = None,
) -> Problem:
    """f(x) = Σ c_i x_i²: a bowl when every c_i > 0 (minimum 0), a saddle when signs mix."""
    c = torch.tensor(coefficients, dtype=torch.float64)

    def f(x: Tensor) -> Tensor:
        return (c.to(x) * x * x).sum()

    def grad(x: Tensor, step: int) -> Tensor:
        return 2 * c.to(x) * x

    bowl = all(value > 0 for value in coefficients)
    return Problem(
        name,
        category,
        description,
        steps,
        fixed_point(*start),
        f,
        grad,
        minimizer=fixed_minimum(*(0.0 for _ in coefficients)) if bowl else None,
        lr_schedule=lr_schedule,
    )


def _random_quadratic_data(seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """The Hessian A = Q diag(λ) Qᵀ (λ log-spaced), the minimiser and the start, from the seed."""
    generator = seeded_generator("random_quadratic", seed)
    n = RANDOM_QUADRATIC_DIM
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    low, high = RANDOM_QUADRATIC_EIGENVALUES
    eigenvalues = torch.logspace(math.log10(low), math.log10(high), n, dtype=torch.float64)
    hessian = q @ torch.diag(eigenvalues) @ q.T
    minimiser = torch.randn(n, generator=generator, dtype=torch.float64)
    start = torch.randn(n, generator=generator, dtype=torch.float64)
    return (hessian + hessian.T) / 2, minimiser, start


def random_quadratic(seed: int = 0) -> Problem:
    """f(x) = ½ (x − x*)ᵀ A (x − x*) in 50 dimensions, A's condition number 1e4."""
    data = functools.cache(lambda: _random_quadratic_data(seed))

    def f(x: Tensor) -> Tensor:
        hessian, minimiser, _ = data()
        d = x - minimiser.to(x)
        return 0.5 * d @ hessian.to(x) @ d

    def grad(x: Tensor, step: int) -> Tensor:
        hessian, minimiser, _ = data()
        return hessian.to(x) @ (x - minimiser.to(x))

    return Problem(
        "random_quadratic",
        "ill-conditioned",
        "a random 50-D quadratic bowl whose curvatures span 1e-2 to 1e2 (condition number 1e4)",
        20,
        lambda: data()[2],
        f,
        grad,
        minimizer=lambda: tuple(data()[1].tolist()),
    )


def _cubic(x: Tensor) -> Tensor:
    return (x**3).sum()


def _cubic_grad(x: Tensor, step: int) -> Tensor:
    return 3 * x**2


def _monkey_saddle(x: Tensor) -> Tensor:
    return x[0] ** 3 - 3 * x[0] * x[1] ** 2


def _monkey_saddle_grad(x: Tensor, step: int) -> Tensor:
    return torch.stack((3 * x[0] ** 2 - 3 * x[1] ** 2, -6 * x[0] * x[1]))


def _x_cos(x: Tensor) -> Tensor:
    return (x * torch.cos(X_COS_C * x)).sum()


def _x_cos_grad(x: Tensor, step: int) -> Tensor:
    return torch.cos(X_COS_C * x) - X_COS_C * x * torch.sin(X_COS_C * x)


def _rosenbrock(x: Tensor) -> Tensor:
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _rosenbrock_grad(x: Tensor, step: int) -> Tensor:
    valley = x[1] - x[0] ** 2
    return torch.stack((-2 * (1 - x[0]) - 400 * x[0] * valley, 200 * valley))


def deterministic_problems() -> tuple[Problem, ...]:
    """The convex, ill-conditioned, saddle and non-convex problems (docs/design.md §1), anew."""
    return (
        diagonal_quadratic(
            "quadratic_2d", "convex", "the bowl f = x1² + 2 x2², from (−5, −2)", (1, 2), (-5, -2)
        ),
        diagonal_quadratic("quadratic_1d", "convex", "the parabola f = x², from x = 3", (1,), (3,)),
        diagonal_quadratic(
            "elongated_quadratic",
            "ill-conditioned",
            "the stretched bowl f = 0.1 x1² + 2 x2² (curvatures 20× apart), from (−5, −2)",
            (0.1, 2),
            (-5, -2),
        ),
        random_quadratic(),
        diagonal_quadratic(
            "saddle_2d",
            "saddle",
            "the saddle f = x1² − x2², from (1, 0.001), just off the line that leads into it",
            (1, -1),
            (1, 1e-3),
        ),
        Problem(
            "cubic",
            "saddle",
            "f = x³, from x = 0.5: the gradient vanishes at the flat saddle point x = 0",
            20,
            fixed_point(0.5),
            _cubic,
            _cubic_grad,
        ),
        Problem(
            "monkey_saddle",
            "saddle",
            "the monkey saddle f = x³ − 3 x y², flat at the origin, from (0.5, 0.2)",
            20,
            fixed_point(0.5, 0.2),
            _monkey_saddle,
            _monkey_saddle_grad,
        ),
        Problem(
            "x_cos_cx",
            "non-convex",
            "f = x cos(0.15 π x), from x = 10, which falls into the local minimum near 7.27",
            20,
            fixed_point(10),
            _x_cos,
            _x_cos_grad,
            minimizer=fixed_minimum(X_COS_LOCAL_MINIMUM),
        ),
        Problem(
            "rosenbrock",
            "non-convex",
            "Rosenbrock's valley f = (1 − x)² + 100 (y − x²)² from (−1.5, 2); minimum (1, 1)",
            20,
            fixed_point(-1.5, 2),
            _rosenbrock,
            _rosenbrock_grad,
            minimizer=fixed_minimum(1.0, 1.0),
        ),
    )
