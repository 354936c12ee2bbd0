"""The problem suite of DESIGN.md §1: every case runs one function on one of these problems.

    convex           quadratic_2d, quadratic_1d
    ill-conditioned  elongated_quadratic, random_quadratic
    saddle           saddle_2d, cubic, monkey_saddle
    non-convex       x_cos_cx, rosenbrock
    stochastic       noisy_quadratic, linear_regression, logistic_regression, sparse_features
    probe            tiny_gradients, gradient_spike, zero_gradient, lr_drop, long_run

Shapes vary on purpose (a 0-d scalar, vectors, a 2×3 matrix), so that students' code is run on
more than one.
"""

from __future__ import annotations

from autograder.problems.base import CATEGORIES, Category, Problem
from autograder.problems.deterministic import deterministic_problems
from autograder.problems.probes import probes
from autograder.problems.stochastic import stochastic_problems

__all__ = ["CATEGORIES", "PROBLEMS", "Category", "Problem", "build_problems", "problem"]


def build_problems() -> tuple[Problem, ...]:
    """A fresh suite: new objects whose data sets are drawn again, from the same seeds."""
    suite = (*deterministic_problems(), *stochastic_problems(), *probes())
    names = [p.name for p in suite]
    if len(set(names)) != len(names):
        raise ValueError(f"two problems share a name: {names}")
    return suite


PROBLEMS: tuple[Problem, ...] = build_problems()


def problem(name: str) -> Problem:
    """The suite's problem called `name`."""
    for candidate in PROBLEMS:
        if candidate.name == name:
            return candidate
    known = ", ".join(p.name for p in PROBLEMS)
    raise KeyError(f"no problem named {name!r} (known: {known})")
