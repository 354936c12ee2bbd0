"""reference.adam against torch.optim.Adam / AdamW, option by option, and its known bugs.

The probe problems and the bug checks at the bottom are shared by the other Adam-family test
modules (adamax, nadam, radam, adabound), which import them from here.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import Tensor

from reference.adam import BUGS, adam, adamw
from reference.known_bug import KnownBug
from tests.reference.torch_oracle import SHAPES, assert_matches_torch, proves, seeded_gradient

SEEDS = (0, 1)
Optimizer = Callable[..., Tensor]


def options_id(options: Mapping[str, Any]) -> str:
    """A readable test id: 'default' or 'weight_decay=0.1-amsgrad-maximize'."""
    parts = [
        name if value is True else f"{name}={value}"
        for name, value in options.items()
        if value is not False
    ]
    return "-".join(parts) or "default"


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Every combination of the values of `axes`, as keyword dictionaries."""
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


def tiny_gradient(shape: tuple[int, ...], seed: int) -> Callable[[Tensor, int], Tensor]:
    """Gradients of 1e-9..1e-7, independent of x: v stays far below ε², pinning ε's place."""
    generator = torch.Generator().manual_seed(seed)
    base = 1e-8 * torch.empty(shape, dtype=torch.float64).uniform_(-3.0, 3.0, generator=generator)
    return lambda x, step: base * (1.0 + 0.5 * math.sin(step))


def spike_gradient(shape: tuple[int, ...], seed: int) -> Callable[[Tensor, int], Tensor]:
    """Three huge gradients, then small ones: AMSGrad's stored maximum must bind for long."""
    quadratic = seeded_gradient(shape, seed)
    return lambda x, step: (30.0 if step < 3 else 0.03) * quadratic(x, step)


def torch_message(optimizer: type[torch.optim.Optimizer], options: Mapping[str, Any]) -> str:
    """The ValueError message torch's constructor gives for `options`."""
    with pytest.raises(ValueError) as raised:
        optimizer([torch.nn.Parameter(torch.zeros(2))], **options)
    return str(raised.value)


def assert_rejects_like_torch(
    function: Optimizer, optimizer: type[torch.optim.Optimizer], options: Mapping[str, Any]
) -> None:
    state: dict[str, Any] = {}
    with pytest.raises(ValueError, match=f"^{re.escape(torch_message(optimizer, options))}$"):
        function(torch.ones(2), torch.ones(2), state, **options)
    assert state == {}, "a rejected call must leave the state untouched"


def assert_keeps_dtype_and_device(
    function: Optimizer,
    options: Mapping[str, Any],
    dtype: torch.dtype,
    device: str,
    steps: int = 3,
) -> None:
    """`steps` steps on a (3, 2) tensor: result and every state tensor keep dtype and device."""
    x = torch.ones((3, 2), dtype=dtype, device=device)
    state: dict[str, Any] = {}
    for _ in range(steps):
        x = function(x, torch.full_like(x, 0.5), state, **options)
        assert (x.dtype, x.device.type, x.shape) == (dtype, device, (3, 2))
    tensors = {name: value for name, value in state.items() if isinstance(value, Tensor)}
    assert tensors, "no state tensors kept"
    for name, value in tensors.items():
        assert (value.dtype, value.device.type, value.shape) == (dtype, device, (3, 2)), name


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


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("options", ADAM_GRID, ids=options_id)
@proves("adam", "torch.optim.Adam")
def test_adam_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(adam, torch.optim.Adam, {"lr": 0.05, **options}, shape=shape, seed=seed)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("options", UNUSUAL, ids=options_id)
def test_adam_matches_torch_with_unusual_hyperparameters(
    options: dict[str, Any], shape: tuple[int, ...]
) -> None:
    assert_matches_torch(adam, torch.optim.Adam, options, shape=shape, seed=2)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
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


@pytest.mark.parametrize("shape", SHAPES, ids=str)
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


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("options", ADAMW_GRID, ids=options_id)
@proves("adamw", "torch.optim.AdamW")
def test_adamw_matches_torch(options: dict[str, Any], shape: tuple[int, ...], seed: int) -> None:
    assert_matches_torch(adamw, torch.optim.AdamW, {"lr": 0.05, **options}, shape=shape, seed=seed)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_adamw_with_defaults_matches_torch(shape: tuple[int, ...]) -> None:
    assert_matches_torch(adamw, torch.optim.AdamW, {}, shape=shape, seed=6)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
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
    assert_keeps_dtype_and_device(function, options, dtype, device)


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


# --- known bugs: shared probe problems ------------------------------------------------------

PROBE_STEPS = 20
DEPARTURE = 1e-6  # relative to the largest finite value; far above rounding, far below a bug


@dataclass(frozen=True)
class Probe:
    """A 2-coordinate problem built to expose one convention.

    The lr of step k is `lr_scale(k)` times the bug's exposed lr, or the probe's own `lr`,
    as the grader's lr-change problem does it.
    """

    name: str
    start: tuple[float, float]
    gradient: Callable[[Tensor, int], Tensor]
    lr: float
    lr_scale: Callable[[int], float] = lambda step: 1.0


def _vector(*values: float) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


_CURVATURE = _vector(0.2, 4.0)  # f = 0.1·x1² + 2·x2², the lecture notes' ill-conditioned bowl

