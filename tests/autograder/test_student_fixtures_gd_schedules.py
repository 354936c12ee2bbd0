"""The student fixtures of the gradient-descent and schedules assignments are what they claim.

A mutation (tests/fixtures/students/*_mutations.py) is a known bug written as a student's edit
of the solution module: applied, it must compute what the bug's reference variant computes,
and change nothing but its own function. A re-ordered module (…/reordered_N/) is a correct
submission written differently: it must agree with the reference.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

import reference
from autograder.catalog import assignment
from autograder.expectations import run_in_process
from autograder.problems import problem
from autograder.rubric import load_rubric
from autograder.trajectory import Trajectory, run_optimizer
from autograder.worker import CaseOutcome
from reference.bugs import KNOWN_BUGS
from reference.known_bug import KnownBug
from tests.fixtures.students import correct_modules, gradient_descent_mutations, schedules_mutations
from tests.fixtures.students.apply_mutation import student_module

ROOT = Path(__file__).resolve().parents[2]
STUDENTS = ROOT / "tests" / "fixtures" / "students"
MUTATIONS = {
    "gradient_descent": gradient_descent_mutations.MUTATIONS,
    "schedules": schedules_mutations.MUTATIONS,
}
FUNCTIONS = {name: assignment(name).functions for name in MUTATIONS}
KIND = {f.name: f.kind for functions in FUNCTIONS.values() for f in functions}
ASSIGNMENT_OF = {f.name: name for name, functions in FUNCTIONS.items() for f in functions}
BUGS = [bug for bug in KNOWN_BUGS if bug.function in KIND]

RTOL = 1e-9  # float64: far above reordering noise, far below any bug
RTOL_FLOAT32 = 1e-4
DEPARTURE = 1e-6  # a bug must move something by more than this, relative
PROBLEMS = (
    "quadratic_2d",
    "noisy_quadratic",
    "tiny_gradients",
    "gradient_spike",
    "lr_drop",
    "zero_gradient",
    "long_run",
    "rosenbrock",
)
LR = 0.01  # for a bug whose exposed_with leaves lr at the default
# lr is scaled down on the stiff problems, so that runs stay finite (curvature ~2700 and 100).
LR_FACTOR = {"rosenbrock": 0.005, "long_run": 0.1}
SCHEDULE_STEPS = range(81)
BATCH_CASES = ((10, 3, 0), (12, 4, 1), (7, 7, 2), (9, 2, 5), (1, 1, 3), (100, 32, 4))
# The training loop runs on the rubric's cases, as the grader runs it.
TRAINING_CASES = tuple(
    case.reference_request for case in load_rubric("schedules").for_function("train")
)

OPTIMIZER_OPTIONS: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "gd": (
        {"lr": 0.05},
        {"lr": 0.05, "weight_decay": 0.1},
        {"lr": 0.01, "maximize": True, "weight_decay": 0.2},
    ),
    "momentum": (
        {"lr": 0.02},
        {"lr": 0.02, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.1},
        {"lr": 0.005, "momentum": 0.5, "maximize": True, "weight_decay": 0.2},
        {"lr": 0.05, "momentum": 0.0, "dampening": 0.3},
    ),
    "nesterov": (
        {"lr": 0.02},
        {"lr": 0.02, "momentum": 0.7, "weight_decay": 0.1},
        {"lr": 0.005, "momentum": 0.5, "maximize": True},
    ),
    # SWATS switches on a hard threshold: these settings keep every step far from it (see
    # test_swats_settings_stay_clear_of_the_switch_threshold).
    "swats": (
        {"lr": 0.01},
        {"lr": 0.05, "eps": 1e-3},
        {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1, "eps": 1e-3},
        {"lr": 0.01, "maximize": True},
    ),
}
_CYCLIC = {"base_lr": 0.01, "max_lr": 0.1}
SCHEDULE_OPTIONS: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "step_lr": (
        {"lr": 0.1, "step_size": 3, "gamma": 0.5},
        {"lr": 1.0, "step_size": 7},
        {"lr": 0.05, "step_size": 1, "gamma": 0.9},
    ),
    "exponential_lr": ({"lr": 0.1, "gamma": 0.9}, {"lr": 2.0, "gamma": 0.5}),
    "polynomial_lr": (
        {"lr": 0.1},
        {"lr": 0.1, "alpha": 1.0, "beta": 0.5},
        {"lr": 1.0, "alpha": 2.0, "beta": 3.0},
    ),
    "cosine_lr": (
        {"lr": 0.1, "T_max": 10},
        {"lr": 0.1, "T_max": 7, "eta_min": 0.01},
        {"lr": 1.0, "T_max": 1},
    ),
    "cosine_warm_restarts": (
        {"lr": 0.1, "T_0": 3, "T_mult": 2},
        {"lr": 0.1, "T_0": 5},
        {"lr": 0.2, "T_0": 1, "T_mult": 3, "eta_min": 0.01},
        {"lr": 0.1, "T_0": 2, "T_mult": 5, "eta_min": 0.05},
    ),
    "cyclic_lr": (
        {**_CYCLIC, "step_size_up": 4},
        {**_CYCLIC, "step_size_up": 3, "step_size_down": 5, "mode": "triangular2"},
        {**_CYCLIC, "step_size_up": 4, "mode": "exp_range", "gamma": 0.97},
        {"base_lr": 0.1, "max_lr": 1.0, "step_size_up": 5, "step_size_down": 2},
        {**_CYCLIC, "step_size_up": 2, "step_size_down": 6, "mode": "exp_range", "gamma": 0.9},
    ),
    "one_cycle_lr": (
        {"max_lr": 1.0, "total_steps": 60},
        {"max_lr": 0.5, "total_steps": 60, "anneal_strategy": "linear"},
        {"max_lr": 1.0, "total_steps": 50, "three_phase": True},
        {
            "max_lr": 0.1,
            "total_steps": 40,
            "pct_start": 0.25,
            "anneal_strategy": "linear",
            "three_phase": True,
            "div_factor": 10.0,
            "final_div_factor": 100.0,
        },
        {"max_lr": 1.0, "total_steps": 10},
    ),
    "linear_warmup": (
        {"lr": 0.1, "start_factor": 0.25, "total_iters": 4},
        {"lr": 0.1},
        {"lr": 1.0, "start_factor": 1.0, "end_factor": 0.0, "total_iters": 10},
        {"lr": 0.5, "start_factor": 0.5, "end_factor": 0.8, "total_iters": 3},
        {"lr": 0.1, "total_iters": 0},
    ),
}


def load(path: Path, name: str) -> ModuleType:
    """Import the module file at `path` under `name`, without touching sys.modules."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mismatch(expected: Sequence[Any], got: Sequence[Any], rtol: float) -> str | None:
    """Where `got` leaves `expected` (the grader's rule: |got − expected| ≤ rtol (|expected| +
    the run's largest finite |expected|); NaN and ±inf must sit where expected has them)."""
    want = torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in expected])
    have = torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in got])
    if want.shape != have.shape:
        return f"shape {tuple(have.shape)}, expected {tuple(want.shape)}"
    finite = torch.isfinite(want)
    scale = want[finite].abs().max() if finite.any() else torch.tensor(0.0, dtype=torch.float64)
    close = (have - want).abs() <= rtol * (want.abs() + scale)
    ok = torch.where(finite, close, (have == want) | (have.isnan() & want.isnan()))
    if ok.all():
        return None
    index = tuple(int(i) for i in torch.nonzero(~ok)[0])
    return f"at {index} (step first): got {have[index].item()!r}, expected {want[index].item()!r}"


