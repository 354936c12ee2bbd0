"""RAdam (Liu et al. 2020) exactly as torch.optim.RAdam computes it, and its known bugs."""

from __future__ import annotations

import functools
import math

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


def radam(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Tensor:
    r"""One step of RAdam (torch.optim.RAdam); returns the new parameters and updates `state`.

    Algorithm, for t = 1, 2, ...::

        g      = -∇f(x) if maximize else ∇f(x)
        g      = g + λ·x                   (L2; not with decoupled_weight_decay)
        x      = x·(1 - γ·λ)               (decoupled_weight_decay only)
        m      = β1·m + (1 - β1)·g
        v      = β2·v + (1 - β2)·g²
        m̂      = m / (1 - β1^t)
        ρ_∞    = 2/(1 - β2) - 1
        ρ_t    = ρ_∞ - 2·t·β2^t / (1 - β2^t)
        if ρ_t > 5:
            r  = √((ρ_t - 4)(ρ_t - 2)ρ_∞ / ((ρ_∞ - 4)(ρ_∞ - 2)ρ_t))
            x  = x - γ·m̂ · r · √(1 - β2^t) / (√v + ε)
        else:
            x  = x - γ·m̂

    Hyperparameters: lr γ = 1e-3, betas (β1, β2) = (0.9, 0.999), eps ε = 1e-8,
    weight_decay λ = 0, decoupled_weight_decay = False, maximize = False.

    State: "step" (t), "exp_avg" (m), "exp_avg_sq" (v); both stored un-corrected, zeros at first.

    Conventions: the threshold is strictly ρ_t > 5 (the paper says 4), so with β2 = 0.999
    steps 1 to 5 are plain bias-corrected momentum steps and rectification starts at step 6;
    ε is added to the raw √v, before the factor √(1 - β2^t); L2 decay enters the gradient after
    the negation for maximize, decoupled decay shrinks x (by γλ) before the moments; the step
    counter is incremented before use, so the first step has t = 1.
    """
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative("weight_decay", weight_decay)
    return _radam(
        x,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        decoupled_weight_decay=decoupled_weight_decay,
        maximize=maximize,
    )


def _rectification(rho_t: float, rho_inf: float) -> float:
    """The variance rectification factor r of the algorithm box."""
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


def _radam(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """The RAdam algorithm of `radam`'s docstring, unvalidated; `bug` selects a known bug."""
    beta1, beta2 = betas
    t = advance_step(state)
    g = oriented_gradient(x, grad, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    if decoupled_weight_decay:
        x = x * (1 - lr * weight_decay)
    m = torch.lerp(zeros_buffer(state, "exp_avg", x), g, 1 - beta1)
    v = zeros_buffer(state, "exp_avg_sq", x) * beta2 + (1 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = m, v
    bias_correction2 = 1 - beta2**t
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / bias_correction2
    if rho_t > (4.0 if bug == "threshold_four" else 5.0):
        r = 1.0 if bug == "rectification_missing" else _rectification(rho_t, rho_inf)
        if bug == "eps_on_corrected_root":
            adaptive = 1 / ((v / bias_correction2).sqrt() + eps)
        else:
            root = 1.0 if bug == "missing_sqrt_bc2" else math.sqrt(bias_correction2)
            adaptive = root / (v.sqrt() + eps)
        return x - m_hat * lr * adaptive * r
    if bug == "early_steps_adam_normalised":
        return x - lr * m_hat / ((v / bias_correction2).sqrt() + eps)
    return x - lr * (m if bug == "early_steps_uncorrected" else m_hat)


_bug = functools.partial(branch, "radam", _radam)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "threshold_four",
        "rectification starts when ρ_t > 4, the paper's threshold",
        "Re-read `if ρ_t > 5:`: from which step on is the update rectified?",
    ),
    _bug(
        "early_steps_adam_normalised",
        "the un-rectified early steps divide m̂ by √v̂ + ε like Adam",
        "Re-read `(no adaptive step at all)`: is the early step adaptive?",
    ),
    _bug(
        "early_steps_uncorrected",
        "the un-rectified early steps use the raw m instead of m̂",
        "Re-read `else:         x ← x - lr · m̂`: which first moment does it use?",
    ),
    _bug(
        "missing_sqrt_bc2",
        "the rectified step leaves out the factor √(1 - β2^t)",
        "Re-read `x ← x - lr · m̂ · r · √(1 - beta2^t) / (√v + eps)`: count the factors.",
    ),
    _bug(
        "eps_on_corrected_root",
        "ε is added to the bias-corrected √v̂, as in Adam",
        "Re-read `added to the root of the UNcorrected v.`: which root does eps join?",
    ),
    _bug(
        "rectification_missing",
        "the rectified step leaves out the rectification factor r",
        "Re-read `x ← x - lr · m̂ · r · √(1 - beta2^t) / (√v + eps)`: is r used?",
    ),
)
