"""rmsprop (plain, momentum, centered) against torch.optim.RMSprop, and its known bugs."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from reference.known_bug import KnownBug
from reference.rmsprop import BUGS, rmsprop
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
            alpha=[0.99, 0.9],
            eps=[1e-8, 1e-3],
            weight_decay=[0.0, 0.1],
            momentum=[0.0, 0.5],
            centered=[False, True],
            maximize=[False, True],
        )
    ),
)
@proves("rmsprop", "torch.optim.RMSprop")
def test_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(rmsprop, torch.optim.RMSprop, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(lr=[1e-3, 0.1], momentum=[0.0, 0.5], centered=[False, True])),
)
def test_matches_torch_at_other_learning_rates(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    assert_matches_torch(rmsprop, torch.optim.RMSprop, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(eps=[1e-8, 1e-10], momentum=[0.0, 0.9], centered=[False, True])),
)
def test_matches_torch_on_tiny_gradients(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    """Gradients of ~1e-8 make √v comparable with eps: only eps outside the root agrees."""
    assert_matches_torch(
        rmsprop,
        torch.optim.RMSprop,
        options,
        shape=shape,
        seed=seed,
        gradient=tiny_gradient(shape, seed),
    )


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(momentum=[0.0, 0.9], centered=[False, True])),
)
def test_learning_rate_change_mid_run_matches_torch(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    assert_matches_torch(
        rmsprop,
        torch.optim.RMSprop,
        options,
        shape=shape,
        seed=seed,
        lr_at=lambda step: 1e-2 if step < 40 else 1e-3,
    )


def test_first_steps_have_no_bias_correction() -> None:
    """g ≡ 1, γ = 0.01: v_1 = 0.01 so the step is −γ/(0.1 + ε) ≈ −10γ; v_2 = 0.0199."""
    first, second = -0.01 / (0.1 + 1e-8), -0.01 / (math.sqrt(0.0199) + 1e-8)
    path = constant_gradient_path(rmsprop, [0.01] * 2)
    assert path == pytest.approx([first, first + second], rel=1e-13)


def test_centered_first_step_subtracts_the_squared_mean() -> None:
    """v_1 = 0.01, ḡ_1 = 0.01: the step is −0.01/(√(0.01 − 0.0001) + ε) ≈ −0.1005."""
    expected = -0.01 / (math.sqrt(0.01 - 0.0001) + 1e-8)
    path = constant_gradient_path(rmsprop, [0.01], centered=True)
    assert path == pytest.approx([expected], rel=1e-13)


def test_momentum_buffer_starts_at_zero() -> None:
    """b_1 = 0.9·0 + g/a_1, so the first step equals plain RMSprop's; b_2 = 0.9 b_1 + g/a_2."""
    a1, a2 = 0.1 + 1e-8, math.sqrt(0.0199) + 1e-8
    b1, b2 = 1 / a1, 0.9 / a1 + 1 / a2
    expected = [-0.01 * b1, -0.01 * (b1 + b2)]
    path = constant_gradient_path(rmsprop, [0.01] * 2, momentum=0.9)
    assert path == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(
    "options",
    [{}, {"momentum": 0.5}, {"centered": True}, {"momentum": 0.5, "centered": True}],
    ids=["plain", "momentum", "centered", "momentum-centered"],
)
def test_keeps_exactly_torchs_state_names(options: dict[str, Any]) -> None:
    assert_same_state_names(rmsprop, torch.optim.RMSprop, options)


@pytest.mark.parametrize(
    "options",
    [{"lr": -1.0}, {"eps": -1e-8}, {"momentum": -0.5}, {"weight_decay": -0.1}, {"alpha": -0.1}],
    ids=options_id,
)
def test_rejects_what_torch_rejects_with_its_message(options: dict[str, Any]) -> None:
    assert_rejects_like_torch(rmsprop, torch.optim.RMSprop, options)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_keeps_float32_and_the_device(device: str, shape: tuple[int, ...]) -> None:
    options = {"momentum": 0.5, "centered": True, "weight_decay": 0.1}
    assert_keeps_dtype_and_device(rmsprop, options, device=device, shape=shape)


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_torch_oracle_rejects_every_bug(bug: KnownBug) -> None:
    assert_torch_rejects(bug, torch.optim.RMSprop)


def test_bias_correction_shrinks_the_first_step_tenfold() -> None:
    """v̂_1 = v_1/(1 − α) = g², so the buggy first step is −γ g/(|g| + ε) instead of ≈ −10γ."""
    bug = next(bug for bug in BUGS if bug.name == "bias_correction")
    x, g = torch.zeros((), dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64)
    assert bug.run(x, g, {}).item() == pytest.approx(-0.01 * 2 / (2 + 1e-8), rel=1e-12)
