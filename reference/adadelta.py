"""Adadelta, exactly as torch.optim.Adadelta (`_single_tensor_adadelta`)."""

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

__all__ = ["BUGS", "adadelta"]


def adadelta(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    r"""One Adadelta step: the gradient rescaled by RMS(past steps) / RMS(past gradients).

    Algorithm (γ = lr, ρ = rho, ε = eps, λ = weight_decay), v_0 = u_0 = 0, for t = 1, 2, ...:

        g_t ← ∇f(θ_{t−1})                 (−∇f(θ_{t−1}) if maximize)
        g_t ← g_t + λ θ_{t−1}             (if λ ≠ 0)
        v_t ← ρ v_{t−1} + (1 − ρ) g_t²
        Δ_t ← √(u_{t−1} + ε) / √(v_t + ε) · g_t
        u_t ← ρ u_{t−1} + (1 − ρ) Δ_t²
        θ_t ← θ_{t−1} − γ Δ_t

    Hyperparameters: lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False. State: "step"
    (t, counted but unused), "square_avg" (v_t), "acc_delta" (u_t).

    Conventions: eps is inside both square roots; u accumulates the unscaled Δ_t (before × γ),
    using u_{t−1} for Δ_t and updating u only afterwards; weight decay is the L2 term added to
    the gradient; the step counter increments before use; the first step is
    ≈ −γ √(ε/(1 − ρ)) sign(g).
    Zeiler's paper (and the lecture notes) have no γ, i.e. γ = 1; d2l uses ε = 1e-5.
    """
    check_lr(lr)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"Invalid rho value: {rho}")
    check_eps(eps)
    check_nonnegative("weight_decay", weight_decay)
    return _adadelta(
        x, grad, state, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize
    )


def _adadelta(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """torch's single-tensor Adadelta step; `bug` selects a known student mistake."""
    if "square_avg" not in state:
        state["square_avg"] = torch.zeros_like(x)
        state["acc_delta"] = torch.zeros_like(x)
    advance_step(state)
    g = oriented_gradient(x, grad, weight_decay, maximize)
    acc_delta = state["acc_delta"]
    if bug == "acc_delta_updated_before_step":
        acc_delta = rho * acc_delta + (1 - rho) * g * g
    if bug == "rho_swapped":
        square_avg = (1 - rho) * state["square_avg"] + rho * g * g
    else:
        square_avg = rho * state["square_avg"] + (1 - rho) * g * g
    if bug == "eps_outside_numerator_root":
        numerator = acc_delta.sqrt() + eps
    else:
        numerator = (acc_delta + eps).sqrt()
    delta = numerator / (square_avg + eps).sqrt() * g
    if bug == "acc_delta_updated_before_step":
        state["acc_delta"] = acc_delta
    elif bug == "acc_delta_of_scaled_step":
        state["acc_delta"] = rho * acc_delta + (1 - rho) * (lr * delta) ** 2
    else:
        state["acc_delta"] = rho * acc_delta + (1 - rho) * delta * delta
    state["square_avg"] = square_avg
    return x - delta if bug == "no_lr" else x - lr * delta


_bug = functools.partial(branch, "adadelta", _adadelta)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "acc_delta_updated_before_step",
        "Updates acc_delta with g² before the step: u then equals v and every step is γ g.",
        "Re-read `(u from the PREVIOUS step)` and `(after Δ, with the unscaled Δ)`: order and "
        "content.",
    ),
    _bug(
        "rho_swapped",
        "Weighs the old average of g² by 1 − ρ and the new g² by ρ.",
        "Re-read `v ← rho · v + (1 - rho) · g²`: which weight goes with which term?",
    ),
    _bug(
        "eps_outside_numerator_root",
        "Adds eps after the numerator's root, √u + ε, so the first step is ~1000× too small.",
        "Re-read `Δ ← √(u + eps) / √(v + eps) · g`: where does each eps sit?",
    ),
    _bug(
        "acc_delta_of_scaled_step",
        "Accumulates the squared step after multiplying it by the learning rate.",
        "Re-read `u ← rho · u + (1 - rho) · Δ²                 (after Δ, with the unscaled Δ)`: is "
        "Δ scaled by lr there?",
        lr=0.5,
    ),
    _bug(
        "no_lr",
        "Follows Zeiler's paper, which has no learning rate, and ignores lr.",
        "Re-read `x ← x - lr · Δ`: what multiplies Δ?",
        lr=0.5,
    ),
)
