"""AdaGrad, exactly as torch.optim.Adagrad (`_single_tensor_adagrad`, dense gradients)."""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from reference._common import (
    State,
    advance_step,
    check_eps,
    check_lr,
    check_nonnegative,
    oriented_gradient,
)
from reference.known_bug import KnownBug, branch

__all__ = ["BUGS", "adagrad"]


def adagrad(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
) -> Tensor:
    r"""One AdaGrad step: each coordinate's step shrinks with its accumulated squared gradients.

    Algorithm (γ = lr, η = lr_decay, λ = weight_decay, s_0 = initial_accumulator_value, ε = eps),
    for t = 1, 2, ...:

        g_t ← ∇f(θ_{t−1})                 (−∇f(θ_{t−1}) if maximize)
        g_t ← g_t + λ θ_{t−1}             (if λ ≠ 0)
        γ_t ← γ / (1 + (t − 1) η)
        s_t ← s_{t−1} + g_t²
        θ_t ← θ_{t−1} − γ_t g_t / (√s_t + ε)

    Hyperparameters: lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
    eps=1e-10, maximize=False. State: "step" (t), "sum" (s_t).

    Conventions: eps is added outside the square root; the step counter is incremented before
    use, so lr_decay leaves the first step undecayed; weight decay is the L2 term added to the
    gradient (and so accumulated); the first step is ≈ −γ sign(g).
    Lecture notes (d2l) put eps = 1e-6 inside the root, √(s_t + ε); optax starts s_0 at 0.1.
    """
    check_lr(lr)
    check_nonnegative("lr_decay", lr_decay)
    check_nonnegative("weight_decay", weight_decay)
    check_nonnegative("initial_accumulator_value", initial_accumulator_value)
    check_eps(eps)
    return _adagrad(
        x,
        grad,
        state,
        lr=lr,
        lr_decay=lr_decay,
        weight_decay=weight_decay,
        initial_accumulator_value=initial_accumulator_value,
        eps=eps,
        maximize=maximize,
    )


def _adagrad(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """torch's single-tensor Adagrad step; `bug` selects a known student mistake."""
    if "sum" not in state:
        start = 0.0 if bug == "ignores_initial_accumulator_value" else initial_accumulator_value
        state["sum"] = torch.full_like(x, start)
    t = advance_step(state)
    g = oriented_gradient(x, grad, weight_decay, maximize)
    decays = t if bug == "lr_decay_counts_from_one" else t - 1
    step_size = lr / (1 + decays * lr_decay)
    if bug == "accumulates_abs":
        total = state["sum"] + g.abs()
    elif bug == "no_accumulation":
        total = g * g
    else:
        total = state["sum"] + g * g
    state["sum"] = total
    if bug == "notes_eps_inside_root":
        eps = NOTES_EPS
    inside = bug in ("eps_inside_root", "notes_eps_inside_root")
    denominator = (total + eps).sqrt() if inside else total.sqrt() + eps
    return x - step_size * (g / denominator)


_bug = functools.partial(branch, "adagrad", _adagrad)
NOTES_EPS = 1e-6  # the lecture notes' ε, which they put inside the root

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "eps_inside_root",
        "Adds eps inside the square root, √(s + ε), as the lecture notes do (shows for tiny g).",
        "Re-read `x ← x - clr · g / (√s + eps)`: where does eps sit?",
    ),
    _bug(
        "notes_eps_inside_root",
        "Follows the lecture notes, √(s + ε) with their ε = 1e-6, instead of √s + eps with "
        "the eps it is given.",
        "Re-read `x ← x - clr · g / (√s + eps)` and `the notes put eps inside the root, √(s + ε), "
        "with ε = 1e-6`: here eps is added after the root, and its value is the eps argument.",
    ),
    _bug(
        "accumulates_abs",
        "Accumulates |g| instead of g², so steps do not shrink like 1/√t.",
        "Re-read `s ← s + g²`: what is added each step?",
    ),
    _bug(
        "no_accumulation",
        "Keeps only this step's g² instead of the running sum, so every step is about ±γ.",
        "Re-read `s ← s + g²`: what happens to the s of the previous step?",
    ),
    _bug(
        "lr_decay_counts_from_one",
        "Decays the learning rate with t instead of t − 1, so even the first step is decayed.",
        "Re-read `(no decay on the first step)` beside `clr ← lr / (1 + (t - 1) · lr_decay)`.",
        lr_decay=0.1,
    ),
    _bug(
        "ignores_initial_accumulator_value",
        "Starts the accumulator at 0 whatever initial_accumulator_value says.",
        "Re-read `(s starts at initial_accumulator_value)`: which hyperparameter gives its first "
        "value?",
        initial_accumulator_value=0.1,
    ),
)