def run_mismatch(expected: Trajectory, got: Trajectory, rtol: float, same_keys: bool) -> str | None:
    """The first quantity (points, then each state entry of `expected`) where the runs part."""
    problem_at = mismatch(expected.points, got.points, rtol)
    if problem_at is not None:
        return f"x {problem_at}"
    for step, (want, have) in enumerate(zip(expected.states, got.states, strict=True)):
        if not set(want) <= set(have) or (same_keys and set(want) != set(have)):
            return f"state keys after step {step + 1}: {sorted(have)}, expected {sorted(want)}"
    for key in sorted(set().union(*expected.states)):
        steps = [k for k, state in enumerate(expected.states) if key in state]
        found = mismatch(
            [expected.states[k][key] for k in steps], [got.states[k][key] for k in steps], rtol
        )
        if found is not None:
            return f"state {key!r} {found}"
    return None


def untouched_inputs(function: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """`function`, asserting at each call that x and grad are left alone and the result has
    x's shape and dtype (functools.wraps keeps the signature run_optimizer reads lr from)."""

    @functools.wraps(function)
    def step(x: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], **kw: Any) -> Any:
        x_before, grad_before = x.clone(), grad.clone()
        new_x = function(x, grad, state, **kw)
        assert torch.allclose(x, x_before, rtol=0, atol=0, equal_nan=True), "modified x"
        assert torch.allclose(grad, grad_before, rtol=0, atol=0, equal_nan=True), "modified grad"
        assert new_x.shape == x.shape, f"returned shape {tuple(new_x.shape)}"
        assert new_x.dtype == x.dtype, f"returned {new_x.dtype} for {x.dtype}"
        return new_x

    return step