PROBES = (
    Probe("quadratic", (-5.0, -2.0), lambda x, k: _CURVATURE * x, lr=0.1),
    Probe("tiny_gradients", (1.0, -1.0), lambda x, k: _vector(1e-8, -3e-8), lr=1.0),
    Probe(
        "spike_then_small",
        (0.0, 0.0),
        lambda x, k: _vector(10.0, -10.0) if k < 2 else _vector(0.1, -0.1),
        lr=0.1,
    ),
    Probe(
        "tiny_spike_then_zero", (1.0, -1.0), lambda x, k: _vector(1e-8, -1e-8) * (k == 0), lr=1.0
    ),
    Probe("zero_gradient", (1.0, -2.0), lambda x, k: torch.zeros_like(x), lr=0.1),
    Probe(
        "lr_drop",
        (-5.0, -2.0),
        lambda x, k: _CURVATURE * x,
        lr=0.1,
        lr_scale=lambda k: 1.0 if k < 5 else 0.1,
    ),
)


def observe(function: Optimizer, options: Mapping[str, Any]) -> list[Tensor]:
    """The points and state entries of `function` on every probe, or the error it raised."""
    observed: list[Tensor] = []
    try:
        for probe in PROBES:
            x, state = _vector(*probe.start), dict[str, Any]()
            for step in range(PROBE_STEPS):
                lr = options.get("lr", probe.lr) * probe.lr_scale(step)
                x = function(x, probe.gradient(x, step), state, **{**options, "lr": lr})
                observed.append(x)
                observed.extend(
                    torch.as_tensor(state[name], dtype=torch.float64).flatten()
                    for name in sorted(state)
                )
    except Exception as error:  # a crash is observable too: it is its own trace
        return [torch.tensor(list(type(error).__name__.encode()), dtype=torch.float64)]
    return observed


def differs(a: list[Tensor], b: list[Tensor]) -> bool:
    """True when two traces differ somewhere by more than DEPARTURE (relative to that entry's
    largest finite value) or in where they are finite."""
    if len(a) != len(b):
        return True
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            return True
        finite = torch.isfinite(x)
        if not torch.equal(finite, torch.isfinite(y)):
            return True
        if not torch.equal(x[~finite].nan_to_num(), y[~finite].nan_to_num()):
            return True
        scale = max(x[finite].abs().max().item() if finite.any() else 0.0, 1e-30)
        if ((x - y)[finite].abs() > DEPARTURE * scale).any():
            return True
    return False


_traces: dict[tuple[str, str], list[Tensor]] = {}


def trace(name: str, function: Optimizer, options: Mapping[str, Any]) -> list[Tensor]:
    """`observe`, computed once per (function, options) and reused by every pair."""
    key = (name, repr(sorted(options.items())))
    if key not in _traces:
        _traces[key] = observe(function, options)
    return _traces[key]


def assert_bug_departs(bug: KnownBug, correct: Optimizer) -> None:
    expected = trace(bug.function, correct, bug.exposed_with)
    assert differs(trace(bug.id, bug.run, bug.exposed_with), expected), (
        f"{bug.id} matches the correct {bug.function} on every probe under {bug.exposed_with}"
    )


def assert_bugs_distinct(first: KnownBug, second: KnownBug) -> None:
    for options in (first.exposed_with, second.exposed_with):
        if differs(trace(first.id, first.run, options), trace(second.id, second.run, options)):
            return
    pytest.fail(f"{first.id} and {second.id} leave the same trace on every probe")


def bug_pairs(bugs: Sequence[KnownBug]) -> list[Any]:
    """Every pair of bugs of the same function, as pytest params with readable ids."""
    return [
        pytest.param(a, b, id=f"{a.id}~{b.name}")
        for a, b in itertools.combinations(bugs, 2)
        if a.function == b.function
    ]


def assert_bug_table_is_sound(bugs: Sequence[KnownBug], functions: Mapping[str, Optimizer]) -> None:
    """Unique snake_case names per function, one-line texts, runs callable like the function."""
    ids = [bug.id for bug in bugs]
    assert len(set(ids)) == len(ids), "two bugs share an id"
    for bug in bugs:
        assert bug.function in functions and re.fullmatch(r"[a-z0-9_]+", bug.name), bug.id
        assert all(text.strip() and "\n" not in text for text in (bug.misconception, bug.hint))
        x = bug.run(
            torch.ones(2, dtype=torch.float64),
            torch.ones(2, dtype=torch.float64),
            {},
            **bug.exposed_with,
        )
        assert x.shape == (2,), bug.id


# --- known bugs of adam and adamw -----------------------------------------------------------

CORRECT = {"adam": adam, "adamw": adamw}


def test_bug_table_is_sound() -> None:
    assert_bug_table_is_sound(BUGS, CORRECT)
    assert len(BUGS) >= 16


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_bug_departs_from_the_correct_function(bug: KnownBug) -> None:
    assert_bug_departs(bug, CORRECT[bug.function])


@pytest.mark.parametrize(("first", "second"), bug_pairs(BUGS))
def test_no_two_bugs_leave_the_same_trace(first: KnownBug, second: KnownBug) -> None:
    assert_bugs_distinct(first, second)
