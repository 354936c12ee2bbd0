"""Adam, AMSGrad and AdamW exactly as torch.optim.Adam / AdamW compute them, and their known bugs.

One private algorithm, `_adam`, serves both public functions: AdamW is Adam with decoupled
weight decay and its own default λ. The known-bug variants are branches of that one algorithm.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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


def adam(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
) -> Tensor:
    r"""One step of Adam (torch.optim.Adam); returns the new parameters and updates `state`.

    Algorithm, for t = 1, 2, ...::

        g      = -∇f(x) if maximize else ∇f(x)
        g      = g + λ·x                   (L2; not with decoupled_weight_decay)
        x      = x·(1 - γ·λ)               (decoupled_weight_decay only)
        m      = β1·m + (1 - β1)·g
        v      = β2·v + (1 - β2)·g²
        v_max  = max(v_max, v)             (amsgrad only; then v_max replaces v below)
        m̂      = m / (1 - β1^t)
        v̂      = v / (1 - β2^t)
        x      = x - γ·m̂ / (√v̂ + ε)

    Hyperparameters: lr γ = 1e-3, betas (β1, β2) = (0.9, 0.999), eps ε = 1e-8,
    weight_decay λ = 0, amsgrad = False, maximize = False, decoupled_weight_decay = False.

    State: "step" (t), "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (v_max, amsgrad
    only); m, v and v_max are stored un-corrected, zeros before the first step.

    Conventions: ε is added outside the root, to the bias-corrected √v̂; the amsgrad max is
    over the raw v and is then divided by this step's 1 - β2^t; L2 decay enters the gradient
    after the negation for maximize, decoupled decay shrinks x (by γλ) before the moments;
    the step counter is incremented before use, so the first step has t = 1.
    Lecture notes: the same update, with the moments named v and s and ε = 1e-6.
    """
    _validate(lr, betas, eps, weight_decay)
    return _adam(
        x,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        amsgrad=amsgrad,
        maximize=maximize,
        decoupled_weight_decay=decoupled_weight_decay,
    )


def adamw(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    maximize: bool = False,
) -> Tensor:
    r"""One step of AdamW (torch.optim.AdamW): Adam with decoupled weight decay.

    Algorithm, for t = 1, 2, ...::

        g      = -∇f(x) if maximize else ∇f(x)
        x      = x·(1 - γ·λ)               (decay of the previous x, before the moments)
        m      = β1·m + (1 - β1)·g
        v      = β2·v + (1 - β2)·g²
        v_max  = max(v_max, v)             (amsgrad only; then v_max replaces v below)
        m̂      = m / (1 - β1^t)
        v̂      = v / (1 - β2^t)
        x      = x - γ·m̂ / (√v̂ + ε)

    Hyperparameters: lr γ = 1e-3, betas (β1, β2) = (0.9, 0.999), eps ε = 1e-8,
    weight_decay λ = 1e-2, amsgrad = False, maximize = False.

    State: "step" (t), "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (v_max, amsgrad
    only); m, v and v_max are stored un-corrected, zeros before the first step.

    Conventions: the decay is multiplied by the learning rate (Loshchilov & Hutter multiply by
    the schedule multiplier only) and never enters m or v; ε is added outside the root, to
    √v̂; the step counter is incremented before use, so the first step has t = 1.
    Lecture notes: the same update, with the moments named v and s and ε = 1e-6.
    """
    _validate(lr, betas, eps, weight_decay)
    return _adamw(
        x,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        amsgrad=amsgrad,
        maximize=maximize,
    )


def _validate(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    """torch.optim.Adam's constructor checks, in its order and with its messages."""
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative("weight_decay", weight_decay)
    if not all(isinstance(beta, float) for beta in betas):
        raise ValueError("betas must be either both floats or both Tensors")


def _adam(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
    bug: str | None = None,
) -> Tensor:
    """The Adam algorithm of `adam`'s docstring, unvalidated; `bug` selects a known bug."""
    beta1, beta2 = (betas[1], betas[0]) if bug == "betas_swapped" else betas
    t = advance_step(state)
    if bug == "step_from_zero":
        t -= 1
    if bug == "step_ahead":
        t += 1
    decoupled = decoupled_weight_decay and bug != "l2_instead_of_decoupled"
    g = oriented_gradient(x, grad, 0.0 if decoupled else weight_decay, maximize)
    if decoupled and bug != "decay_after_step":
        x = x * (1 - (weight_decay if bug == "decay_without_lr" else lr * weight_decay))
    m = torch.lerp(zeros_buffer(state, "exp_avg", x), g, 1 - beta1)
    v = zeros_buffer(state, "exp_avg_sq", x) * beta2 + (1 - beta2) * (
        g if bug == "grad_not_squared" else g * g
    )
    bias_correction1 = 1.0 if bug in ("no_bias_correction", "only_v_corrected") else 1 - beta1**t
    bias_correction2 = 1.0 if bug in ("no_bias_correction", "only_m_corrected") else 1 - beta2**t
    stores_corrected = bug == "corrected_moments_stored"
    state["exp_avg"] = m / bias_correction1 if stores_corrected else m
    state["exp_avg_sq"] = v / bias_correction2 if stores_corrected else v
    if amsgrad:
        v = _running_max(state, v, bias_correction2, bug)
    if bug == "efficient_form":
        update = (lr * math.sqrt(bias_correction2) / bias_correction1) * m / (v.sqrt() + eps)
    else:
        v_hat = v / bias_correction2
        denominator = (v_hat + eps).sqrt() if bug == "eps_inside_root" else v_hat.sqrt() + eps
        update = lr * (m / bias_correction1) / denominator
    new_x = x - update
    if decoupled and bug == "decay_after_step":
        new_x = new_x * (1 - lr * weight_decay)
    return new_x


