"""adadelta against torch.optim.Adadelta, and its known bugs."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from reference.adadelta import BUGS, adadelta
from reference.known_bug import KnownBug
from tests.reference.helpers import (
    assert_keeps_dtype_and_device,
    assert_rejects_like_torch,
    assert_same_state_names,
    assert_torch_rejects,
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
            lr=[1.0, 0.5],
            rho=[0.9, 0.5, 1.0],
            eps=[1e-6, 1e-3],
            weight_decay=[0.0, 0.1],
            maximize=[False, True],
        )
    ),
)
@proves("adadelta", "torch.optim.Adadelta")
def test_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(adadelta, torch.optim.Adadelta, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(eps=[1e-6, 1e-10], rho=[0.9, 0.5])),
)
def test_matches_torch_on_tiny_gradients(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    """Gradients of ~1e-8 meet eps = 1e-10 inside both roots: placement must be torch's."""
    assert_matches_torch(
        adadelta,
        torch.optim.Adadelta,
        options,
        shape=shape,
        seed=seed,
        gradient=tiny_gradient(shape, seed),
    )


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(rho=[0.9, 0.5], weight_decay=[0.0, 0.1])),
)
def test_learning_rate_change_mid_run_matches_torch(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    """acc_delta accumulates the step before γ: a new lr must not leak into it."""
    assert_matches_torch(
        adadelta,
        torch.optim.Adadelta,
        options,
        shape=shape,
        seed=seed,
        lr_at=lambda step: 1.0 if step < 40 else 0.3,
    )


def test_first_step_is_root_eps_over_root_of_the_new_average() -> None:
    """g = 1: v_1 = 0.1, Δ_1 = √(0 + ε)/√(0.1 + ε) ≈ 3.16e-3; u_1 = 0.1 Δ_1², worked by hand."""
    x, state = torch.zeros((), dtype=torch.float64), dict[str, Any]()
    x = adadelta(x, torch.ones_like(x), state)
    delta = math.sqrt(1e-6) / math.sqrt(0.1 + 1e-6)
    assert x.item() == pytest.approx(-delta, rel=1e-13)
    assert state["acc_delta"].item() == pytest.approx(0.1 * delta**2, rel=1e-13)
    assert state["square_avg"].item() == pytest.approx(0.1, rel=1e-13)
    assert state["step"] == 1


@pytest.mark.parametrize(
    "options", [{}, {"weight_decay": 0.1, "lr": 0.5}], ids=["defaults", "decay-and-lr"]
)
def test_keeps_exactly_torchs_state_names(options: dict[str, Any]) -> None:
    assert_same_state_names(adadelta, torch.optim.Adadelta, options)


@pytest.mark.parametrize(
    "options",
    [{"lr": -1.0}, {"rho": -0.1}, {"rho": 1.1}, {"eps": -1e-6}, {"weight_decay": -0.1}],
    ids=options_id,
)
def test_rejects_what_torch_rejects_with_its_message(options: dict[str, Any]) -> None:
    assert_rejects_like_torch(adadelta, torch.optim.Adadelta, options)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_keeps_float32_and_the_device(device: str, shape: tuple[int, ...]) -> None:
    assert_keeps_dtype_and_device(adadelta, {"weight_decay": 0.1}, device=device, shape=shape)


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_torch_oracle_rejects_every_bug(bug: KnownBug) -> None:
    assert_torch_rejects(bug, torch.optim.Adadelta)


def test_updating_acc_delta_first_makes_the_first_step_the_gradient() -> None:
    """u_1 = 0.1 g² = v_1 before the step, so Δ_1 = g: about 2500× torch's first step for g = 8."""
    bug = next(bug for bug in BUGS if bug.name == "acc_delta_updated_before_step")
    x, g = torch.zeros((), dtype=torch.float64), torch.tensor(8.0, dtype=torch.float64)
    assert bug.run(x, g, {}).item() == pytest.approx(-8.0, rel=1e-12)
    assert adadelta(x, g, {}).item() == pytest.approx(-8e-3 / math.sqrt(6.4 + 1e-6), rel=1e-12)
