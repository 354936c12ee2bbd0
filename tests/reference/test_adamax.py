"""reference.adamax against torch.optim.Adamax, option by option."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from reference.adamax import adamax
from tests.reference.helpers import (
    SEEDS,
    assert_keeps_dtype_and_device,
    assert_rejects_like_torch,
    grid,
    options_id,
    seed_id,
    shape_id,
)
from tests.reference.torch_oracle import (
    SHAPES,
    assert_matches_torch,
    proves,
    spike_gradient,
    tiny_gradient,
)

GRID = grid(weight_decay=(0.0, 0.1), maximize=(False, True))
UNUSUAL = [
    {"betas": (0.5, 0.9)},
    {"betas": (0.0, 0.0)},
    {"betas": (0.99, 0.9999)},
    {"eps": 1e-2},
    {"eps": 0.0},
    {"lr": 0.0},
    {"lr": 0.3, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.05, "maximize": True},
]


@pytest.mark.parametrize("seed", SEEDS, ids=seed_id)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", GRID, ids=options_id)
@proves("adamax", "torch.optim.Adamax")
def test_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(
        adamax, torch.optim.Adamax, {"lr": 0.05, **options}, shape=shape, seed=seed
    )


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_matches_torch_with_defaults(shape: tuple[int, ...]) -> None:
    assert_matches_torch(adamax, torch.optim.Adamax, {}, shape=shape, seed=2)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", UNUSUAL, ids=options_id)
def test_matches_torch_with_unusual_hyperparameters(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(adamax, torch.optim.Adamax, options, shape=shape, seed=3)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", GRID, ids=options_id)
def test_places_eps_as_torch_on_tiny_gradients(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(
        adamax,
        torch.optim.Adamax,
        {"lr": 1.0, **options},
        shape=shape,
        seed=4,
        gradient=tiny_gradient(shape, 4),
    )


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_infinity_norm_decays_after_a_spike(shape: tuple[int, ...]) -> None:
    assert_matches_torch(
        adamax,
        torch.optim.Adamax,
        {"lr": 0.1, "betas": (0.9, 0.9)},
        shape=shape,
        seed=5,
        gradient=spike_gradient(shape, 5),
    )


def test_follows_a_learning_rate_change() -> None:
    assert_matches_torch(
        adamax,
        torch.optim.Adamax,
        {"weight_decay": 0.2},
        shape=(7,),
        seed=6,
        lr_at=lambda step: 0.1 if step < 50 else 0.01,
    )


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
    assert_rejects_like_torch(adamax, torch.optim.Adamax, options)


@pytest.mark.parametrize(
    ("dtype", "device"), [(torch.float32, "cpu"), (torch.float64, "meta")], ids=["float32", "meta"]
)
def test_keeps_dtype_and_device(dtype: torch.dtype, device: str) -> None:
    assert_keeps_dtype_and_device(
        adamax, {"weight_decay": 0.1, "maximize": True}, dtype=dtype, device=device
    )
