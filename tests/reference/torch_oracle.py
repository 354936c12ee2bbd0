"""Step a reference optimizer and its torch.optim counterpart side by side and compare.

Both see the gradient of the same seeded problem at their own point, so an error compounds
instead of being hidden; parameters and every state entry must agree to a relative 1e-10 at
every step. Schedules are held to torch.optim.lr_scheduler the same way (the end of the module).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch.optim import lr_scheduler

Test = TypeVar("Test", bound=Callable[..., None])
RELATIVE_TOLERANCE = 1e-10
PROVEN: dict[str, str] = {}  # graded function -> the torch oracle a test holds it to


def proves(function: str, oracle: str) -> Callable[[Test], Test]:
    """Mark a test as the proof that `function` equals `oracle`; tests/reference/test_coverage.py
    fails for any catalogue function with a torch equivalent that no test proves."""

    def register(test: Test) -> Test:
        PROVEN[function] = oracle
        return test

    return register


SHAPES: tuple[tuple[int, ...], ...] = ((), (7,), (3, 4))


def seeded_gradient(shape: tuple[int, ...], seed: int) -> Callable[[Tensor, int], Tensor]:
    """A noisy, badly scaled quadratic's gradient: curvature per coordinate, noise per step."""
    generator = torch.Generator().manual_seed(seed)
    curvature = torch.empty(shape, dtype=torch.float64).uniform_(0.05, 3.0, generator=generator)
    centre = torch.randn(shape, dtype=torch.float64, generator=generator)

    def gradient(x: Tensor, step: int) -> Tensor:
        noise = torch.Generator().manual_seed(seed * 100_003 + step)
        return curvature * (x - centre) + 0.3 * torch.randn(
            shape, dtype=torch.float64, generator=noise
        )

    return gradient


def start_point(shape: tuple[int, ...], seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed + 1)
    return 3 * torch.randn(shape, dtype=torch.float64, generator=generator)


def tiny_gradient(shape: tuple[int, ...], seed: int) -> Callable[[Tensor, int], Tensor]:
    """Gradients of up to ~5e-8, independent of x: √v is as small as eps, pinning eps's place."""
    generator = torch.Generator().manual_seed(seed)
    base = 1e-8 * torch.empty(shape, dtype=torch.float64).uniform_(-3.0, 3.0, generator=generator)
    return lambda x, step: base * (1.0 + 0.5 * math.sin(step))


def spike_gradient(shape: tuple[int, ...], seed: int) -> Callable[[Tensor, int], Tensor]:
    """Three huge gradients, then small ones: AMSGrad's stored maximum must bind for long."""
    quadratic = seeded_gradient(shape, seed)
    return lambda x, step: (30.0 if step < 3 else 0.03) * quadratic(x, step)


def assert_close(expected: Tensor, got: Any, what: str) -> None:
    """Relative (to the largest magnitude) error of at most RELATIVE_TOLERANCE, elementwise."""
    got_t = torch.as_tensor(got, dtype=torch.float64)
    expected = expected.to(torch.float64)
    assert got_t.shape == expected.shape, (
        f"{what}: shape {tuple(got_t.shape)}, torch {tuple(expected.shape)}"
    )
    scale = max(expected.abs().max().item() if expected.numel() else 0.0, 1e-300)
    error = (got_t - expected).abs().max().item() if expected.numel() else 0.0
    assert error <= RELATIVE_TOLERANCE * scale, (
        f"{what}: max error {error:.3e} for scale {scale:.3e}"
    )


def assert_matches_torch(
    reference: Callable[..., Tensor],
    torch_optimizer: type[torch.optim.Optimizer],
    hyperparameters: Mapping[str, Any],
    *,
    shape: tuple[int, ...],
    seed: int,
    steps: int = 100,
    torch_hyperparameters: Mapping[str, Any] | None = None,
    lr_at: Callable[[int], float] | None = None,
    gradient: Callable[[Tensor, int], Tensor] | None = None,
) -> None:
    """Run both for `steps` steps; compare parameters and every torch state entry at each step.

    `torch_hyperparameters` default to `hyperparameters` (pass them when the names differ, e.g.
    a reference `momentum` function built on SGD). `lr_at(step)` changes the learning rate
    of both mid-run.
    """
    gradient = gradient or seeded_gradient(shape, seed)
    x = start_point(shape, seed)
    parameter = torch.nn.Parameter(x.clone())
    optimizer = torch_optimizer([parameter], **dict(torch_hyperparameters or hyperparameters))
    state: dict[str, Any] = {}
    for step in range(steps):
        kwargs = dict(hyperparameters)
        if lr_at is not None:
            kwargs["lr"] = lr_at(step)
            for group in optimizer.param_groups:
                group["lr"] = kwargs["lr"]
        parameter.grad = gradient(parameter.detach(), step)
        optimizer.step()
        x_in, g = x, gradient(x, step)
        x_copy, g_copy = x_in.clone(), g.clone()
        x = reference(x_in, g, state, **kwargs)
        assert torch.equal(x_in, x_copy) and torch.equal(g, g_copy), "reference modified its input"
        assert_close(parameter.detach(), x, f"parameters at step {step + 1}")
        for name, value in optimizer.state[parameter].items():
            if value is None:
                continue
            assert name in state, (
                f"state {name!r} missing at step {step + 1} (reference has {sorted(state)})"
            )
            assert_close(torch.as_tensor(value), state[name], f"state {name!r} at step {step + 1}")


# ---------------------------------------------------------------- schedules

SchedulerFactory = Callable[[torch.optim.Optimizer], lr_scheduler.LRScheduler]


def optimizer_to_schedule(lr: float = 0.1) -> torch.optim.SGD:
    """SGD with momentum, since CyclicLR and OneCycleLR cycle the momentum too."""
    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    return torch.optim.SGD([parameter], lr=lr, momentum=0.9)


def torch_schedule(make: SchedulerFactory, steps: int, *, lr: float = 0.1) -> list[float]:
    """The lr torch's scheduler gives at steps 0 .. steps − 1, stepped as in a training loop.

    The optimizer steps before the scheduler each time (pytest turns torch's order warning into
    an error).
    """
    optimizer = optimizer_to_schedule(lr)
    scheduler = make(optimizer)
    values = [float(optimizer.param_groups[0]["lr"])]
    for _ in range(steps - 1):
        optimizer.step()
        scheduler.step()
        values.append(float(optimizer.param_groups[0]["lr"]))
    return values


def torch_values(
    scheduler: type[lr_scheduler.LRScheduler], options: Mapping[str, Any], steps: int
) -> list[float]:
    """torch's schedule for the reference's `options`: the same names, lr set on the optimizer."""
    rest = {name: value for name, value in options.items() if name != "lr"}
    return torch_schedule(lambda o: scheduler(o, **rest), steps, lr=options.get("lr", 0.1))


def assert_same_schedule(expected: Sequence[float], got: Sequence[float]) -> None:
    """Every value within RELATIVE_TOLERANCE of the schedule's largest value.

    Relative to the largest value, not to each one: torch's recursive forms drift by a few ulps
    of the lr, which is not small relative to a value near η_min = 0.
    """
    assert len(got) == len(expected)
    scale = max(abs(value) for value in expected) or 1.0
    for step, (want, have) in enumerate(zip(expected, got, strict=True)):
        assert abs(have - want) <= RELATIVE_TOLERANCE * scale, (
            f"step {step}: torch {want!r}, reference {have!r}"
        )
