"""AdaBound and AMSBound (Luo et al. 2019) as the authors' code computes them, and their bugs.

torch has no AdaBound; the reference is Luolc/AdaBound `adabound/adabound.py` (class AdaBound),
with `maximize` added as torch's optimizers have it.
"""

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
    oriented_gradient,
    zeros_buffer,
)
from reference.known_bug import KnownBug, branch


def adabound(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    final_lr: float = 0.1,
    gamma: float = 1e-3,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsbound: bool = False,
    maximize: bool = False,
) -> Tensor:
    r"""One step of AdaBound (AMSBound with amsbound=True); returns the new parameters.

    Algorithm, for t = 1, 2, ...::

        g      = -∇f(x) if maximize else ∇f(x)
        g      = g + λ·x                   (L2 weight decay)
        m      = β1·m + (1 - β1)·g
        v      = β2·v + (1 - β2)·g²
        v_max  = max(v_max, v)             (amsbound only; then v_max replaces v below)
        α      = γ·√(1 - β2^t) / (1 - β1^t)
        η*     = final_lr · γ / γ_0        (γ_0: the lr of the first step)
        lower  = η*·(1 - 1/(gamma·t + 1))
        upper  = η*·(1 + 1/(gamma·t))
        x      = x - clip(α / (√v + ε), lower, upper) · m

    Hyperparameters: lr γ = 1e-3, betas (β1, β2) = (0.9, 0.999), final_lr = 0.1,
    gamma = 1e-3, eps ε = 1e-8, weight_decay λ = 0, amsbound = False, maximize = False.

    State: "step" (t), "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (v_max, amsbound
    only), all un-corrected and zeros at first; "base_lr" (γ_0, a float), the lr of the first
    call, standing in for the authors' `base_lrs`, so that a changed lr moves both bounds.

    Conventions: the clip acts on the per-coordinate step size, bias factors included, and
    multiplies the un-corrected m; ε is added to the raw √v; there is no 1/√t factor (the
    paper's algorithm has one, the authors' code does not); weight decay is L2, added to the
    gradient after the negation for maximize; the step counter is incremented before use, so
    the first step has t = 1. At gamma·t = 0 the upper bound is +inf (the authors' code would
    divide by zero), and a zero base lr leaves final_lr unscaled.
    """
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    if not final_lr >= 0.0:
        raise ValueError(f"Invalid final learning rate: {final_lr}")
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"Invalid gamma parameter: {gamma}")
    return _adabound(
        x,
        grad,
        state,
        lr=lr,
        betas=betas,
        final_lr=final_lr,
        gamma=gamma,
        eps=eps,
        weight_decay=weight_decay,
        amsbound=amsbound,
        maximize=maximize,
    )


def _bounds(final_lr: float, gamma: float, t: int) -> tuple[float, float]:
    """The lower and upper bound of the step size at step t, both tending to final_lr."""
    lower = final_lr * (1 - 1 / (gamma * t + 1))
    upper = final_lr * (1 + 1 / (gamma * t)) if gamma * t > 0 else math.inf
    return lower, upper


def _adabound(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    final_lr: float = 0.1,
    gamma: float = 1e-3,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsbound: bool = False,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """The algorithm of `adabound`'s docstring, unvalidated; `bug` selects a known bug."""
    beta1, beta2 = betas
    t = advance_step(state)
    base_lr = state.setdefault("base_lr", lr)
    g = oriented_gradient(x, grad, weight_decay, maximize)
    m = zeros_buffer(state, "exp_avg", x) * beta1 + (1 - beta1) * g
    v = zeros_buffer(state, "exp_avg_sq", x) * beta2 + (1 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = m, v
    if amsbound:
        v = torch.maximum(zeros_buffer(state, "max_exp_avg_sq", x), v)
        if bug != "amsbound_max_not_stored":
            state["max_exp_avg_sq"] = v
    bias_correction1, bias_correction2 = 1 - beta1**t, 1 - beta2**t
    step_size = lr * math.sqrt(bias_correction2) / bias_correction1 / (v.sqrt() + eps)
    rescaled = bug != "final_lr_not_rescaled" and base_lr != 0
    lower, upper = _bounds(
        final_lr * lr / base_lr if rescaled else final_lr,
        gamma,
        t - 1 if bug == "bounds_before_increment" else t,
    )
    if bug == "clip_final_update":
        update = torch.clamp(step_size * m, lower, upper)
    elif bug == "bias_correction_outside_clip":
        adam_step = lr / ((v / bias_correction2).sqrt() + eps)
        update = torch.clamp(adam_step, lower, upper) * (m / bias_correction1)
    else:
        update = torch.clamp(step_size, lower, upper) * m
    return x - (update / math.sqrt(t) if bug == "paper_sqrt_t_factor" else update)


_bug = functools.partial(branch, "adabound", _adabound)

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "bounds_before_increment",
        "the bounds use the step count before it is incremented (the first upper bound is ∞)",
        "Re-read `t ← t + 1` and `lower ← η* · (1 - 1 / (gamma · t + 1))`: which t do the bounds "
        "use on the first step?",
    ),
    _bug(
        "clip_final_update",
        "the whole update α/(√v + ε)·m is clipped instead of the step size",
        "Re-read `x ← x - clip(α / (√v + eps), lower, upper) · m`: what exactly is inside "
        "clip(...), and what multiplies it?",
    ),
    _bug(
        "bias_correction_outside_clip",
        "the clip acts on γ/(√v̂ + ε) and then multiplies the bias-corrected m̂",
        "Re-read `multiplies the UNcorrected m`: where do the bias factors sit, and which m?",
        gamma=0.1,
    ),
    _bug(
        "paper_sqrt_t_factor",
        "the clipped step size is divided by √t, as in the paper's algorithm",
        "Re-read `the paper's algorithm scales the step by 1/√t; the authors' code, which is`: the "
        "code followed here has no 1/√t.",
    ),
    _bug(
        "final_lr_not_rescaled",
        "the bounds use final_lr as given, ignoring a change of the learning rate",
        "Re-read `η* ← final_lr · lr / base_lr`: what happens to the bounds when lr changes?",
        lr=0.1,
        gamma=0.1,
    ),
    _bug(
        "amsbound_max_not_stored",
        "the AMSBound maximum is computed but not kept, so it only covers this step's v",
        'Re-read `v_max ← max(v_max, v)` and `"max_exp_avg_sq" (v_max, only when amsbound)`: '
        "what carries over?",
        amsbound=True,
    ),
)
