"""gd, momentum and nesterov against torch.optim.SGD, and their known bugs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

from reference.known_bug import KnownBug
from reference.sgd import BUGS, gd, momentum, nesterov
from tests.reference.helpers import (
    assert_keeps_dtype_and_device,
    assert_rejects_like_torch,
    assert_same_state_names,
    assert_torch_rejects,
    constant_gradient_path,
    grid,
    on_every_shape,
    shape_id,
)
from tests.reference.torch_oracle import SHAPES, assert_matches_torch, proves

# ---------------------------------------------------------------- exactness against torch


def lr_changes(step: int) -> float:
    """Two learning-rate changes: down tenfold at step 30, up fivefold at step 60."""
    return 0.1 if step < 30 else (0.01 if step < 60 else 0.05)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(lr=[1e-3, 0.1], weight_decay=[0.0, 0.1], maximize=[False, True])),
)
@proves("gd", "torch.optim.SGD")
def test_gd_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(gd, torch.optim.SGD, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(
        grid(
            lr=[1e-3, 0.05],
            momentum=[0.0, 0.5, 0.9],
            dampening=[0.0, 0.5],
            weight_decay=[0.0, 0.1],
            maximize=[False, True],
        )
    ),
)
@proves("momentum", "torch.optim.SGD")
def test_momentum_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(momentum, torch.optim.SGD, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(
        grid(lr=[1e-3, 0.05], momentum=[0.5, 0.9], weight_decay=[0.0, 0.1], maximize=[False, True])
    ),
)
@proves("nesterov", "torch.optim.SGD")
def test_nesterov_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    torch_options = {**options, "nesterov": True}
    assert_matches_torch(
        nesterov,
        torch.optim.SGD,
        options,
        shape=shape,
        seed=seed,
        torch_hyperparameters=torch_options,
    )


# name -> (function, its extra options, torch's options besides lr and weight_decay)
LR_CHANGE_CASES: dict[str, tuple[Callable[..., Tensor], dict[str, Any], dict[str, Any]]] = {
    "gd": (gd, {}, {}),
    "momentum": (momentum, {}, {"momentum": 0.9}),
    "momentum_dampened": (
        momentum,
        {"momentum": 0.5, "dampening": 0.5},
        {"momentum": 0.5, "dampening": 0.5},
    ),
    "nesterov": (nesterov, {}, {"momentum": 0.9, "nesterov": True}),
}


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    on_every_shape(grid(case=list(LR_CHANGE_CASES), weight_decay=[0.0, 0.1])),
)
def test_learning_rate_change_mid_run_matches_torch(
    options: dict[str, Any], shape: tuple[int, ...], seed: int
) -> None:
    """torch's buffer holds gradients, not steps: a new lr rescales the whole accumulated buffer."""
    function, extra, torch_extra = LR_CHANGE_CASES[options["case"]]
    decay = {"weight_decay": options["weight_decay"]}
    assert_matches_torch(
        function,
        torch.optim.SGD,
        {**decay, **extra},
        shape=shape,
        seed=seed,
        torch_hyperparameters={**decay, **torch_extra},
        lr_at=lr_changes,
    )


def test_defaults_follow_the_names_table() -> None:
    """torch's defaults, except momentum=0.9 for momentum and nesterov (docs/design.md §2)."""

    def defaults(function: Callable[..., Tensor]) -> dict[str, Any]:
        parameters = inspect.signature(function).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}

    shared = {"lr": 1e-3, "weight_decay": 0.0, "maximize": False}
    assert defaults(gd) == shared
    assert defaults(momentum) == defaults(nesterov) == {**shared, "momentum": 0.9, "dampening": 0.0}


# ---------------------------------------------------------------- hand-computed steps (A.2, A.3)


def test_nesterov_first_steps_include_the_look_ahead() -> None:
    """g ≡ 1, γ = 1, μ = 0.9: steps −(1 + μ) = −1.9, then −(1 + μ(μ + 1)) = −2.71."""
    path = constant_gradient_path(nesterov, [1.0, 1.0])
    assert path == pytest.approx([-1.9, -1.9 - 2.71], rel=1e-13)


def test_momentum_buffer_starts_at_the_undampened_gradient() -> None:
    """With dampening = momentum = 0.9, b_1 = g and b_t = 0.9 b + 0.1 g stays g: steps of −γ."""
    path = constant_gradient_path(momentum, [0.1] * 4, dampening=0.9)
    assert path == pytest.approx([-0.1, -0.2, -0.3, -0.4], rel=1e-13)


