"""The adaptive assignment's student fixtures: every known bug as a student's edit, and three
correct re-ordered submissions.

A mutation must reproduce its bug exactly (the reference's bug variant is the oracle) and touch
nothing outside its function; a re-ordered submission must match the reference in float64 and
float32 while being written differently from the solution.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import Tensor

from autograder.catalog import ASSIGNMENTS
from autograder.problems import problem
from autograder.trajectory import Trajectory, run_optimizer
from reference import FUNCTIONS
from reference.bugs import KNOWN_BUGS
from tests.fixtures.students import correct_modules
from tests.fixtures.students.adaptive_mutations import MUTATIONS
from tests.fixtures.students.apply_mutation import mutate, student_module

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "adaptive.py"
REORDERED = correct_modules("adaptive")
ADAPTIVE = next(a for a in ASSIGNMENTS if a.name == "adaptive")
FUNCTION_NAMES = tuple(f.name for f in ADAPTIVE.functions)
ADAPTIVE_BUGS = {bug.id: bug for bug in KNOWN_BUGS if bug.function in FUNCTION_NAMES}

PROBLEMS = (
    "quadratic_2d",
    "noisy_quadratic",
    "tiny_gradients",
    "gradient_spike",
    "lr_drop",
    "zero_gradient",
    "long_run",
)
# Learning rates that move every problem without landing exactly on a minimum (where rounding
# in g/|g| would be amplified); a bug's exposed_with overrides them.
LR = {
    "adagrad": 0.07,
    "rmsprop": 0.003,
    "adadelta": 1.0,
    "adam": 0.03,
    "adamw": 0.03,
    "adamax": 0.03,
    "nadam": 0.03,
    "radam": 0.03,
    "adabound": 0.03,
}
# Option sets for the re-ordered submissions: every flag and decay of each function.
OPTIONS: dict[str, tuple[dict[str, Any], ...]] = {
    "adagrad": (
        {},
        {"lr_decay": 0.1, "initial_accumulator_value": 0.1},
        {"weight_decay": 0.1, "maximize": True},
    ),
    "rmsprop": (
        {},
        {"centered": True},
        {"momentum": 0.9},
        {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "maximize": True},
    ),
    "adadelta": ({}, {"rho": 0.5, "eps": 1e-4}, {"weight_decay": 0.1, "maximize": True}),
    "adam": (
        {},
        {"amsgrad": True},
        {"weight_decay": 0.1},
        {"decoupled_weight_decay": True, "weight_decay": 0.1, "amsgrad": True, "maximize": True},
    ),
    "adamw": ({}, {"amsgrad": True, "maximize": True}, {"weight_decay": 0.1, "betas": (0.8, 0.99)}),
    "adamax": ({}, {"weight_decay": 0.1, "maximize": True}, {"betas": (0.5, 0.9)}),
    "nadam": (
        {},
        {"decoupled_weight_decay": True, "weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True, "momentum_decay": 0.01},
    ),
    "radam": (
        {},
        {"decoupled_weight_decay": True, "weight_decay": 0.1},
        {"weight_decay": 0.1, "maximize": True},
        {"betas": (0.9, 0.9)},
    ),
    "adabound": (
        {},
        {"amsbound": True},
        {"weight_decay": 0.1, "maximize": True, "gamma": 0.1},
        {"final_lr": 0.01, "gamma": 0.1},
    ),
}
# Tolerances: relative, plus an absolute floor of SCALE_FLOOR times the series' largest value
# (a coordinate that cancels to ~0 carries the rounding of its larger terms).
RTOL = {torch.float64: 1e-9, torch.float32: 1e-4}
SCALE_FLOOR = {torch.float64: 1e-12, torch.float32: 1e-6}


def import_file(path: Path, name: str) -> ModuleType:
    """Import the module at `path` under `name`, without touching sys.modules."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def function_lines(source: str, name: str) -> tuple[int, int]:
    """The 0-based [first, last) line range of the top-level def `name`."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            assert node.end_lineno is not None
            return node.lineno - 1, node.end_lineno
    raise AssertionError(f"no function {name} in the module")


def series(trajectory: Trajectory) -> dict[str, Tensor]:
    """The points and every state entry of a trajectory, each stacked over the steps."""
    stacked = {"x": torch.stack(trajectory.points[1:])}
    for name in trajectory.states[0]:
        stacked[name] = torch.stack([state[name] for state in trajectory.states])
    return stacked


def mismatch(got: Trajectory, expected: Trajectory, dtype: torch.dtype) -> str | None:
    """What differs between two trajectories beyond the dtype's tolerance, or None."""
    got_series, expected_series = series(got), series(expected)
    if got_series.keys() != expected_series.keys():
        return f"state entries {sorted(got_series)} != {sorted(expected_series)}"
    for name, wanted in expected_series.items():
        finite = wanted[torch.isfinite(wanted)]
        scale = finite.abs().max().item() if finite.numel() else 0.0
        try:
            torch.testing.assert_close(
                got_series[name],
                wanted,
                rtol=RTOL[dtype],
                atol=SCALE_FLOOR[dtype] * scale,
                equal_nan=True,
            )
        except AssertionError as error:
            return f"{name}: {error}"
    return None


@cache
def reference_run(
    function: str, options: tuple[tuple[str, Any], ...], problem_name: str, dtype: torch.dtype
) -> Trajectory:
    """The reference's trajectory, computed once per case."""
    return run_optimizer(FUNCTIONS[function], problem(problem_name), dict(options), dtype=dtype)


