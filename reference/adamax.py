"""Adamax (Adam with the infinity norm) exactly as torch.optim.Adamax computes it, and its bugs."""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from reference._common import (
    State,
    advance_step,
    check_betas,
    check_eps,
    check_lr,
    check_nonnegative,
    oriented_gradient,
    zeros_buffer,
)
from reference.known_bug import KnownBug, branch


def adamax(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    r"""One step of Adamax (torch.optim.Adamax); returns the new parameters and updates `state`.

    Algorithm, for t = 1, 2, ...::

        g  = -∇f(x) if maximize else ∇f(x)
        g  = g + λ·x                       (L2 weight decay)
        m  = β1·m + (1 - β1)·g
        u  = max(β2·u, |g| + ε)
        x  = x - γ/(1 - β1^t) · m / u

    Hyperparameters: lr γ = 2e-3, betas (β1, β2) = (0.9, 0.999), eps ε = 1e-8,
    weight_decay λ = 0, maximize = False.

    State: "step" (t), "exp_avg" (m), "exp_inf" (u, the decayed infinity norm); both zeros
    before the first step.

    Conventions: ε is added to |g| inside the maximum (Kingma & Ba's Adamax has no ε); only m
    is bias-corrected, u never; weight decay is L2, added to the gradient after the negation
    for maximize; the step counter is incremented before use, so the first step has t = 1.
    """
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative("weight_decay", weight_decay)
    return _adamax(
        x, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize
    )


def _adamax(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """The Adamax algorithm of `adamax`'s docstring, unvalidated; `bug` selects a known bug."""
    beta1, beta2 = betas
    t = advance_step(state)
    g = oriented_gradient(x, grad, weight_decay, maximize)
    m = torch.lerp(zeros_buffer(state, "exp_avg", x), g, 1 - beta1)
    decayed = zeros_buffer(state, "exp_inf", x) * (1.0 if bug == "max_without_beta2" else beta2)
    magnitude = g if bug == "max_without_abs" else g.abs()
    u = torch.maximum(decayed, magnitude if bug == "eps_in_denominator" else magnitude + eps)
    state["exp_avg"], state["exp_inf"] = m, u
    if bug == "eps_in_denominator":
        u = u + eps
    if bug == "exp_inf_bias_corrected":
        u = u / (1 - beta2**t)
    bias_correction1 = 1.0 if bug == "no_bias_correction" else 1 - beta1**t
    return x - lr * (m / bias_correction1) / u


_bug = functools.partial(branch, "adamax", _adamax)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "eps_in_denominator",
        "ε is added to the denominator u instead of to |g| inside the maximum",
        "Re-read `u ← max(beta2 · u, |g| + eps)`: where exactly does eps enter?",
    ),
    _bug(
        "exp_inf_bias_corrected",
        "u is bias-corrected like Adam's v",
        "Re-read `(eps inside the max; u is not corrected)`: which quantities are corrected?",
    ),
    _bug(
        "max_without_beta2",
        "the infinity norm is the plain running maximum max(u, |g| + ε)",
        "Re-read `u ← max(beta2 · u, |g| + eps)`: what happens to the old u?",
    ),
    _bug(
        "max_without_abs",
        "the infinity norm takes the maximum of the signed gradient",
        "Re-read `u ← max(beta2 · u, |g| + eps)`: is it a norm of g?",
    ),
    _bug(
        "no_bias_correction",
        "m is used without its bias correction",
        "Re-read `x ← x - lr / (1 - beta1^t) · m / u`: what is the factor lr / (1 - beta1^t)?",
    ),
)