def run(function: Callable[..., Any], name: str, options: Mapping[str, Any], **kw: Any) -> Any:
    """`function` on the problem `name`, its lr scaled by the problem's LR_FACTOR."""
    scaled = {**options, "lr": options["lr"] * LR_FACTOR.get(name, 1.0)}
    with torch.no_grad():
        return run_optimizer(function, problem(name), scaled, **kw)


def batches(function: Callable[..., list[torch.Tensor]], n: int, size: int, seed: int) -> Any:
    return function(n, size, generator=torch.Generator().manual_seed(seed))


def batches_mismatch(expected: list[torch.Tensor], got: list[torch.Tensor]) -> str | None:
    if len(got) != len(expected):
        return f"{len(got)} batches, expected {len(expected)}"
    for index, (want, have) in enumerate(zip(expected, got, strict=True)):
        if not torch.equal(have, want):
            return f"batch {index} is {have.tolist()}, expected {want.tolist()}"
    return None


def training_mismatch(expected: CaseOutcome, got: CaseOutcome, rtol: float) -> str | None:
    """Where two training runs part: a minibatch loss, then the final parameters."""
    assert expected.ok and got.ok, (expected.message, got.message)
    assert expected.losses is not None and got.losses is not None
    found = mismatch(expected.losses, got.losses, rtol)
    if found is not None:
        return f"losses {found}"
    found = mismatch([expected.parameters], [got.parameters], rtol)
    return None if found is None else f"parameters {found}"


def schedule_steps(function: str, options: Mapping[str, Any]) -> range:
    """Steps 0..80; one_cycle_lr is defined only up to total_steps (torch raises past it)."""
    if function == "one_cycle_lr":
        return range(min(SCHEDULE_STEPS.stop, options["total_steps"] + 1))
    return SCHEDULE_STEPS


# (1) Every known bug has its mutation, and nothing else does.


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutations_cover_exactly_the_known_bugs_of_the_assignment(name: str) -> None:
    bug_ids = {bug.id for bug in BUGS if ASSIGNMENT_OF[bug.function] == name}
    assert bug_ids, f"no known bug of {name}"
    assert set(MUTATIONS[name]) == bug_ids


# (2) Each mutation, applied to the solution, is its bug.