def guarded(optimizer: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """The optimizer, asserting on every call that it leaves x and grad alone."""

    def step(x: Tensor, grad: Tensor, state: dict[str, Any], **options: Any) -> Tensor:
        x_before, grad_before = x.clone(), grad.clone()
        new_x = optimizer(x, grad, state, **options)
        assert torch.equal(x, x_before) and torch.equal(grad, grad_before), "modified its input"
        assert (new_x.shape, new_x.dtype) == (x.shape, x.dtype)
        return new_x

    return step


# --- the known-bug mutations ------------------------------------------------------------------


def test_every_adaptive_bug_has_exactly_one_mutation() -> None:
    assert set(MUTATIONS) == set(ADAPTIVE_BUGS)


@pytest.mark.parametrize("bug_id", sorted(MUTATIONS))
def test_mutation_reproduces_its_bug(bug_id: str, tmp_path: Path) -> None:
    bug = ADAPTIVE_BUGS[bug_id]
    solution = SOLUTION.read_text()
    source = student_module(SOLUTION, {bug.function: MUTATIONS[bug_id]})
    start, end = function_lines(solution, bug.function)
    new_start, new_end = function_lines(source, bug.function)
    lines, new_lines = solution.splitlines(), source.splitlines()
    assert new_start == start and new_lines[:start] == lines[:start], "edited above the function"
    assert new_lines[new_end:] == lines[end:], "edited below the function"
    assert new_lines[start:new_end] != lines[start:end], "the mutation changes nothing"

    path = tmp_path / "adaptive.py"
    path.write_text(source)
    student = getattr(import_file(path, f"student_{bug.function}_{bug.name}"), bug.function)
    options = {"lr": LR[bug.function], **bug.exposed_with}
    shows_on = []
    for name in PROBLEMS:
        got = run_optimizer(student, problem(name), options)
        expected = run_optimizer(bug.run, problem(name), options)
        assert mismatch(got, expected, torch.float64) is None, f"{bug_id} on {name}"
        correct = reference_run(bug.function, tuple(options.items()), name, torch.float64)
        if mismatch(got, correct, torch.float64) is not None:
            shows_on.append(name)
    assert shows_on, f"{bug_id}: the mutated function agrees with the reference everywhere"


def test_mutate_edits_only_the_named_function() -> None:
    source = "def f():\n    return 1 + 1\n\n\ndef g():\n    return 1 + 1\n"
    assert mutate(source, "g", [("1 + 1", "2")]) == (
        "def f():\n    return 1 + 1\n\n\ndef g():\n    return 2\n"
    )


@pytest.mark.parametrize(
    ("old", "problem_text"),
    [("1 + 2", "found 0"), ("1", "found 2")],
    ids=["absent", "ambiguous"],
)
def test_mutate_rejects_an_edit_that_is_not_unique(old: str, problem_text: str) -> None:
    with pytest.raises(ValueError, match=f"^g: .*{re.escape(repr(old))}.*{problem_text}"):
        mutate("def g():\n    return 1 + 1\n", "g", [(old, "3")])


def test_mutate_rejects_an_unknown_function() -> None:
    with pytest.raises(ValueError, match="'h'"):
        mutate("def g():\n    return 1\n", "h", [("1", "2")])


# --- the re-ordered correct submissions -------------------------------------------------------


@cache
def reordered(index: int) -> ModuleType:
    return import_file(REORDERED[index], f"reordered_adaptive_{index + 1}")


def _cases() -> list[Any]:
    return [
        pytest.param(
            index,
            function,
            options,
            id=f"reordered_{index + 1}-{function}-{k}",
        )
        for index in range(len(REORDERED))
        for function, option_sets in OPTIONS.items()
        for k, options in enumerate(option_sets)
    ]


@pytest.mark.parametrize(("index", "function", "options"), _cases())
def test_reordered_submission_matches_the_reference(
    index: int, function: str, options: Mapping[str, Any]
) -> None:
    student = guarded(getattr(reordered(index), function))
    case = tuple({"lr": LR[function], **options}.items())
    for dtype in (torch.float64, torch.float32):
        for name in PROBLEMS:
            got = run_optimizer(student, problem(name), dict(case), dtype=dtype)
            error = mismatch(got, reference_run(function, case, name, dtype), dtype)
            assert error is None, f"{name} in {dtype}: {error}"


def _invalid_options(function: str) -> list[dict[str, Any]]:
    """Each hyperparameter of `function` set, one at a time, to a value torch may reject."""
    parameters = inspect.signature(FUNCTIONS[function]).parameters
    bad: dict[str, Any] = {"rho": 1.5, "gamma": 1.0}
    candidates = [{name: bad.get(name, -1.0)} for name, p in parameters.items()
                  if isinstance(p.default, float)]  # fmt: skip
    if "betas" in parameters:
        candidates += [{"betas": (1.0, 0.999)}, {"betas": (0.9, -0.1)}]
    return candidates


@pytest.mark.parametrize("index", range(len(REORDERED)), ids=lambda i: f"reordered_{i + 1}")
@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_reordered_submission_rejects_what_torch_rejects(index: int, function: str) -> None:
    student = getattr(reordered(index), function)
    checked = 0
    for options in _invalid_options(function):
        x = torch.ones(2, dtype=torch.float64)
        try:
            FUNCTIONS[function](x, x.clone(), {}, **options)
        except ValueError as error:
            with pytest.raises(ValueError) as raised:
                student(x, x.clone(), {}, **options)
            assert str(raised.value) == str(error), options
            checked += 1
    assert checked >= 2


def _normalised(node: ast.FunctionDef) -> str:
    """The function's code without its docstring, as an AST dump."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.dump(ast.Module(body=body, type_ignores=[]))


def _functions(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    return {node.name: _normalised(node) for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_reordered_submissions_are_not_copies(function: str) -> None:
    versions = [_functions(path)[function] for path in (SOLUTION, *REORDERED)]
    assert len(set(versions)) == len(versions), f"{function}: two submissions share its code"
