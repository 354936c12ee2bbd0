"""The assignments, their modules and graded functions: the table of docs/design.md §2 as data.

Everything that needs the list of graded functions (the CLI, the rubrics, the reference
tests, the release) reads it from here; docs/contributing.md lists the other edits that a
new function needs, and a test fails when one is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FunctionKind = Literal["optimizer", "schedule", "sampler", "training"]


@dataclass(frozen=True)
class GradedFunction:
    """A function students write; `torch_equivalent` names its oracle (None: torch lacks it).
    Its points are the rubric's alone (rubric.Rubric.points)."""

    name: str
    kind: FunctionKind
    torch_equivalent: str | None


@dataclass(frozen=True)
class Assignment:
    """One assignment: the module students fill in and the functions graded in it."""

    name: str
    module: str
    title: str
    functions: tuple[GradedFunction, ...]


def _optimizer(name: str, torch_equivalent: str | None) -> GradedFunction:
    return GradedFunction(name, "optimizer", torch_equivalent)


def _schedule(name: str, torch_equivalent: str | None) -> GradedFunction:
    return GradedFunction(name, "schedule", torch_equivalent)


ASSIGNMENTS: tuple[Assignment, ...] = (
    Assignment(
        "gradient_descent",
        "gradient_descent.py",
        "Gradient descent, SGD and momentum",
        (
            _optimizer("gd", "torch.optim.SGD"),
            _optimizer("momentum", "torch.optim.SGD"),
            _optimizer("nesterov", "torch.optim.SGD"),
            GradedFunction("minibatches", "sampler", "torch.utils.data.BatchSampler"),
        ),
    ),
    Assignment(
        "adaptive",
        "adaptive.py",
        "Adaptive methods: AdaGrad to Adam and its descendants",
        (
            _optimizer("adagrad", "torch.optim.Adagrad"),
            _optimizer("rmsprop", "torch.optim.RMSprop"),
            _optimizer("adadelta", "torch.optim.Adadelta"),
            _optimizer("adam", "torch.optim.Adam"),
            _optimizer("adamw", "torch.optim.AdamW"),
            _optimizer("adamax", "torch.optim.Adamax"),
            _optimizer("nadam", "torch.optim.NAdam"),
            _optimizer("radam", "torch.optim.RAdam"),
            _optimizer("adabound", None),
        ),
    ),
    Assignment(
        "schedules",
        "schedules.py",
        "Learning-rate schedules and training",
        (
            _schedule("step_lr", "torch.optim.lr_scheduler.StepLR"),
            _schedule("exponential_lr", "torch.optim.lr_scheduler.ExponentialLR"),
            _schedule("polynomial_lr", None),
            _schedule("cosine_lr", "torch.optim.lr_scheduler.CosineAnnealingLR"),
            _schedule(
                "cosine_warm_restarts", "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts"
            ),
            _schedule("cyclic_lr", "torch.optim.lr_scheduler.CyclicLR"),
            _schedule("one_cycle_lr", "torch.optim.lr_scheduler.OneCycleLR"),
            _schedule("linear_warmup", "torch.optim.lr_scheduler.LinearLR"),
            _optimizer("swats", None),
            GradedFunction("train", "training", None),
        ),
    ),
)


def assignment(name: str) -> Assignment:
    """The assignment called `name`; a KeyError that lists the known names otherwise."""
    for candidate in ASSIGNMENTS:
        if candidate.name == name:
            return candidate
    known = ", ".join(a.name for a in ASSIGNMENTS)
    raise KeyError(f"unknown assignment {name!r}; known assignments: {known}")


def all_functions() -> tuple[GradedFunction, ...]:
    """Every graded function of every assignment, in teaching order."""
    return tuple(f for a in ASSIGNMENTS for f in a.functions)