def mutated(bug: KnownBug, tmp_path: Path) -> tuple[ModuleType, str]:
    """The solution module with the bug's mutation applied, imported from a file; its source."""
    name = ASSIGNMENT_OF[bug.function]
    source = student_module(
        ROOT / "solutions" / f"{name}.py", {bug.function: MUTATIONS[name][bug.id]}
    )
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return load(path, f"mutant_{bug.function}_{bug.name}"), source


def assert_only_its_function_changed(bug: KnownBug, source: str) -> None:
    original = ast.parse((ROOT / "solutions" / f"{ASSIGNMENT_OF[bug.function]}.py").read_text())
    changed = ast.parse(source)
    assert len(original.body) == len(changed.body)
    for before, after in zip(original.body, changed.body, strict=True):
        own = isinstance(before, ast.FunctionDef) and before.name == bug.function
        same = ast.dump(before) == ast.dump(after)
        assert same != own, f"{getattr(before, 'name', 'a statement')} {'un' * own}changed"


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_mutation_reproduces_its_bug(bug: KnownBug, tmp_path: Path) -> None:
    module, source = mutated(bug, tmp_path)
    assert_only_its_function_changed(bug, source)
    student = getattr(module, bug.function)
    correct = reference.FUNCTIONS[bug.function]
    departs = False
    if KIND[bug.function] == "optimizer":
        options = {"lr": LR, **bug.exposed_with}
        for name in PROBLEMS:
            expected = run(bug.run, name, options)
            found = run_mismatch(expected, run(student, name, options), RTOL, same_keys=True)
            assert found is None, f"{bug.id} on {name}: {found}"
            right = run(correct, name, options)
            departs = departs or run_mismatch(right, expected, DEPARTURE, False) is not None
    elif KIND[bug.function] == "schedule":
        steps = SCHEDULE_STEPS
        expected = [bug.run(step, **bug.exposed_with) for step in steps]
        found = mismatch(expected, [student(step, **bug.exposed_with) for step in steps], RTOL)
        assert found is None, f"{bug.id}: {found}"
        within = schedule_steps(bug.function, bug.exposed_with)
        right = [correct(step, **bug.exposed_with) for step in within]
        departs = mismatch(right, expected[: len(within)], DEPARTURE) is not None
    elif KIND[bug.function] == "training":
        for request in TRAINING_CASES:
            expected = run_in_process(bug.run, request)
            found = training_mismatch(expected, run_in_process(student, request), RTOL)
            assert found is None, f"{bug.id} on {request}: {found}"
            right = run_in_process(correct, request)
            departs = departs or training_mismatch(right, expected, DEPARTURE) is not None
    else:
        for n, size, seed in BATCH_CASES:
            expected = batches(bug.run, n, size, seed)
            found = batches_mismatch(expected, batches(student, n, size, seed))
            assert found is None, f"{bug.id} with n={n}, batch_size={size}: {found}"
            departs = (
                departs or batches_mismatch(batches(correct, n, size, seed), expected) is not None
            )
    assert departs, f"{bug.id}: the bug does not show on these cases, so the check is empty"


# (3) Each re-ordered module agrees with the reference.

REORDERED = [
    (name, variant, f.name)
    for name, functions in FUNCTIONS.items()
    for variant in range(3)
    for f in functions
]


@functools.cache
def reordered(name: str, variant: int) -> ModuleType:
    return load(correct_modules(name)[variant], f"{name}_correct_{variant}")


