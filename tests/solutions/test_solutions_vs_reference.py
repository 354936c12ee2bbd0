"""The solutions equal the independently written reference on every problem of the suite,
one hyperparameter changed at a time from the rubric's visible settings (direct calls)."""

from __future__ import annotations

import importlib.util
import inspect
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

import reference
from autograder.catalog import ASSIGNMENTS, GradedFunction
from autograder.compare import first_difference, first_divergence
from autograder.expectations import run_in_process
from autograder.problems import PROBLEMS
from autograder.rubric import load_rubric
from autograder.trajectory import run_optimizer

ROOT = Path(__file__).resolve().parents[2]
ALTERNATIVES = {
    "mode": ("triangular", "triangular2", "exp_range"),
    "anneal_strategy": ("cos", "linear"),
}
SCHEDULE_STEPS = 120


@cache
def solution(module: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"solution_{module}", ROOT / "solutions" / module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def other_value(name: str, default: Any) -> list[Any]:
    """Values of a keyword other than its default, within every optimizer's valid range."""
    if name in ALTERNATIVES:
        return [v for v in ALTERNATIVES[name] if v != default]
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, tuple):
        return [(0.5, 0.9)]
    if isinstance(default, int) and name == "T_mult":
        return [2, 3]
    if isinstance(default, float | int) and default is not None:
        return [0.1] if default == 0 else [default * 0.5]
    return []


def sweep(graded: GradedFunction) -> list[dict[str, Any]]:
    """The rubric's first visible settings, then each keyword changed alone."""
    base = dict(
        next(
            c for c in load_rubric_cases(graded.name) if c.visible
        ).reference_request.hyperparameters
    )
    options = [base]
    parameters = inspect.signature(reference.FUNCTIONS[graded.name]).parameters.values()
    for parameter in parameters:
        if parameter.kind is not parameter.KEYWORD_ONLY or parameter.name == "generator":
            continue
        default = base.get(parameter.name, parameter.default)
        if default is inspect.Parameter.empty:
            continue
        options += [
            {**base, parameter.name: value} for value in other_value(parameter.name, default)
        ]
    return options


@cache
def load_rubric_cases(function: str) -> tuple[Any, ...]:
    assignment = next(a for a in ASSIGNMENTS if any(f.name == function for f in a.functions))
    return load_rubric(assignment.name).for_function(function)


def accepted(function: Any, options: dict[str, Any]) -> bool:
    """Whether the reference accepts these settings (nesterov rejects dampening, ...)."""
    try:
        if "step" in inspect.signature(function).parameters:
            function(0, **options)
        else:
            function(
                torch.ones(2, dtype=torch.float64),
                torch.ones(2, dtype=torch.float64),
                {},
                **options,
            )
    except ValueError:
        return False
    return True


def bounded(points: tuple[torch.Tensor, ...]) -> bool:
    return all(bool((p.abs() < 1e6).all()) for p in points)


CASES = [
    pytest.param(assignment.module, graded, id=graded.name)
    for assignment in ASSIGNMENTS
    for graded in assignment.functions
]


@pytest.mark.parametrize(("module", "graded"), CASES)
def test_solution_equals_the_reference(module: str, graded: GradedFunction):
    mine = getattr(solution(module), graded.name)
    theirs = reference.FUNCTIONS[graded.name]
    if graded.kind == "sampler":
        for n, size, seed in [(10, 3, 0), (12, 4, 1), (100, 32, 2), (7, 7, 3), (5, 10, 4)]:
            got = mine(n, size, generator=torch.Generator().manual_seed(seed))
            expected = theirs(n, size, generator=torch.Generator().manual_seed(seed))
            assert [b.tolist() for b in got] == [b.tolist() for b in expected], (n, size, seed)
        return
    if graded.kind == "training":
        for case in load_rubric_cases(graded.name):
            expected = run_in_process(theirs, case.reference_request)
            got = run_in_process(mine, case.reference_request)
            assert expected.ok and got.ok, (expected.message, got.message)
            assert expected.losses is not None and got.losses is not None
            found = first_difference(
                torch.tensor(expected.losses), torch.tensor(got.losses), "loss"
            ) or first_difference(expected.parameters[None], got.parameters[None], "parameters")
            assert found is None, f"{case.name}: {found}"
        return
    options_tried = 0
    for options in sweep(graded):
        if not accepted(theirs, options):
            continue
        options_tried += 1
        if graded.kind == "schedule":
            steps = range(options.get("total_steps", SCHEDULE_STEPS))
            found = first_difference(
                torch.tensor([theirs(s, **options) for s in steps], dtype=torch.float64),
                torch.tensor([mine(s, **options) for s in steps], dtype=torch.float64),
                "lr",
            )
            assert found is None, f"{options}: {found}"
        elif graded.kind == "optimizer":
            for problem in PROBLEMS:
                expected = run_optimizer(theirs, problem, options)
                if not bounded(expected.points):
                    continue  # past overflow, equivalent arithmetic may give inf or nan
                got = run_optimizer(mine, problem, options)
                found = first_divergence(expected, got)
                assert found is None, f"{problem.name} {options}: {found}"
        else:
            pytest.fail(f"no sweep for functions of kind {graded.kind!r} yet: add one here")
    assert options_tried > 1