def test_new_learning_rate_rescales_the_whole_buffer() -> None:
    """b = 1, 1.9, 2.71, 3.439; θ = −0.1, −0.29, −0.29 − 0.0271, −0.3171 − 0.03439."""
    path = constant_gradient_path(momentum, [0.1, 0.1, 0.01, 0.01])
    assert path == pytest.approx([-0.1, -0.29, -0.3171, -0.35149], rel=1e-13)


@pytest.mark.parametrize(
    ("function", "options", "torch_options"),
    [
        pytest.param(gd, {}, {}, id="gd"),
        pytest.param(momentum, {"momentum": 0.0}, {}, id="momentum-zero"),
        pytest.param(momentum, {}, {"momentum": 0.9}, id="momentum"),
        pytest.param(nesterov, {}, {"momentum": 0.9, "nesterov": True}, id="nesterov"),
    ],
)
def test_keeps_exactly_torchs_state_names(
    function: Callable[..., Tensor], options: dict[str, Any], torch_options: dict[str, Any]
) -> None:
    assert_same_state_names(function, torch.optim.SGD, options, torch_options)


# ---------------------------------------------------------------- validation, dtype, device


@pytest.mark.parametrize(
    ("function", "options", "torch_options"),
    [
        pytest.param(gd, {"lr": -0.1}, None, id="gd-negative-lr"),
        pytest.param(gd, {"weight_decay": -0.1}, None, id="gd-negative-weight_decay"),
        pytest.param(momentum, {"lr": -1.0}, None, id="momentum-negative-lr"),
        pytest.param(momentum, {"momentum": -0.5}, None, id="momentum-negative-momentum"),
        pytest.param(
            momentum,
            {"weight_decay": -1e-3},
            {"momentum": 0.9, "weight_decay": -1e-3},
            id="momentum-negative-weight_decay",
        ),
        pytest.param(
            nesterov,
            {"lr": -1.0},
            {"lr": -1.0, "momentum": 0.9, "nesterov": True},
            id="nesterov-negative-lr",
        ),
        pytest.param(
            nesterov,
            {"momentum": -0.5},
            {"momentum": -0.5, "nesterov": True},
            id="nesterov-negative-momentum",
        ),
        pytest.param(
            nesterov,
            {"momentum": 0.0},
            {"momentum": 0.0, "nesterov": True},
            id="nesterov-zero-momentum",
        ),
        pytest.param(
            nesterov,
            {"dampening": 0.5},
            {"momentum": 0.9, "dampening": 0.5, "nesterov": True},
            id="nesterov-nonzero-dampening",
        ),
    ],
)
def test_rejects_what_torch_rejects_with_its_message(
    function: Callable[..., Tensor], options: dict[str, Any], torch_options: dict[str, Any] | None
) -> None:
    assert_rejects_like_torch(function, torch.optim.SGD, options, torch_options)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize(
    ("function", "options"),
    [
        pytest.param(gd, {"weight_decay": 0.1, "maximize": True}, id="gd"),
        pytest.param(momentum, {"dampening": 0.5, "weight_decay": 0.1}, id="momentum"),
        pytest.param(nesterov, {"weight_decay": 0.1}, id="nesterov"),
    ],
)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_keeps_float32_and_the_device(
    function: Callable[..., Tensor], options: dict[str, Any], device: str, shape: tuple[int, ...]
) -> None:
    stateless = function is gd
    assert_keeps_dtype_and_device(
        function, options, device=device, shape=shape, stateless=stateless
    )


# ---------------------------------------------------------------- known bugs


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_torch_oracle_rejects_every_bug(bug: KnownBug) -> None:
    torch_options = {
        "gd": {},
        "momentum": {"momentum": 0.9},
        "nesterov": {"momentum": 0.9, "nesterov": True},
    }[bug.function]
    assert_torch_rejects(bug, torch.optim.SGD, torch_options)


def bug_named(function: str, name: str) -> KnownBug:
    return next(bug for bug in BUGS if (bug.function, bug.name) == (function, name))


def test_cs231n_velocity_matches_torch_until_the_learning_rate_changes() -> None:
    """v = −0.1, −0.19, −0.181, −0.1729: θ = −0.1, −0.29, −0.471, −0.6439, worked by hand."""
    bug = bug_named("momentum", "lr_inside_velocity")
    path = constant_gradient_path(bug.run, [0.1, 0.1, 0.01, 0.01])
    assert path == pytest.approx([-0.1, -0.29, -0.471, -0.6439], rel=1e-13)


def test_sign_error_steps_exactly_the_other_way() -> None:
    bug = bug_named("gd", "sign_error")
    assert constant_gradient_path(bug.run, [0.1]) == [0.1]
