"""The record of one test problem, and the seeding rule that makes stochastic ones reproducible."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor

Category = Literal["convex", "ill-conditioned", "saddle", "non-convex", "stochastic", "probe"]
CATEGORIES: tuple[Category, ...] = get_args(Category)

StepFunction = Callable[[Tensor, int], Tensor]


@dataclass(frozen=True)
class Problem:
    """A problem an optimizer is run on: where to start, what to minimise, which gradient to feed.

    `f(x)` is the objective at x, a 0-d tensor: the one a student plots (noise-free, full
    batch). `grad(x, step)` is the gradient fed to the optimizer at step `step` (0-based), a new
    tensor of x's shape: for stochastic problems and probes it depends on the step (seeded
    noise, a minibatch, a scripted gradient sequence) and is the exact gradient of
    `f_at(x, step)`. Both are fields, called directly: every step of a case calls them, and a
    method around them would be one more traced call (the worker's watch for delegation).
    Every tensor result has x's dtype and device, so problems run in float32 or float64 on any
    device (the "meta" device included). `minimum` holds the
    coordinates of a known minimiser, flattened in `x.flatten()` order (None where there is no
    minimiser, or no unique one); `lr_scale(step)` multiplies the case's learning rate.
    """

    name: str
    category: Category
    description: str
    steps: int
    initial: Callable[[], Tensor]
    f: Callable[[Tensor], Tensor]
    grad: StepFunction
    step_objective: StepFunction | None = None
    minimizer: Callable[[], tuple[float, ...]] | None = None
    lr_schedule: Callable[[int], float] | None = None
    steps_per_epoch: int | None = None

    def start(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
    ) -> Tensor:
        """A fresh copy of the start point: callers may modify it freely."""
        return self.initial().to(device=device, dtype=dtype, copy=True)

    def f_at(self, x: Tensor, step: int) -> Tensor:
        """The objective whose gradient the optimizer sees at `step` (the minibatch, noisy loss)."""
        return self.f(x) if self.step_objective is None else self.step_objective(x, step)

    @property
    def minimum(self) -> tuple[float, ...] | None:
        """A known minimiser, flattened; None where f has none (or no unique one)."""
        return None if self.minimizer is None else self.minimizer()

    def lr_scale(self, step: int) -> float:
        """The factor on the case's learning rate at `step`: 1.0 except on the lr-change probe."""
        return 1.0 if self.lr_schedule is None else self.lr_schedule(step)


def seeded_generator(*key: str | int) -> torch.Generator:
    """A fresh CPU generator seeded by a stable hash of `key`, e.g. (name, "epoch", seed, epoch).

    A fresh generator per draw keeps a stochastic problem free of hidden state: what it draws
    at a step depends on the key alone, never on what was drawn before.
    """
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "big") >> 1)


def fixed_point(*values: float) -> Callable[[], Tensor]:
    """A start point given by its coordinates (a vector)."""
    point = torch.tensor(values, dtype=torch.float64)
    return lambda: point


def fixed_minimum(*values: float) -> Callable[[], tuple[float, ...]]:
    """A minimiser known in closed form."""
    return lambda: values
