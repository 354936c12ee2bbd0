"""gd, momentum and nesterov against torch.optim.SGD, and their known bugs.

The helpers at the top (option grids, torch's error messages, bug probes) are shared by the
tests of the other first-family optimizers (adagrad, rmsprop, adadelta).
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
import torch
from torch import Tensor

from reference.known_bug import KnownBug
from reference.sgd import BUGS, gd, momentum, nesterov
from tests.reference.torch_oracle import SHAPES, assert_matches_torch, proves, seeded_gradient

# ---------------------------------------------------------------- shared helpers

SEEDS = (0, 1, 2)


def option_grid(**choices: Sequence[Any]) -> list[Any]:
    """Every combination of `choices` on every shape, each with another seed, as pytest params."""
    grid = []
    for index, values in enumerate(itertools.product(*choices.values())):
        options = dict(zip(choices, values, strict=True))
        label = "-".join(f"{name}={value}" for name, value in options.items())
        for offset, shape in enumerate(SHAPES):
            seed = SEEDS[(index + offset) % len(SEEDS)]
            grid.append(
                pytest.param(options, shape, seed, id=f"{label}-shape{list(shape)}-seed{seed}")
            )
    return grid


def torch_error(optimizer: type[torch.optim.Optimizer], options: Mapping[str, Any]) -> str:
    """The message of the ValueError torch's constructor raises for `options`."""
    with pytest.raises(ValueError) as raised:
        optimizer([torch.nn.Parameter(torch.zeros(2))], **options)
    return str(raised.value)


def assert_same_error(
    function: Callable[..., Tensor],
    options: Mapping[str, Any],
    optimizer: type[torch.optim.Optimizer],
    torch_options: Mapping[str, Any] | None = None,
) -> None:
    message = torch_error(optimizer, torch_options or options)
    x = torch.zeros(2, dtype=torch.float64)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        function(x, torch.ones_like(x), {}, **options)


def assert_keeps_dtype_and_device(
    function: Callable[..., Tensor], options: Mapping[str, Any], device: str, shape: tuple[int, ...]
) -> None:
    """Three float32 steps on `device`: result and every state tensor stay float32 there."""
    x = torch.zeros(shape, dtype=torch.float32, device=device)
    state: dict[str, Any] = {}
    for _ in range(3):
        x = function(x, torch.ones_like(x), state, **options)
        assert (x.dtype, x.device.type, x.shape) == (torch.float32, device, torch.Size(shape))
    for name, value in state.items():
        if isinstance(value, Tensor):
            assert (value.dtype, value.device.type) == (torch.float32, device), name


def assert_same_state_names(
    function: Callable[..., Tensor],
    optimizer: type[torch.optim.Optimizer],
    options: Mapping[str, Any],
    torch_options: Mapping[str, Any] | None = None,
) -> None:
    """After three steps the state holds exactly torch's (non-None) entries, no more."""
    parameter = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    torch_optimizer = optimizer([parameter], **(torch_options or options))
    x, state = parameter.detach().clone(), dict[str, Any]()
    for _ in range(3):
        parameter.grad = torch.ones_like(parameter)
        torch_optimizer.step()
        x = function(x, torch.ones_like(x), state, **options)
    expected = {k for k, v in torch_optimizer.state[parameter].items() if v is not None}
    assert set(state) == expected


def tiny_gradient(shape: tuple[int, ...], seed: int) -> Callable[[Tensor, int], Tensor]:
    """The oracle's noisy quadratic scaled to gradients of ~1e-8, where eps placement shows."""
    gradient = seeded_gradient(shape, seed)
    return lambda x, step: 1e-8 * gradient(x, step)


PROBE_STEPS = 12
PROBE_START = torch.tensor([-5.0, -2.0, 1.5], dtype=torch.float64)
CURVATURE = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)
Gradient = Callable[[Tensor, int], Tensor]


def _constant(values: Sequence[float]) -> Gradient:
    return lambda x, step: torch.tensor(values, dtype=torch.float64)


# name -> (gradient at x on step k, learning-rate factor on step k)
PROBES: dict[str, tuple[Gradient, Callable[[int], float]]] = {
    "quadratic": (lambda x, step: CURVATURE * x, lambda step: 1.0),
    "noisy_quadratic": (seeded_gradient((3,), 0), lambda step: 1.0),
    "tiny_gradients": (_constant([1e-8, -2e-8, 5e-9]), lambda step: 1.0),
    "lr_change": (lambda x, step: CURVATURE * x, lambda step: 1.0 if step < 5 else 0.1),
    "spike_then_small": (
        lambda x, step: torch.full((3,), 10.0 if step == 0 else 0.1, dtype=torch.float64),
        lambda step: 1.0,
    ),
    "zero_gradient": (_constant([0.0, 0.0, 0.0]), lambda step: 1.0),
}


