"""The placeholder as a known bug: a plain gradient step, x - lr · g, in place of an optimizer's
own update, so that a placeholder is told just that instead of a mistake it does not make."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import Tensor

from reference.known_bug import KnownBug

# The last line of each update in the released docstring (adamw: that of `adam`, it defers to).
UPDATE_LINES = {
    "momentum": "x ← x - lr · b",
    "nesterov": "x ← x - lr · (g + momentum · b)",
    "adagrad": "x ← x - clr · g / (√s + eps)",
    "rmsprop": "x ← x - lr · g / a",
    "adadelta": "x ← x - lr · Δ",
    "adam": "x ← x - lr · m̂ / (√v̂ + eps)",
    "adamw": "x ← x - lr · m̂ / (√v̂ + eps)",
    "adamax": "x ← x - lr / (1 - beta1^t) · m / u",
    "nadam": "x ← x - lr · (1 - μ) / (1 - Π) · g / d - lr · μ_next / (1 - Π · μ_next) · m / d",
    "radam": "x ← x - lr · m̂ · r · √(1 - beta2^t) / (√v + eps)",
    "adabound": "x ← x - clip(α / (√v + eps), lower, upper) · m",
    "swats": "x ← x + p",
}


def _plain_step(correct: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """x - lr · grad, called exactly like `correct` (its signature and defaults)."""
    default_lr = inspect.signature(correct).parameters["lr"].default

    def step(x: Tensor, grad: Tensor, state: dict[str, Any], **options: Any) -> Tensor:
        return x - options.get("lr", default_lr) * grad

    step.__signature__ = inspect.signature(correct)  # type: ignore[attr-defined]
    return step


def plain_steps(functions: dict[str, Callable[..., Tensor]]) -> tuple[KnownBug, ...]:
    """The placeholder known bug of every optimizer of UPDATE_LINES."""
    return tuple(
        KnownBug(
            name,
            "plain_gradient_step",
            "Takes a plain gradient step, x - lr · g, and keeps no state: the update of the "
            "docstring is not written yet.",
            f"Write the whole update of the docstring, down to `{line}`.",
            _plain_step(functions[name]),
        )
        for name, line in UPDATE_LINES.items()
    )
