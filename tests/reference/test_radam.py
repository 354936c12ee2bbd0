"""reference.radam against torch.optim.RAdam, option by option."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from reference.radam import radam
from tests.reference.helpers import (
    SEEDS,
    assert_keeps_dtype_and_device,
    assert_rejects_like_torch,
    grid,
    options_id,
    seed_id,
    shape_id,
)
from tests.reference.torch_oracle import SHAPES, assert_matches_torch, proves, tiny_gradient

GRID = grid(weight_decay=(0.0, 0.1), decoupled_weight_decay=(False, True), maximize=(False, True))
UNUSUAL = [
    {"betas": (0.5, 0.9)},
    {"betas": (0.0, 0.0)},
    {"betas": (0.9, 0.6)},
    {"betas": (0.99, 0.9999)},
    {"eps": 1e-3},
    {"eps": 0.0},
    {"lr": 0.0},
    {"lr": 0.3, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.05, "maximize": True},
]


@pytest.mark.parametrize("seed", SEEDS, ids=seed_id)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", GRID, ids=options_id)
@proves("radam", "torch.optim.RAdam")
def test_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(radam, torch.optim.RAdam, {"lr": 0.05, **options}, shape=shape, seed=seed)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_matches_torch_with_defaults(shape: tuple[int, ...]) -> None:
    assert_matches_torch(radam, torch.optim.RAdam, {}, shape=shape, seed=2)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", UNUSUAL, ids=options_id)
def test_matches_torch_with_unusual_hyperparameters(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(radam, torch.optim.RAdam, options, shape=shape, seed=3)


@pytest.mark.parametrize("steps", [5, 6, 7, 8], ids=lambda steps: f"{steps}_steps")
def test_rectification_starts_where_torchs_does(steps: int) -> None:
    """Steps 1-5 are un-rectified with β2 = 0.999 (ρ_5 ≈ 4.996); step 6 is the first rectified."""
    assert_matches_torch(radam, torch.optim.RAdam, {"lr": 0.1}, shape=(7,), seed=4, steps=steps)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", grid(decoupled_weight_decay=(False, True)), ids=options_id)
def test_places_eps_as_torch_on_tiny_gradients(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(
        radam,
        torch.optim.RAdam,
        {"lr": 1.0, "weight_decay": 1e-9, **options},
        shape=shape,
        seed=5,
        gradient=tiny_gradient(shape, 5),
    )


@pytest.mark.parametrize("options", grid(decoupled_weight_decay=(False, True)), ids=options_id)
def test_follows_a_learning_rate_change(options: dict[str, Any]) -> None:
    assert_matches_torch(
        radam,
        torch.optim.RAdam,
        {"weight_decay": 0.2, **options},
        shape=(7,),
        seed=6,
        lr_at=lambda step: 0.1 if step < 50 else 0.01,
    )


def test_early_steps_are_plain_bias_corrected_momentum() -> None:
    """By hand: with a constant gradient g, m̂ = g for every t, so steps 1-5 move by exactly γ·g."""
    x = torch.tensor([0.0, 0.0], dtype=torch.float64)
    g = torch.tensor([2.0, -0.5], dtype=torch.float64)
    state: dict[str, Any] = {}
    for step in range(1, 6):
        x = radam(x, g, state, lr=0.1)
        torch.testing.assert_close(x, -0.1 * step * g, rtol=1e-12, atol=0.0)


BAD_OPTIONS = [
    {"lr": -1e-3},
    {"eps": -1e-8},
    {"betas": (1.0, 0.999)},
    {"betas": (0.9, 1.0)},
    {"betas": (-0.1, 0.999)},
    {"weight_decay": -0.1},
    {"lr": -1.0, "eps": -1.0},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=options_id)
def test_rejects_what_torch_rejects(options: dict[str, Any]) -> None:
    assert_rejects_like_torch(radam, torch.optim.RAdam, options)


@pytest.mark.parametrize(
    ("dtype", "device"), [(torch.float32, "cpu"), (torch.float64, "meta")], ids=["float32", "meta"]
)
@pytest.mark.parametrize("decoupled", [False, True], ids=["l2", "decoupled"])
def test_keeps_dtype_and_device(dtype: torch.dtype, device: str, decoupled: bool) -> None:
    """Eight steps, so that the rectified branch runs too."""
    options = {"weight_decay": 0.1, "decoupled_weight_decay": decoupled, "maximize": True}
    assert_keeps_dtype_and_device(radam, options, dtype=dtype, device=device, steps=8)
