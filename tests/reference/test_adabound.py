"""reference.adabound against a transcription of the authors' formulas, and its invariants.

torch has no AdaBound, so the oracle here is `by_hand`: the authors' `AdaBound.step`
(Luolc/AdaBound, adabound/adabound.py) written out coordinate by coordinate in Python floats.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch
from torch import Tensor

from reference.adabound import adabound
from tests.reference.helpers import (
    SEEDS,
    assert_keeps_dtype_and_device,
    grid,
    options_id,
    seed_id,
    shape_id,
)
from tests.reference.torch_oracle import SHAPES

FloatGradient = Callable[[list[float], int], list[float]]


def by_hand(
    start: Sequence[float],
    gradient: FloatGradient,
    lrs: Sequence[float],
    *,
    betas: tuple[float, float] = (0.9, 0.999),
    final_lr: float = 0.1,
    gamma: float = 1e-3,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsbound: bool = False,
    maximize: bool = False,
) -> list[list[float]]:
    """The points after each step, one step per entry of `lrs` (the first lr is the base lr)."""
    beta1, beta2 = betas
    x, n = list(start), len(start)
    m, v, v_max = [0.0] * n, [0.0] * n, [0.0] * n
    path = []
    for t, lr in enumerate(lrs, start=1):
        g = gradient(x, t - 1)
        final = final_lr * lr / lrs[0]
        lower = final * (1 - 1 / (gamma * t + 1))
        upper = final * (1 + 1 / (gamma * t)) if gamma > 0 else math.inf
        alpha = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        for i in range(n):
            g_i = (-g[i] if maximize else g[i]) + weight_decay * x[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g_i
            v[i] = beta2 * v[i] + (1 - beta2) * g_i * g_i
            v_max[i] = max(v_max[i], v[i])
            step_size = alpha / (math.sqrt(v_max[i] if amsbound else v[i]) + eps)
            x[i] -= min(max(step_size, lower), upper) * m[i]
        path.append(list(x))
    return path


def run_reference(
    start: Sequence[float], gradient: FloatGradient, lrs: Sequence[float], **options: Any
) -> tuple[list[Tensor], list[dict[str, Any]]]:
    """The reference's points and a snapshot of its state after each step."""
    x, state = torch.tensor(start, dtype=torch.float64), dict[str, Any]()
    points, states = [], []
    for step, lr in enumerate(lrs):
        g = torch.tensor(gradient(x.tolist(), step), dtype=torch.float64)
        x = adabound(x, g, state, lr=lr, **options)
        points.append(x)
        states.append(dict(state))
    return points, states


def noisy_quadratic(n: int, seed: int) -> FloatGradient:
    """A seeded noisy quadratic whose coordinates are scaled 1e-6..1e2, so both bounds bind."""
    rng = random.Random(seed)
    curvature = [rng.uniform(0.05, 3.0) for _ in range(n)]
    centre = [rng.gauss(0.0, 1.0) for _ in range(n)]
    scale = [10 ** rng.uniform(-6.0, 2.0) for _ in range(n)]

    def gradient(x: list[float], step: int) -> list[float]:
        noise = random.Random(seed * 100_003 + step)
        return [
            s * (c * (xi - o) + 0.3 * noise.gauss(0.0, 1.0))
            for s, c, o, xi in zip(scale, curvature, centre, x, strict=True)
        ]

    return gradient


def assert_path_close(points: Sequence[Tensor], expected: Sequence[Sequence[float]]) -> None:
    for step, (got, want) in enumerate(zip(points, expected, strict=True), start=1):
        torch.testing.assert_close(
            got,
            torch.tensor(want, dtype=torch.float64),
            rtol=1e-11,
            atol=1e-13,
            msg=f"the points after step {step} differ",
        )


# --- the first three steps, by hand ---------------------------------------------------------

THREE_GRADIENTS = ([1e-5, 500.0], [1e-5, 1.0], [2.0, -3.0])
THREE_STEPS: dict[str, Any] = {"final_lr": 0.1, "gamma": 0.1}


def three_gradients(x: list[float], step: int) -> list[float]:
    return THREE_GRADIENTS[step]


def test_first_step_clips_at_both_bounds() -> None:
    """t = 1, lr 0.01: the step sizes are 7.6e4 and 2e-4, outside [0.1·(1 - 1/1.1), 0.1·11]."""
    points, _ = run_reference([1.0, -1.0], three_gradients, [0.01], **THREE_STEPS)
    m = [0.1 * 1e-5, 0.1 * 500.0]
    expected = [1.0 - 0.1 * (1 + 1 / 0.1) * m[0], -1.0 - 0.1 * (1 - 1 / 1.1) * m[1]]
    torch.testing.assert_close(
        points[0], torch.tensor(expected, dtype=torch.float64), rtol=1e-14, atol=0.0
    )


