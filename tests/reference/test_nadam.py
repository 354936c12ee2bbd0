"""reference.nadam against torch.optim.NAdam, option by option.

torch keeps `mu_product` as a 0-d tensor of the default dtype; under float32 that product is
rounded to float32 every step (about 1e-10 relative in the parameters). The reference keeps it
as a Python float, so the comparisons run torch with float64 as the default dtype.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from reference.nadam import nadam
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


@pytest.fixture(autouse=True)
def float64_scalars_in_torch() -> Iterator[None]:
    """torch.optim.NAdam keeps mu_product in the default dtype: make that float64."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


GRID = grid(
    weight_decay=(0.0, 0.1),
    decoupled_weight_decay=(False, True),
    maximize=(False, True),
    momentum_decay=(4e-3, 0.2),
)
UNUSUAL = [
    {"betas": (0.5, 0.9)},
    {"betas": (0.0, 0.0)},
    {"betas": (0.99, 0.9999)},
    {"eps": 1e-3},
    {"eps": 0.0},
    {"lr": 0.0},
    {"momentum_decay": 0.0},
    {"lr": 0.3, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.05, "momentum_decay": 1.0},
]


@pytest.mark.parametrize("seed", SEEDS, ids=seed_id)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", GRID, ids=options_id)
@proves("nadam", "torch.optim.NAdam")
def test_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(nadam, torch.optim.NAdam, {"lr": 0.05, **options}, shape=shape, seed=seed)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_matches_torch_with_defaults(shape: tuple[int, ...]) -> None:
    assert_matches_torch(nadam, torch.optim.NAdam, {}, shape=shape, seed=2)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", UNUSUAL, ids=options_id)
def test_matches_torch_with_unusual_hyperparameters(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(nadam, torch.optim.NAdam, options, shape=shape, seed=3)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("options", grid(decoupled_weight_decay=(False, True)), ids=options_id)
def test_places_eps_as_torch_on_tiny_gradients(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(
        nadam,
        torch.optim.NAdam,
        {"lr": 1.0, "weight_decay": 1e-9, **options},
        shape=shape,
        seed=4,
        gradient=tiny_gradient(shape, 4),
    )


@pytest.mark.parametrize("options", grid(decoupled_weight_decay=(False, True)), ids=options_id)
def test_follows_a_learning_rate_change(options: dict[str, Any]) -> None:
    assert_matches_torch(
        nadam,
        torch.optim.NAdam,
        {"weight_decay": 0.2, **options},
        shape=(7,),
        seed=5,
        lr_at=lambda step: 0.1 if step < 50 else 0.01,
    )


def test_mu_product_is_kept_as_a_float_of_torchs_value() -> None:
    """Under float32 scalars torch's product is the reference's, rounded to float32."""
    torch.set_default_dtype(torch.float32)
    parameter = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    optimizer = torch.optim.NAdam([parameter], momentum_decay=0.1)
    state: dict[str, Any] = {}
    for _ in range(30):
        parameter.grad = torch.ones(2, dtype=torch.float64)
        optimizer.step()
        nadam(
            torch.ones(2, dtype=torch.float64),
            torch.ones(2, dtype=torch.float64),
            state,
            momentum_decay=0.1,
        )
    assert isinstance(state["mu_product"], float)
    assert state["mu_product"] == pytest.approx(
        optimizer.state[parameter]["mu_product"].item(), rel=1e-5
    )


BAD_OPTIONS = [
    {"lr": -1e-3},
    {"eps": -1e-8},
    {"betas": (1.0, 0.999)},
    {"betas": (0.9, 1.0)},
    {"betas": (-0.1, 0.999)},
    {"weight_decay": -0.1},
    {"momentum_decay": -1e-3},
    {"lr": -1.0, "momentum_decay": -1.0},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=options_id)
def test_rejects_what_torch_rejects(options: dict[str, Any]) -> None:
    assert_rejects_like_torch(nadam, torch.optim.NAdam, options)


@pytest.mark.parametrize(
    ("dtype", "device"), [(torch.float32, "cpu"), (torch.float64, "meta")], ids=["float32", "meta"]
)
@pytest.mark.parametrize("decoupled", [False, True], ids=["l2", "decoupled"])
def test_keeps_dtype_and_device(dtype: torch.dtype, device: str, decoupled: bool) -> None:
    options = {"weight_decay": 0.1, "decoupled_weight_decay": decoupled, "maximize": True}
    assert_keeps_dtype_and_device(nadam, options, dtype=dtype, device=device)