@pytest.mark.parametrize(
    ("name", "variant", "function"),
    REORDERED,
    ids=[f"{name}/{variant}/{function}" for name, variant, function in REORDERED],
)
def test_reordered_module_agrees_with_the_reference(name: str, variant: int, function: str) -> None:
    student = getattr(reordered(name, variant), function)
    correct = reference.FUNCTIONS[function]
    if KIND[function] == "optimizer":
        for options in OPTIMIZER_OPTIONS[function]:
            for problem_name in PROBLEMS:
                for dtype, rtol in ((torch.float64, RTOL), (torch.float32, RTOL_FLOAT32)):
                    expected = run(correct, problem_name, options, dtype=dtype)
                    got = run(untouched_inputs(student), problem_name, options, dtype=dtype)
                    found = run_mismatch(expected, got, rtol, same_keys=False)
                    assert found is None, f"{problem_name}, {options}, {dtype}: {found}"
    elif KIND[function] == "schedule":
        for options in SCHEDULE_OPTIONS[function]:
            steps = schedule_steps(function, options)
            values = [student(step, **options) for step in steps]
            assert all(type(value) is float for value in values), "a schedule returns a float"
            found = mismatch([correct(step, **options) for step in steps], values, RTOL)
            assert found is None, f"{options}: {found}"
    elif KIND[function] == "training":
        for request in TRAINING_CASES:
            expected = run_in_process(correct, request)
            found = training_mismatch(expected, run_in_process(student, request), RTOL)
            assert found is None, f"{request}: {found}"
    else:
        for n, size, seed in (*BATCH_CASES, (0, 3, 6)):
            found = batches_mismatch(
                batches(correct, n, size, seed), batches(student, n, size, seed)
            )
            assert found is None, f"n={n}, batch_size={size}, seed={seed}: {found}"


def test_reordered_modules_are_not_copies_of_the_solution() -> None:
    for name, functions in FUNCTIONS.items():
        solution = ast.parse((ROOT / "solutions" / f"{name}.py").read_text())
        bodies = {
            node.name: ast.dump(ast.Module(body=node.body[1:], type_ignores=[]))
            for node in solution.body
            if isinstance(node, ast.FunctionDef)
        }
        for variant in correct_modules(name):
            module = ast.parse(variant.read_text())
            for node in module.body:
                if isinstance(node, ast.FunctionDef) and node.name in bodies:
                    own = ast.dump(ast.Module(body=node.body[1:], type_ignores=[]))
                    assert own != bodies[node.name], f"{variant}: {node.name} is the solution's"
        assert {f.name for f in functions} <= set(bodies)


def switch_test_margins(options: Mapping[str, Any], problem_name: str) -> list[float]:
    """|(|λ̂_k − γ_k| − eps)| / eps at each switch test of the reference run (k > 1, before the
    switch), with γ_k recomputed from the step p_k = x_k − x_{k−1} and the gradient."""
    path = run(reference.FUNCTIONS["swats"], problem_name, options)
    beta2 = options.get("betas", (0.9, 0.999))[1]
    eps = options.get("eps", 1e-9)
    margins = []
    for k in range(2, len(path.points)):
        if path.states[k - 2]["sgd_phase"]:
            break
        x = path.points[k - 1]
        g = problem(problem_name).grad(x, k - 1) * (-1.0 if options.get("maximize") else 1.0)
        g = g + options.get("weight_decay", 0.0) * x
        p = path.points[k] - x
        if (p * g).sum() != 0:
            gamma = (p * p).sum() / -(p * g).sum()
            lam_hat = path.states[k - 1]["exp_avg_lambda"] / (1 - beta2**k)
            margins.append(abs(abs(lam_hat - gamma).item() - eps) / eps)
    return margins


def test_swats_settings_stay_clear_of_the_switch_threshold() -> None:
    """Re-ordered arithmetic moves λ̂ − γ by about 1e-15 relative: with every switch test of
    the settings at least 0.1% of eps away from the threshold, it cannot move the switch."""
    switched = 0
    for options in OPTIMIZER_OPTIONS["swats"]:
        for problem_name in PROBLEMS:
            margins = switch_test_margins(options, problem_name)
            assert min(margins, default=1.0) > 1e-3, f"{problem_name}, {options}: {margins}"
            path = run(reference.FUNCTIONS["swats"], problem_name, options)
            switched += bool(path.states[-1]["sgd_phase"])
    assert switched >= 5, "too few runs reach the SGD phase to test it"