def test_first_three_steps_by_hand() -> None:
    lrs = [0.01, 0.01, 0.01]
    points, _ = run_reference([1.0, -1.0], three_gradients, lrs, **THREE_STEPS)
    assert_path_close(points, by_hand([1.0, -1.0], three_gradients, lrs, **THREE_STEPS))


# --- every option, 100 steps, against the transcription --------------------------------------

GRID = grid(weight_decay=(0.0, 0.1), amsbound=(False, True), maximize=(False, True))
UNUSUAL = [
    {"betas": (0.5, 0.9)},
    {"betas": (0.0, 0.0)},
    {"eps": 1e-3},
    {"eps": 0.0},
    {"final_lr": 0.0},
    {"final_lr": 0.02, "gamma": 0.3},
    {"gamma": 0.0},
    {"betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.05, "gamma": 0.05, "amsbound": True},
]
CONSTANT = [1e-3] * 100
DROPPED = [0.05] * 50 + [0.01] * 50


@pytest.mark.parametrize("seed", SEEDS, ids=seed_id)
@pytest.mark.parametrize("lrs", [CONSTANT, DROPPED], ids=["constant_lr", "lr_drop"])
@pytest.mark.parametrize("options", GRID, ids=options_id)
def test_matches_the_authors_formulas(options: dict[str, Any], lrs: list[float], seed: int) -> None:
    gradient = noisy_quadratic(7, seed)
    start = [3.0 * random.Random(seed).gauss(0.0, 1.0) for _ in range(7)]
    points, _ = run_reference(start, gradient, lrs, **options)
    assert_path_close(points, by_hand(start, gradient, lrs, **options))


@pytest.mark.parametrize("options", UNUSUAL, ids=options_id)
def test_matches_the_authors_formulas_with_unusual_hyperparameters(
    options: dict[str, Any],
) -> None:
    gradient = noisy_quadratic(5, 2)
    points, _ = run_reference([1.0, -2.0, 0.5, 3.0, 0.0], gradient, DROPPED, **options)
    assert_path_close(points, by_hand([1.0, -2.0, 0.5, 3.0, 0.0], gradient, DROPPED, **options))


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_any_shape_is_handled_coordinatewise(shape: tuple[int, ...]) -> None:
    """A shaped run equals the flat by-hand run of its coordinates."""
    n = math.prod(shape)
    gradient = noisy_quadratic(n, 3)
    x, state = torch.linspace(-1.0, 2.0, n, dtype=torch.float64).reshape(shape), dict[str, Any]()
    expected = by_hand(x.flatten().tolist(), gradient, CONSTANT, gamma=0.05)
    for step, want in enumerate(expected):
        g = torch.tensor(gradient(x.flatten().tolist(), step), dtype=torch.float64).reshape(shape)
        x = adabound(x, g, state, gamma=0.05)
        assert x.shape == shape
        torch.testing.assert_close(
            x.flatten(), torch.tensor(want, dtype=torch.float64), rtol=1e-11, atol=1e-13
        )


# --- invariants ------------------------------------------------------------------------------


def effective_step_sizes(
    points: Sequence[Tensor], states: Sequence[dict[str, Any]], start: Sequence[float]
) -> list[tuple[Tensor, Tensor]]:
    """Per step, η = (x_{t-1} - x_t)/m_t per coordinate (no weight decay) and its rounding
    error, which grows where the step is tiny beside x."""
    previous = [torch.tensor(start, dtype=torch.float64), *points[:-1]]
    return [
        (
            (before - after) / state["exp_avg"],
            4e-16 * (before.abs() + after.abs()) / state["exp_avg"].abs(),
        )
        for before, after, state in zip(previous, points, states, strict=True)
    ]


def bounds(final_lr: float, gamma: float, t: int) -> tuple[float, float]:
    return final_lr * (1 - 1 / (gamma * t + 1)), final_lr * (1 + 1 / (gamma * t))


def assert_within(eta: Tensor, error: Tensor, lower: float, upper: float, t: int) -> None:
    slack = error + 1e-12 * upper
    assert (eta >= lower - slack).all() and (eta <= upper + slack).all(), (t, eta, lower, upper)


def test_step_size_stays_within_the_bounds_and_both_bind() -> None:
    start, gamma = [0.5] * 7, 0.01
    points, states = run_reference(start, noisy_quadratic(7, 4), [1e-3] * 300, gamma=gamma)
    at_lower = at_upper = 0
    for t, (eta, error) in enumerate(effective_step_sizes(points, states, start), start=1):
        lower, upper = bounds(0.1, gamma, t)
        assert_within(eta, error, lower, upper, t)
        at_lower += int(((eta - lower).abs() <= error + 1e-12).sum())
        at_upper += int(((eta - upper).abs() <= error + 1e-12).sum())
    assert at_lower > 0 and at_upper > 0, "the run never tests one of the bounds"


def test_late_steps_are_sgd_with_final_lr_on_exp_avg() -> None:
    """Both bounds close on final_lr, the clip binds, and the step is x - final_lr·m."""
    start, gamma, steps = [0.5] * 7, 0.5, 400
    points, states = run_reference(start, noisy_quadratic(7, 5), [1e-3] * steps, gamma=gamma)
    lower, upper = bounds(0.1, gamma, steps)
    assert 0.1 - lower < 0.001 and upper - 0.1 < 0.001
    m, v = states[-1]["exp_avg"], states[-1]["exp_avg_sq"]
    unclipped = 1e-3 * math.sqrt(1 - 0.999**steps) / (1 - 0.9**steps) / (v.sqrt() + 1e-8)
    assert ((unclipped < lower) | (unclipped > upper)).all(), "the clip does not bind"
    distance_to_sgd = (points[-1] - (points[-2] - 0.1 * m)).abs()
    assert (distance_to_sgd <= (upper - 0.1) * m.abs() * (1 + 1e-6) + 1e-15).all()


def test_amsbound_keeps_the_running_maximum_of_exp_avg_sq() -> None:
    def spike(x: list[float], step: int) -> list[float]:
        return [(100.0 if step < 3 else 0.1) * xi for xi in x]

    _, states = run_reference([1.0, -2.0, 0.5], spike, [1e-3] * 50, betas=(0.9, 0.9), amsbound=True)
    running = torch.zeros(3, dtype=torch.float64)
    for state in states:
        running = torch.maximum(running, state["exp_avg_sq"])
        assert torch.equal(state["max_exp_avg_sq"], running)
    assert (states[-1]["max_exp_avg_sq"] > 10 * states[-1]["exp_avg_sq"]).all()


def test_a_learning_rate_change_moves_both_bounds() -> None:
    """After lr goes from 1e-3 to 5e-4 the bounds close on final_lr·5e-4/1e-3 = 0.05."""
    start, gamma = [0.5] * 7, 0.5
    lrs = [1e-3] * 200 + [5e-4] * 200
    points, states = run_reference(start, noisy_quadratic(7, 6), lrs, gamma=gamma)
    assert all(state["base_lr"] == 1e-3 for state in states)
    for t, (eta, error) in enumerate(effective_step_sizes(points, states, start), start=1):
        lower, upper = bounds(0.1 * lrs[t - 1] / 1e-3, gamma, t)
        assert_within(eta, error, lower, upper, t)
    # at t = 400 both bounds lie within 0.5% of 0.05, so every step size does too
    torch.testing.assert_close(eta, torch.full_like(eta, 0.05), rtol=0.0051, atol=0.0)


# --- validation, dtype, device ---------------------------------------------------------------

BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"lr": -1e-3}, "Invalid learning rate: -0.001"),
    ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ({"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ({"betas": (0.9, -0.5)}, "Invalid beta parameter at index 1: -0.5"),
    ({"final_lr": -0.1}, "Invalid final learning rate: -0.1"),
    ({"gamma": 1.0}, "Invalid gamma parameter: 1.0"),
    ({"gamma": -1e-3}, "Invalid gamma parameter: -0.001"),
    ({"lr": -1.0, "gamma": 2.0}, "Invalid learning rate: -1.0"),
]


@pytest.mark.parametrize(
    ("options", "message"), BAD_OPTIONS, ids=[options_id(options) for options, _ in BAD_OPTIONS]
)
def test_rejects_what_the_authors_constructor_rejects(
    options: dict[str, Any], message: str
) -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        adabound(torch.ones(2), torch.ones(2), state, **options)
    assert state == {}


@pytest.mark.parametrize(
    ("dtype", "device"), [(torch.float32, "cpu"), (torch.float64, "meta")], ids=["float32", "meta"]
)
@pytest.mark.parametrize("amsbound", [False, True], ids=["adabound", "amsbound"])
def test_keeps_dtype_and_device(dtype: torch.dtype, device: str, amsbound: bool) -> None:
    options = {"amsbound": amsbound, "weight_decay": 0.1, "maximize": True}
    assert_keeps_dtype_and_device(adabound, options, dtype=dtype, device=device)
