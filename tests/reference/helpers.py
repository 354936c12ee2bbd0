"""What the reference tests share: parameter grids with readable ids, the contract checks every
optimizer gets (torch's errors, dtype and device, state names) and torch's verdict on a bug.

The suite-wide checks of the known bugs (each shows on the problem suite, no two alike) live in
test_known_bugs.py; the family modules keep only what torch or a hand computation says of them.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import pytest
import torch
from torch import Tensor
from torch.optim import lr_scheduler

from reference.known_bug import KnownBug
from tests.reference.torch_oracle import SHAPES, assert_matches_torch, tiny_gradient, torch_values

SEEDS = (0, 1)
Optimizer = Callable[..., Tensor]
Schedule = Callable[..., float]

# ---------------------------------------------------------------- parameter grids


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Every combination of the values of `axes`, as keyword dictionaries."""
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


def readable(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def options_id(options: Mapping[str, Any]) -> str:
    """A readable test id: 'default' or 'weight_decay=0.1-amsgrad-maximize'."""
    parts = [
        name if value is True else f"{name}={readable(value)}"
        for name, value in options.items()
        if value is not False
    ]
    return "-".join(parts) or "default"


def shape_id(shape: tuple[int, ...]) -> str:
    return f"shape{list(shape)}"


def seed_id(seed: int) -> str:
    return f"seed{seed}"


def on_every_shape(cases: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Each of `cases` on every shape of SHAPES, the seed rotating through 0, 1, 2, as pytest
    params (options, shape, seed)."""
    params = []
    for index, options in enumerate(cases):
        for offset, shape in enumerate(SHAPES):
            seed = (index + offset) % 3
            label = f"{options_id(options)}-{shape_id(shape)}-seed{seed}"
            params.append(pytest.param(dict(options), shape, seed, id=label))
    return params


# ---------------------------------------------------------------- the contract


def torch_message(build: Callable[[], object]) -> str:
    """The message of the ValueError that `build` (a torch constructor call) raises."""
    with pytest.raises(ValueError) as raised:
        build()
    return str(raised.value)


def assert_same_error(call: Callable[[], object], build_torch: Callable[[], object]) -> None:
    """`call` raises the ValueError that `build_torch` raises, with the same message."""
    with pytest.raises(ValueError, match=f"^{re.escape(torch_message(build_torch))}$"):
        call()


def assert_rejects_like_torch(
    function: Optimizer,
    optimizer: type[torch.optim.Optimizer],
    options: Mapping[str, Any],
    torch_options: Mapping[str, Any] | None = None,
) -> None:
    """`function` rejects `options` as torch's constructor rejects `torch_options` (default: the
    same), and leaves the state untouched."""
    state: dict[str, Any] = {}
    x = torch.ones(2, dtype=torch.float64)
    assert_same_error(
        lambda: function(x, torch.ones_like(x), state, **options),
        lambda: optimizer([torch.nn.Parameter(torch.zeros(2))], **(torch_options or options)),
    )
    assert state == {}, "a rejected call must leave the state untouched"


def assert_keeps_dtype_and_device(
    function: Optimizer,
    options: Mapping[str, Any],
    *,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    shape: tuple[int, ...] = (3, 2),
    steps: int = 3,
    scalar_state: Collection[str] = (),
    stateless: bool = False,
) -> dict[str, Any]:
    """`steps` steps: the result and every state tensor keep x's dtype, device and shape (0-d for
    the names in `scalar_state`). Returns the state."""
    x = torch.ones(shape, dtype=dtype, device=device)
    state: dict[str, Any] = {}
    for _ in range(steps):
        x = function(x, torch.full_like(x, 0.5), state, **options)
        assert (x.dtype, x.device.type, x.shape) == (dtype, device, shape)
    tensors = {name: value for name, value in state.items() if isinstance(value, Tensor)}
    assert stateless or tensors, "no state tensors kept"
    for name, value in tensors.items():
        expected = (dtype, device, () if name in scalar_state else shape)
        assert (value.dtype, value.device.type, value.shape) == expected, name
    return state


def assert_same_state_names(
    function: Optimizer,
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


def constant_gradient_path(
    function: Optimizer, lrs: Sequence[float], **options: Any
) -> list[float]:
    """θ after each step from θ_0 = 0 with g ≡ 1, one step per learning rate in `lrs`."""
    x, state, path = torch.zeros((), dtype=torch.float64), dict[str, Any](), list[float]()
    for lr in lrs:
        x = function(x, torch.ones_like(x), state, lr=lr, **options)
        path.append(x.item())
    return path


# ---------------------------------------------------------------- torch's verdict on a bug

SCHEDULE_BUG_STEPS = 60  # as many as the suite-wide known-bug test looks at


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


def assert_torch_tells_schedule_bug_apart(
    bug: KnownBug, scheduler: type[lr_scheduler.LRScheduler]
) -> None:
    """torch's schedule and the bug's part by more than 1e-6 of the largest lr (or the bug
    raises) within SCHEDULE_BUG_STEPS steps: the exactness tests would catch it."""
    expected = torch_values(scheduler, bug.exposed_with, SCHEDULE_BUG_STEPS)
    try:
        got = [bug.run(step, **bug.exposed_with) for step in range(SCHEDULE_BUG_STEPS)]
    except Exception:  # a crash is told apart too
        return
    scale = max(abs(value) for value in expected) or 1.0
    assert any(abs(a - b) > 1e-6 * scale for a, b in zip(expected, got, strict=True)), (
        f"{bug.id} gives torch's values for {dict(bug.exposed_with)}"
    )
