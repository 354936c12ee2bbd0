"""NAdam (Dozat 2016) with torch's momentum schedule, exactly as torch.optim.NAdam, and its bugs."""

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


def nadam(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Tensor:
    r"""One step of NAdam (torch.optim.NAdam); returns the new parameters and updates `state`.

    Algorithm, for t = 1, 2, ...::

        g      = -∇f(x) if maximize else ∇f(x)
        g      = g + λ·x                   (L2; not with decoupled_weight_decay)
        x      = x·(1 - γ·λ)               (decoupled_weight_decay only)
        μ_t    = β1·(1 - ½·0.96^(t·ψ))
        μ_t+1  = β1·(1 - ½·0.96^((t+1)·ψ))
        Π      = Π·μ_t                     (Π = 1 before the first step)
        m      = β1·m + (1 - β1)·g
        v      = β2·v + (1 - β2)·g²
        d      = √(v / (1 - β2^t)) + ε
        x      = x - γ·(1 - μ_t)/(1 - Π) · g/d - γ·μ_t+1/(1 - Π·μ_t+1) · m/d

    Hyperparameters: lr γ = 2e-3, betas (β1, β2) = (0.9, 0.999), eps ε = 1e-8,
    weight_decay λ = 0, momentum_decay ψ = 4e-3, decoupled_weight_decay = False,
    maximize = False.

    State: "step" (t), "mu_product" (Π, a Python float; torch keeps a 0-d tensor, compared by
    value), "exp_avg" (m), "exp_avg_sq" (v); m and v are stored un-corrected, zeros at first.

    Conventions: the momentum coefficient follows the schedule μ_t (about 0.45 for small t,
    reaching β1 only after thousands of steps) while m itself is averaged with the constant
    β1; ε is added outside the root, to the bias-corrected √v̂; L2 decay enters the gradient
    after the negation for maximize, decoupled decay shrinks x (by γλ) before the moments;
    the step counter is incremented before use, so the first step has t = 1.
    Lecture notes (Dozat's NAdam, as optax): no μ schedule, i.e. μ_t = β1 for every t.
    """
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative("weight_decay", weight_decay)
    check_nonnegative("momentum_decay", momentum_decay)
    return _nadam(
        x,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        momentum_decay=momentum_decay,
        decoupled_weight_decay=decoupled_weight_decay,
        maximize=maximize,
    )


def _momentum(beta1: float, t: int, momentum_decay: float) -> float:
    """torch's momentum schedule μ_t = β1·(1 - ½·0.96^(t·ψ))."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))


def _nadam(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """The NAdam algorithm of `nadam`'s docstring, unvalidated; `bug` selects a known bug."""
    beta1, beta2 = betas
    t = advance_step(state)
    g = oriented_gradient(x, grad, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    if decoupled_weight_decay:
        x = x * (1 - lr * weight_decay)
    scheduled = bug != "no_mu_schedule"
    mu = _momentum(beta1, t, momentum_decay) if scheduled else beta1
    mu_next = _momentum(beta1, t + 1, momentum_decay) if scheduled else beta1
    if bug == "mu_t_in_momentum_term":
        mu_next = mu
    mu_product = beta1**t if bug == "mu_product_as_power" else state.get("mu_product", 1.0) * mu
    state["mu_product"] = 1.0 if bug == "mu_product_not_stored" else mu_product
    m = torch.lerp(
        zeros_buffer(state, "exp_avg", x), g, 1 - (mu if bug == "exp_avg_uses_mu" else beta1)
    )
    v = zeros_buffer(state, "exp_avg_sq", x) * beta2 + (1 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = m, v
    denominator = (v / (1 - beta2**t)).sqrt() + eps
    gradient_term = (lr * (1 - mu) / (1 - mu_product)) * g / denominator
    momentum_term = (lr * mu_next / (1 - mu_product * mu_next)) * m / denominator
    return x - gradient_term - momentum_term


_bug = functools.partial(branch, "nadam", _nadam)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "no_mu_schedule",
        "the momentum coefficient is the constant β1 (Dozat's NAdam, as optax has it)",
        "Re-read `μ      ← beta1 · (1 - 0.5 · 0.96^(t · ψ))`: is the momentum coefficient "
        "constant?",
    ),
    _bug(
        "mu_t_in_momentum_term",
        "the momentum term uses this step's μ_t instead of the next step's μ_t+1",
        "Re-read `lr · μ_next / (1 - Π · μ_next) · m / d`: which μ appears in the m/d term?",
    ),
    _bug(
        "mu_product_as_power",
        "the product of the μ's is recomputed as β1^t",
        "Re-read `Π ← Π · μ`: which factors make up the product?",
    ),
    _bug(
        "mu_product_not_stored",
        "the product of the μ's is not kept between steps",
        'Re-read `Π ← Π · μ` and `"mu_product" (Π, a Python float)`: what carries over?',
    ),
    _bug(
        "exp_avg_uses_mu",
        "the first moment is averaged with the scheduled μ_t instead of β1",
        "Re-read `(the constant beta1, not μ)`: which coefficient averages m?",
    ),
)
