"""The problem suite of docs/design.md §1: every case runs one function on one of these problems.

    convex           quadratic_2d, quadratic_1d
    ill-conditioned  elongated_quadratic, random_quadratic
    saddle           saddle_2d, cubic, monkey_saddle
    non-convex       x_cos_cx, rosenbrock
    stochastic       noisy_quadratic, linear_regression, logistic_regression, sparse_features
    probe            tiny_gradients, gradient_spike, zero_gradient, lr_drop, long_run

Shapes vary on purpose (a 0-d scalar, vectors, a 2×3 matrix), so that students' code is run on
more than one. `problem("NAME@SEED")` is a seeded problem drawn again from another seed (its
data, noise and, for random_quadratic, its start point), for hidden cases.
"""

from __future__ import annotations

import dataclasses
import functools

from autograder.problems.base import CATEGORIES, Category, Problem
from autograder.problems.deterministic import deterministic_problems, random_quadratic
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


@functools.cache
def _reseeded(seed: int) -> dict[str, Problem]:
    """The seeded problems drawn from `seed`, named NAME@SEED."""
    drawn = (random_quadratic(seed), *stochastic_problems(seed))
    return {p.name: dataclasses.replace(p, name=f"{p.name}@{seed}") for p in drawn}


def problem(name: str) -> Problem:
    """The suite's problem called `name`, or a seeded one drawn again: "noisy_quadratic@7"."""
    base, at, seed = name.partition("@")
    if at:
        reseeded = _reseeded(int(seed)) if seed.isdigit() else {}
        if base in reseeded:
            return reseeded[base]
        seeded = ", ".join(sorted(_reseeded(0)))
        raise KeyError(f"no seeded problem {name!r} (seeded problems: {seeded}, as NAME@SEED)")
    for candidate in PROBLEMS:
        if candidate.name == name:
            return candidate
    known = ", ".join(p.name for p in PROBLEMS)
    raise KeyError(f"no problem named {name!r} (known: {known})")