def _running_max(state: State, v: Tensor, bias_correction2: float, bug: str | None) -> Tensor:
    """AMSGrad's stored maximum of the raw v, returned on v's (un-corrected) scale."""
    corrected = bug == "amsgrad_max_of_corrected"
    v_max = torch.maximum(
        zeros_buffer(state, "max_exp_avg_sq", v), v / bias_correction2 if corrected else v
    )
    if bug != "amsgrad_max_not_stored":
        state["max_exp_avg_sq"] = v_max
    return v_max * bias_correction2 if corrected else v_max


def _adamw(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """`_adam` with decoupled weight decay, under AdamW's signature and defaults."""
    return _adam(
        x,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        amsgrad=amsgrad,
        maximize=maximize,
        decoupled_weight_decay=True,
        bug=bug,
    )


# (name, misconception, hint): the hint names the line of the algorithm box to re-read.
_MOMENT_BUGS = (
    (
        "no_bias_correction",
        "m and v are used as they are, without the bias correction",
        "Re-read `m̂ ← m / (1 - beta1^t) ;   v̂ ← v / (1 - beta2^t)`: what do they do to the "
        "zero-initialised moments?",
    ),
    (
        "only_m_corrected",
        "only the first moment is bias-corrected",
        "Re-read `v̂ ← v / (1 - beta2^t)`: is the second moment treated like the first?",
    ),
    (
        "only_v_corrected",
        "only the second moment is bias-corrected",
        "Re-read `m̂ ← m / (1 - beta1^t)`: is the first moment treated like the second?",
    ),
    (
        "step_from_zero",
        "the step counter is used before it is incremented, so the first step has t = 0",
        "Re-read `t ← t + 1`: which t does the very first step use?",
    ),
    (
        "step_ahead",
        "the step counter starts at 1 and is incremented before use, so the first step has t = 2",
        "Re-read `t ← t + 1`: is the first step's t one, or more?",
    ),
    (
        "corrected_moments_stored",
        "the bias-corrected m̂ and v̂ are written back into the state",
        "Re-read `The state keeps the UNcorrected m and v`: which versions carry over to the next "
        "step?",
    ),
    (
        "eps_inside_root",
        "ε is added under the square root",
        "Re-read `x ← x - lr · m̂ / (√v̂ + eps)`: what exactly is under the root?",
    ),
    (
        "betas_swapped",
        "β1 and β2 are swapped",
        "Re-read `m ← beta1 · m + (1 - beta1) · g` and `v ← beta2 · v + (1 - beta2) · g²`: which "
        "beta belongs to which moment?",
    ),
    (
        "grad_not_squared",
        "the second moment averages g instead of g²",
        "Re-read `v ← beta2 · v + (1 - beta2) · g²`: what is averaged?",
    ),
    (
        "efficient_form",
        "the 'efficient' form of Kingma & Ba, γ·√(1-β2^t)/(1-β1^t)·m/(√v + ε), is used",
        "Re-read `x ← x - lr · m̂ / (√v̂ + eps)`: which root does eps join, corrected or raw?",
    ),
)
_AMSGRAD_BUGS = (
    (
        "amsgrad_max_of_corrected",
        "the AMSGrad maximum is taken over the bias-corrected v̂ (as optax does)",
        "Re-read `AMSGrad's max is taken over the uncorrected v`: which v enters the maximum?",
    ),
    (
        "amsgrad_max_not_stored",
        "the AMSGrad maximum is computed but not kept, so it only covers this step's v",
        'Re-read `v_max ← max(v_max, v)` and `"max_exp_avg_sq" (v_max, only`: what carries over?',
    ),
)
_DECAY_BUGS = (
    (
        "l2_instead_of_decoupled",
        "decoupled weight decay is implemented as an L2 term added to the gradient",
        "Re-read `if decoupled_weight_decay:  x ← x · (1 - lr · weight_decay)`: does the decay go "
        "through m and v?",
    ),
    (
        "decay_without_lr",
        "the decoupled decay shrinks x by λ, not by γ·λ",
        "Re-read `x ← x · (1 - lr · weight_decay)`: what multiplies weight_decay?",
    ),
    (
        "decay_after_step",
        "the decoupled decay is applied to the new x, after the Adam step",
        "Re-read `x ← x · (1 - lr · weight_decay)`: which x is decayed, and when?",
    ),
)


def _bugs(
    function: str,
    algorithm: Callable[..., Tensor],
    table: tuple[tuple[str, str, str], ...],
    exposed_with: dict[str, object],
) -> tuple[KnownBug, ...]:
    """KnownBug records of `function` for each row of `table`, run through `algorithm`."""
    return tuple(
        branch(function, algorithm, name, misconception, hint, **exposed_with)
        for name, misconception, hint in table
    )


BUGS: tuple[KnownBug, ...] = (
    *_bugs("adam", _adam, _MOMENT_BUGS, {}),
    *_bugs("adam", _adam, _AMSGRAD_BUGS, {"amsgrad": True}),
    *_bugs("adam", _adam, _DECAY_BUGS, {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    *_bugs("adamw", _adamw, _MOMENT_BUGS, {}),
    *_bugs("adamw", _adamw, _AMSGRAD_BUGS, {"amsgrad": True}),
    *_bugs("adamw", _adamw, _DECAY_BUGS, {}),
)
