"""The demo: every reference optimizer on the problem suite, as a table of final losses.

It shows the suite and the reference at work until the grader grades the sample class.
"""

from __future__ import annotations

import math
from typing import TextIO

import torch

from autograder.catalog import all_functions
from autograder.problems import PROBLEMS
from autograder.trajectory import run_optimizer

STEPS = 100
LEARNING_RATE = 0.05
SHOWN_CATEGORIES = ("convex", "ill-conditioned", "saddle", "non-convex", "stochastic")


def _cell(loss: float) -> str:
    return "diverged" if not math.isfinite(loss) or abs(loss) > 1e12 else f"{loss:.3g}"


def print_reference_table(out: TextIO) -> None:
    """Final loss after STEPS steps at lr LEARNING_RATE, one row per optimizer."""
    import reference

    problems = [p for p in PROBLEMS if p.category in SHOWN_CATEGORIES]
    width = max(len(p.name) for p in problems) + 2
    print(
        f"Final loss after {STEPS} steps of each reference optimizer (lr={LEARNING_RATE})", file=out
    )
    print(f"{'optimizer':<12}" + "".join(f"{p.name:>{width}}" for p in problems), file=out)
    print(
        f"{'(start)':<12}" + "".join(f"{_cell(float(p.f(p.start()))):>{width}}" for p in problems),
        file=out,
    )
    for graded in all_functions():
        if graded.kind != "optimizer":
            continue
        row = []
        for problem in problems:
            with torch.no_grad():
                path = run_optimizer(
                    reference.FUNCTIONS[graded.name], problem, {"lr": LEARNING_RATE}, steps=STEPS
                )
            row.append(_cell(path.losses[-1]))
        print(f"{graded.name:<12}" + "".join(f"{cell:>{width}}" for cell in row), file=out)
