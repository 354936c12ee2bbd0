"""adagrad against torch.optim.Adagrad, and its known bugs."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from reference.adagrad import BUGS, adagrad
from reference.known_bug import KnownBug
from tests.reference.helpers import (
    assert_keeps_dtype_and_device,
    assert_rejects_like_torch,
    assert_same_state_names,
    assert_torch_rejects,
    constant_gradient_path,
    grid,
    on_every_shape,
    options_id,
    shape_id,
)
from tests.reference.torch_oracle import SHAPES, assert_matches_torch, proves, tiny_gradient


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(
        grid(
            lr=[1e-2, 0.5],
            lr_decay=[0.0, 0.05],
            weight_decay=[0.0, 0.1],
            initial_accumulator_value=[0.0, 0.1],
            eps=[1e-10, 1e-3],
            maximize=[False, True],
        )
    ),
)
@proves("adagrad", "torch.optim.Adagrad")
def test_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(adagrad, torch.optim.Adagrad, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(
        grid(lr=[1e-2, 1.0], eps=[1e-10, 1e-8], lr_decay=[0.0, 0.05], maximize=[False, True])
    ),
)
def test_matches_torch_on_tiny_gradients(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    """Gradients of ~1e-8 make √s comparable with eps: only eps outside the root agrees."""
    assert_matches_torch(
        adagrad,
        torch.optim.Adagrad,
        options,
        shape=shape,
        seed=seed,
        gradient=tiny_gradient(shape, seed),
    )


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1])),
)
def test_learning_rate_change_mid_run_matches_torch(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    assert_matches_torch(
        adagrad,
        torch.optim.Adagrad,
        options,
        shape=shape,
        seed=seed,
        lr_at=lambda step: 0.5 if step < 40 else 0.05,
    )


def test_steps_shrink_like_one_over_root_t() -> None:
    """g ≡ 1: s_t = t, so the steps are −γ/(1 + ε), −γ/(√2 + ε), −γ/(√3 + ε), worked by hand."""
    steps = [-1 / (1 + 1e-10), -1 / (math.sqrt(2) + 1e-10), -1 / (math.sqrt(3) + 1e-10)]
    expected = [sum(steps[:1]), sum(steps[:2]), sum(steps)]
    assert constant_gradient_path(adagrad, [1.0] * 3) == pytest.approx(expected, rel=1e-14)


def test_lr_decay_leaves_the_first_step_undecayed() -> None:
    """γ_t = γ / (1 + (t − 1) η): γ_1 = 1, γ_2 = 1/2 with η = 1."""
    path = constant_gradient_path(adagrad, [1.0, 1.0], lr_decay=1.0, eps=0.0)
    assert path == pytest.approx([-1.0, -1.0 - 0.5 / math.sqrt(2)], rel=1e-14)


@pytest.mark.parametrize(
    "options",
    [{}, {"initial_accumulator_value": 0.1, "lr_decay": 0.1}],
    ids=["defaults", "accumulator-and-decay"],
)
def test_keeps_exactly_torchs_state_names(options: dict[str, Any]) -> None:
    assert_same_state_names(adagrad, torch.optim.Adagrad, options)


@pytest.mark.parametrize(
    "options",
    [
        {"lr": -1.0},
        {"lr_decay": -0.1},
        {"weight_decay": -0.1},
        {"initial_accumulator_value": -0.1},
        {"eps": -1e-10},
    ],
    ids=options_id,
)
def test_rejects_what_torch_rejects_with_its_message(options: dict[str, Any]) -> None:
    assert_rejects_like_torch(adagrad, torch.optim.Adagrad, options)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_keeps_float32_and_the_device(device: str, shape: tuple[int, ...]) -> None:
    options = {"lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1}
    assert_keeps_dtype_and_device(adagrad, options, device=device, shape=shape)


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_torch_oracle_rejects_every_bug(bug: KnownBug) -> None:
    assert_torch_rejects(bug, torch.optim.Adagrad)


def test_eps_inside_the_root_shows_on_tiny_gradients_only() -> None:
    """g ≡ 1e-8, γ = 1: torch steps 1e-8/(1e-8 + 1e-10) = 0.990; inside, 1e-8/√(1e-16 + 1e-10)."""
    bug = next(bug for bug in BUGS if bug.name == "eps_inside_root")
    x, g = torch.zeros((), dtype=torch.float64), torch.tensor(1e-8, dtype=torch.float64)
    assert adagrad(x, g, {}, lr=1.0).item() == pytest.approx(-1 / 1.01, rel=1e-12)
    assert bug.run(x, g, {}, lr=1.0).item() == pytest.approx(-1e-8 / math.sqrt(1e-16 + 1e-10))