def probe_path(function: Callable[..., Tensor], options: Mapping[str, Any], probe: str) -> Tensor:
    """The parameters after each of PROBE_STEPS steps of `function` on one probe problem."""
    gradient, lr_factor = PROBES[probe]
    lr = options.get("lr", inspect.signature(function).parameters["lr"].default)
    x, state, path = PROBE_START.clone(), dict[str, Any](), list[Tensor]()
    for step in range(PROBE_STEPS):
        x = function(x, gradient(x, step), state, **{**options, "lr": lr * lr_factor(step)})
        path.append(x)
    return torch.stack(path)


def departs(a: Tensor, b: Tensor) -> bool:
    """True when the paths differ by more than 1e-6 relative, or in where and how they blow up."""
    finite = torch.isfinite(a)
    if not torch.equal(finite, torch.isfinite(b)):
        return True
    if not torch.equal(a[~finite].nan_to_num(nan=0.0), b[~finite].nan_to_num(nan=0.0)):
        return True
    scale = max(a[finite].abs().max().item() if finite.any() else 0.0, 1e-300)
    return bool(((a - b)[finite].abs() > 1e-6 * scale).any())


def departing_probes(
    first: Callable[..., Tensor], second: Callable[..., Tensor], options: Mapping[str, Any]
) -> list[str]:
    return [
        probe
        for probe in PROBES
        if departs(probe_path(first, options, probe), probe_path(second, options, probe))
    ]


def assert_bug_departs(correct: Callable[..., Tensor], bug: KnownBug) -> None:
    assert departing_probes(correct, bug.run, bug.exposed_with), (
        f"{bug.id} follows the correct path on every probe under {dict(bug.exposed_with)}"
    )


def assert_bugs_differ(first: KnownBug, second: KnownBug) -> None:
    assert any(
        departing_probes(first.run, second.run, options)
        for options in (first.exposed_with, second.exposed_with)
    ), f"{first.id} and {second.id} follow the same path on every probe"


def assert_torch_rejects(
    bug: KnownBug,
    optimizer: type[torch.optim.Optimizer],
    torch_options: Mapping[str, Any] | None = None,
) -> None:
    """The exactness harness itself tells the bug from torch: on the noisy quadratic, on tiny
    gradients, or after a learning-rate change."""
    lr = bug.exposed_with.get("lr", inspect.signature(bug.run).parameters["lr"].default)
    probes: list[dict[str, Any]] = [
        {},
        {"gradient": tiny_gradient((3,), 0)},
        {"lr_at": lambda step: lr if step < 5 else 0.1 * lr},
    ]
    for probe in probes:
        try:
            assert_matches_torch(
                bug.run,
                optimizer,
                bug.exposed_with,
                shape=(3,),
                seed=0,
                torch_hyperparameters={**(torch_options or {}), **bug.exposed_with},
                **probe,
            )
        except AssertionError:
            return
    pytest.fail(f"{bug.id} passes as torch.optim.{optimizer.__name__}")


def pairs(bugs: Sequence[KnownBug]) -> list[Any]:
    """Every pair of bugs of the same function, with a readable id."""
    return [
        pytest.param(a, b, id=f"{a.function}-{a.name}-vs-{b.name}")
        for a, b in itertools.combinations(bugs, 2)
        if a.function == b.function
    ]


# ---------------------------------------------------------------- exactness against torch

FUNCTIONS: dict[str, Callable[..., Tensor]] = {"gd": gd, "momentum": momentum, "nesterov": nesterov}


def lr_changes(step: int) -> float:
    """Two learning-rate changes: down tenfold at step 30, up fivefold at step 60."""
    return 0.1 if step < 30 else (0.01 if step < 60 else 0.05)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    option_grid(lr=[1e-3, 0.1], weight_decay=[0.0, 0.1], maximize=[False, True]),
)
@proves("gd", "torch.optim.SGD")
def test_gd_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(gd, torch.optim.SGD, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    option_grid(
        lr=[1e-3, 0.05],
        momentum=[0.0, 0.5, 0.9],
        dampening=[0.0, 0.5],
        weight_decay=[0.0, 0.1],
        maximize=[False, True],
    ),
)
@proves("momentum", "torch.optim.SGD")
def test_momentum_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(momentum, torch.optim.SGD, options, shape=shape, seed=seed)


