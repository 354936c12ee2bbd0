"""reference.adam against torch.optim.Adam / AdamW, option by option, and its known bugs."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from reference.adam import BUGS, adam, adamw
from tests.reference.helpers import (
    SEEDS,
    Optimizer,
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

# --- exactness against torch.optim.Adam ---------------------------------------------------

ADAM_GRID = grid(
    weight_decay=(0.0, 0.1),
    maximize=(False, True),
    amsgrad=(False, True),
    decoupled_weight_decay=(False, True),
)
UNUSUAL = [
    {"betas": (0.5, 0.9)},
    {"betas": (0.0, 0.0)},
    {"betas": (0.99, 0.9999)},
    {"eps": 1e-3},
    {"eps": 0.0},
    {"lr": 0.5},
    {"lr": 0.0},
    {"lr": 0.3, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.05, "amsgrad": True},
]
PROBING = grid(amsgrad=(False, True), decoupled_weight_decay=(False, True))


@pytest.mark.parametrize("seed", SEEDS, ids=seed_id)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", ADAM_GRID, ids=options_id)
@proves("adam", "torch.optim.Adam")
def test_adam_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(adam, torch.optim.Adam, {"lr": 0.05, **options}, shape=shape, seed=seed)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", UNUSUAL, ids=options_id)
def test_adam_matches_torch_with_unusual_hyperparameters(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(adam, torch.optim.Adam, options, shape=shape, seed=2)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", PROBING, ids=options_id)
def test_adam_places_eps_as_torch_on_tiny_gradients(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    hyperparameters = {"lr": 1.0, "weight_decay": 1e-9, **options}
    assert_matches_torch(
        adam,
        torch.optim.Adam,
        hyperparameters,
        shape=shape,
        seed=3,
        gradient=tiny_gradient(shape, 3),
    )


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_amsgrad_keeps_the_maximum_after_a_spike(shape: tuple[int, ...]) -> None:
    assert_matches_torch(
        adam,
        torch.optim.Adam,
        {"lr": 0.1, "amsgrad": True},
        shape=shape,
        seed=4,
        gradient=spike_gradient(shape, 4),
    )


@pytest.mark.parametrize("options", PROBING, ids=options_id)
def test_adam_follows_a_learning_rate_change(options: dict[str, Any]) -> None:
    assert_matches_torch(
        adam,
        torch.optim.Adam,
        {"weight_decay": 0.2, **options},
        shape=(7,),
        seed=5,
        lr_at=lambda step: 0.1 if step < 50 else 0.01,
    )


# --- exactness against torch.optim.AdamW --------------------------------------------------

ADAMW_GRID = grid(weight_decay=(0.0, 1e-2, 0.3), maximize=(False, True), amsgrad=(False, True))


@pytest.mark.parametrize("seed", SEEDS, ids=seed_id)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", ADAMW_GRID, ids=options_id)
@proves("adamw", "torch.optim.AdamW")
def test_adamw_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(adamw, torch.optim.AdamW, {"lr": 0.05, **options}, shape=shape, seed=seed)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_adamw_with_defaults_matches_torch(shape: tuple[int, ...]) -> None:
    assert_matches_torch(adamw, torch.optim.AdamW, {}, shape=shape, seed=6)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", UNUSUAL, ids=options_id)
def test_adamw_matches_torch_with_unusual_hyperparameters(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(adamw, torch.optim.AdamW, options, shape=shape, seed=7)


@pytest.mark.parametrize("amsgrad", [False, True], ids=["adamw", "amsgrad"])
def test_adamw_on_tiny_gradients_and_a_learning_rate_change(amsgrad: bool) -> None:
    assert_matches_torch(
        adamw,
        torch.optim.AdamW,
        {"lr": 1.0, "amsgrad": amsgrad},
        shape=(3, 4),
        seed=8,
        gradient=tiny_gradient((3, 4), 8),
        lr_at=lambda step: 1.0 if step < 50 else 0.1,
    )


def test_adamw_is_adam_with_decoupled_weight_decay() -> None:
    """Shared implementation: AdamW's defaults are Adam's, except λ = 1e-2 and decoupling."""
    x, g = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([0.3, 0.1])
    by_adamw = adamw(x, g.double(), {})
    by_adam = adam(x, g.double(), {}, weight_decay=1e-2, decoupled_weight_decay=True)
    assert torch.equal(by_adamw, by_adam)


# --- validation, dtype, device ------------------------------------------------------------

BAD_OPTIONS = [
    {"lr": -1e-3},
    {"eps": -1e-8},
    {"betas": (1.0, 0.999)},
    {"betas": (0.9, 1.0)},
    {"betas": (-0.1, 0.999)},
    {"weight_decay": -0.1},
    {"betas": (0, 0.999)},
    {"lr": -1.0, "eps": -1.0},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=options_id)
@pytest.mark.parametrize(
    ("function", "optimizer"),
    [(adam, torch.optim.Adam), (adamw, torch.optim.AdamW)],
    ids=["adam", "adamw"],
)
def test_rejects_what_torch_rejects(
    function: Optimizer, optimizer: type[torch.optim.Optimizer], options: dict[str, Any]
) -> None:
    assert_rejects_like_torch(function, optimizer, options)


DTYPE_OPTIONS = [
    (adam, {"amsgrad": True, "weight_decay": 0.1}),
    (adam, {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    (adamw, {"amsgrad": True, "maximize": True}),
]


@pytest.mark.parametrize(
    ("dtype", "device"), [(torch.float32, "cpu"), (torch.float64, "meta")], ids=["float32", "meta"]
)
@pytest.mark.parametrize(
    ("function", "options"),
    DTYPE_OPTIONS,
    ids=lambda value: getattr(value, "__name__", None) or options_id(value),
)
def test_keeps_dtype_and_device(
    function: Optimizer, options: dict[str, Any], dtype: torch.dtype, device: str
) -> None:
    assert_keeps_dtype_and_device(function, options, dtype=dtype, device=device)


def test_float32_follows_torch_closely() -> None:
    x = torch.tensor([1.5, -0.5, 2.0], dtype=torch.float32)
    parameter = torch.nn.Parameter(x.clone())
    optimizer = torch.optim.Adam([parameter], lr=0.1, amsgrad=True)
    state: dict[str, Any] = {}
    for _ in range(20):
        parameter.grad = 2 * parameter.detach()
        optimizer.step()
        x = adam(x, 2 * x, state, lr=0.1, amsgrad=True)
    torch.testing.assert_close(x, parameter.detach(), rtol=1e-5, atol=1e-6)


# --- known bugs ----------------------------------------------------------------------------


def test_keeps_at_least_sixteen_bugs() -> None:
    """Each shows on the suite and no two alike: tests/reference/test_known_bugs.py."""
    assert len(BUGS) >= 16
