"""RMSProp (plain, with momentum, centered), exactly as torch.optim.RMSprop."""

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

__all__ = ["BUGS", "rmsprop"]


def rmsprop(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
) -> Tensor:
    r"""One RMSProp step: the gradient divided by a moving root mean square of past gradients.

    Algorithm (γ = lr, α = alpha, ε = eps, λ = weight_decay, μ = momentum), v_0 = ḡ_0 = b_0 = 0,
    for t = 1, 2, ...:

        g_t ← ∇f(θ_{t−1})                 (−∇f(θ_{t−1}) if maximize)
        g_t ← g_t + λ θ_{t−1}             (if λ ≠ 0)
        v_t ← α v_{t−1} + (1 − α) g_t²
        ḡ_t ← α ḡ_{t−1} + (1 − α) g_t     (if centered)
        a_t ← √(v_t − ḡ_t²) + ε           (if centered; else a_t ← √v_t + ε)
        b_t ← μ b_{t−1} + g_t / a_t       (if μ > 0)
        θ_t ← θ_{t−1} − γ b_t             (if μ > 0; else θ_t ← θ_{t−1} − γ g_t / a_t)

    Hyperparameters: lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
    centered=False, maximize=False. State: "step" (t, counted but unused), "square_avg" (v_t),
    "momentum_buffer" (b_t, only if momentum > 0), "grad_avg" (ḡ_t, only if centered).

    Conventions: eps is added outside the square root; no bias correction, so the first step is
    ≈ −γ sign(g)/√(1 − α) (−10γ for α = 0.99); the momentum buffer starts at 0 (unlike SGD's);
    weight decay is the L2 term added to the gradient; the step counter increments before use.
    Lecture notes (d2l, Keras, optax) use α = 0.9 (d2l's γ) and put ε inside the root.
    """
    check_lr(lr)
    check_eps(eps)
    check_nonnegative("momentum", momentum)
    check_nonnegative("weight_decay", weight_decay)
    check_nonnegative("alpha", alpha)
    return _rmsprop(
        x,
        grad,
        state,
        lr=lr,
        alpha=alpha,
        eps=eps,
        weight_decay=weight_decay,
        momentum=momentum,
        centered=centered,
        maximize=maximize,
    )


def _rmsprop(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """torch's single-tensor RMSprop step; `bug` selects a known student mistake."""
    g = oriented_gradient(x, grad, weight_decay, maximize)
    if "square_avg" not in state:
        _initialise(state, x, g, momentum, centered, bug)
    t = advance_step(state)
    previous = state["square_avg"]
    if bug == "alpha_swapped":
        square_avg = (1 - alpha) * previous + alpha * g * g
    else:
        square_avg = alpha * previous + (1 - alpha) * g * g
    state["square_avg"] = square_avg
    if bug == "square_avg_updated_after_use":
        square_avg = previous
    variance = square_avg
    if centered:
        grad_avg = torch.lerp(state["grad_avg"], g, 1 - alpha)
        state["grad_avg"] = grad_avg
        if bug == "centered_subtracts_grad_avg":
            variance = square_avg - grad_avg
        else:
            variance = square_avg - grad_avg * grad_avg
    if bug == "bias_correction":
        variance = variance / (1 - alpha**t)
    if bug == "no_square_root":
        avg = variance + eps
    elif bug == "eps_inside_root":
        avg = (variance + eps).sqrt()
    else:
        avg = variance.sqrt() + eps
    if momentum > 0:
        buffer = momentum * state["momentum_buffer"] + g / avg
        state["momentum_buffer"] = buffer
        return x - lr * buffer
    return x - lr * (g / avg)


def _initialise(
    state: State, x: Tensor, g: Tensor, momentum: float, centered: bool, bug: str | None
) -> None:
    """torch's lazy state: zeros shaped as x, a buffer only if momentum > 0, ḡ only if centered."""
    state["square_avg"] = torch.zeros_like(x)
    if momentum > 0:
        start_at_g = bug == "momentum_buffer_starts_at_g"
        state["momentum_buffer"] = g.clone() if start_at_g else torch.zeros_like(x)
    if centered:
        state["grad_avg"] = torch.zeros_like(x)


_bug = functools.partial(branch, "rmsprop", _rmsprop)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "bias_correction",
        "Divides v_t by 1 − α^t as Adam does, so the first steps are about γ instead of 10γ.",
        "Re-read `a ← √v + eps` and `is no bias correction.`: which v enters the root?",
    ),
    _bug(
        "no_square_root",
        "Divides the gradient by v_t + ε itself, forgetting the square root.",
        "Re-read `a ← √v + eps`: what is applied to v?",
    ),
    _bug(
        "alpha_swapped",
        "Weighs the old average by 1 − α and the new g² by α.",
        "Re-read `v ← alpha · v + (1 - alpha) · g²`: which weight goes with which term?",
    ),
    _bug(
        "square_avg_updated_after_use",
        "Divides by the previous v_{t−1} and updates the average afterwards.",
        "Re-read the order of `v ← alpha · v + (1 - alpha) · g²` and `a ← √v + eps`: which v does "
        "a use?",
    ),
    _bug(
        "eps_inside_root",
        "Adds eps inside the square root, √(v + ε), as Keras and optax do (shows for tiny g).",
        "Re-read `a ← √v + eps`: where does eps sit?",
    ),
    _bug(
        "centered_subtracts_grad_avg",
        "Subtracts the mean gradient ḡ instead of its square ḡ² from v in the centered variant.",
        "Re-read `a ← √(v - ḡ²) + eps`: what is subtracted from v?",
        centered=True,
    ),
    _bug(
        "momentum_buffer_starts_at_g",
        "Starts the momentum buffer at the first gradient, as SGD does, instead of at 0.",
        "Re-read `v, ḡ and b all start at zero (b too: unlike SGD's buffer, it does not start at "
        "g)`.",
        momentum=0.9,
    ),
)