@pytest.mark.parametrize(
    ("options", "shape", "seed"),
    option_grid(
        lr=[1e-3, 0.05], momentum=[0.5, 0.9], weight_decay=[0.0, 0.1], maximize=[False, True]
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
    option_grid(case=list(LR_CHANGE_CASES), weight_decay=[0.0, 0.1]),
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
    """torch's defaults, except momentum=0.9 for momentum and nesterov (DESIGN.md §2)."""

    def defaults(function: Callable[..., Tensor]) -> dict[str, Any]:
        parameters = inspect.signature(function).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}

    shared = {"lr": 1e-3, "weight_decay": 0.0, "maximize": False}
    assert defaults(gd) == shared
    assert defaults(momentum) == defaults(nesterov) == {**shared, "momentum": 0.9, "dampening": 0.0}


# ---------------------------------------------------------------- hand-computed steps (A.2, A.3)


def run_constant_gradient(
    function: Callable[..., Tensor], lrs: Sequence[float], **options: Any
) -> list[float]:
    """θ after each step from θ_0 = 0 with g ≡ 1 and the given learning rates."""
    x, state, path = torch.zeros((), dtype=torch.float64), dict[str, Any](), list[float]()
    for lr in lrs:
        x = function(x, torch.ones_like(x), state, lr=lr, **options)
        path.append(x.item())
    return path


def test_nesterov_first_steps_include_the_look_ahead() -> None:
    """g ≡ 1, γ = 1, μ = 0.9: steps −(1 + μ) = −1.9, then −(1 + μ(μ + 1)) = −2.71."""
    path = run_constant_gradient(nesterov, [1.0, 1.0])
    assert path == pytest.approx([-1.9, -1.9 - 2.71], rel=1e-13)


def test_momentum_buffer_starts_at_the_undampened_gradient() -> None:
    """With dampening = momentum = 0.9, b_1 = g and b_t = 0.9 b + 0.1 g stays g: steps of −γ."""
    path = run_constant_gradient(momentum, [0.1] * 4, dampening=0.9)
    assert path == pytest.approx([-0.1, -0.2, -0.3, -0.4], rel=1e-13)


def test_new_learning_rate_rescales_the_whole_buffer() -> None:
    """b = 1, 1.9, 2.71, 3.439; θ = −0.1, −0.29, −0.29 − 0.0271, −0.3171 − 0.03439."""
    path = run_constant_gradient(momentum, [0.1, 0.1, 0.01, 0.01])
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
    assert_same_error(function, options, torch.optim.SGD, torch_options)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize(
    ("function", "options"),
    [
        pytest.param(gd, {"weight_decay": 0.1, "maximize": True}, id="gd"),
        pytest.param(momentum, {"dampening": 0.5, "weight_decay": 0.1}, id="momentum"),
        pytest.param(nesterov, {"weight_decay": 0.1}, id="nesterov"),
    ],
)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: f"shape{list(shape)}")
def test_keeps_float32_and_the_device(
    function: Callable[..., Tensor], options: dict[str, Any], device: str, shape: tuple[int, ...]
) -> None:
    assert_keeps_dtype_and_device(function, options, device, shape)


# ---------------------------------------------------------------- known bugs


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_bug_departs_from_the_correct_function(bug: KnownBug) -> None:
    assert_bug_departs(FUNCTIONS[bug.function], bug)


@pytest.mark.parametrize(("first", "second"), pairs(BUGS))
def test_no_two_bugs_follow_the_same_path(first: KnownBug, second: KnownBug) -> None:
    assert_bugs_differ(first, second)


def test_bug_runs_have_the_signature_of_their_function() -> None:
    for bug in BUGS:
        expected = inspect.signature(FUNCTIONS[bug.function]).parameters
        got = inspect.signature(bug.run).parameters
        for name, parameter in expected.items():
            assert name in got and got[name].default == parameter.default, (bug.id, name)


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
    """v = −0.1, −0.19, −0.181, −0.1729: θ = −0.1, −0.29, −0.471, −0.6439 (CONVENTIONS A.2)."""
    bug = bug_named("momentum", "lr_inside_velocity")
    path = run_constant_gradient(bug.run, [0.1, 0.1, 0.01, 0.01])
    assert path == pytest.approx([-0.1, -0.29, -0.471, -0.6439], rel=1e-13)


def test_sign_error_steps_exactly_the_other_way() -> None:
    bug = bug_named("gd", "sign_error")
    assert run_constant_gradient(bug.run, [0.1]) == [0.1]
