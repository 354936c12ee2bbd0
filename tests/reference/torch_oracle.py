"""Step a reference optimizer and its torch.optim counterpart side by side and compare.

Both see the gradient of the same seeded problem at their own point, so an error compounds
instead of being hidden; parameters and every state entry must agree to a relative 1e-10 at
every step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from torch import Tensor

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
