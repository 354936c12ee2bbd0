"""SWATS (Keskar & Socher 2017): Adam that switches to SGD with momentum, per tensor.

torch has no SWATS and the paper has no official code, so this follows Algorithm 1 of the paper
and pins its open choices in the docstring. Both phases are computed every step and selected
with `torch.where` on 0-d tensors, so the switch needs no host sync and works on any device.
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
    check_nonnegative,
    oriented_gradient,
)
from reference.known_bug import KnownBug, branch

__all__ = ["BUGS", "swats"]


def swats(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-9,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    r"""One step of SWATS (Algorithm 1 of Keskar & Socher 2017); returns the new parameters.

    Algorithm (α = lr, (β1, β2) = betas, ε = eps, ⟨·,·⟩ the sum over the whole tensor),
    for k = 1, 2, ...::

        g_k ← ∇f(w_{k−1})  (−∇f if maximize),  then g_k ← g_k + δ w_{k−1}   (L2, δ = weight_decay)
        if phase = SGD:
            v_k ← β1 v_{k−1} + g_k
            w_k ← w_{k−1} − (1 − β1) Λ v_k
        else (Adam phase):
            m_k ← β1 m_{k−1} + (1 − β1) g_k
            a_k ← β2 a_{k−1} + (1 − β2) g_k²
            p_k ← −α · √(1 − β2^k) / (1 − β1^k) · m_k / (√a_k + ε)
            w_k ← w_{k−1} + p_k
            if ⟨p_k, g_k⟩ ≠ 0:
                γ_k ← ⟨p_k, p_k⟩ / (−⟨p_k, g_k⟩)
                λ_k ← β2 λ_{k−1} + (1 − β2) γ_k
                if k > 1 and |λ_k / (1 − β2^k) − γ_k| < ε:
                    phase ← SGD,  v_k ← 0,  Λ ← λ_k / (1 − β2^k)
            else:
                λ_k ← λ_{k−1}

    Hyperparameters: lr=1e-3, betas=(0.9, 0.999), eps=1e-9 (the paper's), weight_decay=0.0,
    maximize=False.

    State (all zeros before the first step; tensors of x's dtype and device, 0-d where scalar):
    "step" (k, a Python int), "exp_avg" (m), "exp_avg_sq" (a), "exp_avg_lambda" (λ),
    "sgd_phase" (0.0 in the Adam phase, 1.0 from the switch on), "sgd_lr" (Λ, 0.0 before the
    switch), "momentum_buffer" (v, 0 until the first SGD step).

    Conventions: the switch is per tensor (γ_k projects over the whole of x); ε is absolute, as
    in the paper, and is also added outside the root of a_k; when ⟨p_k, g_k⟩ = 0, λ is not
    updated and there is no switch; the switch step itself takes the Adam step, and the SGD
    buffer starts at 0 there, so the first SGD step is −(1 − β1) Λ g; after the switch m, a and
    λ stay frozen and lr is no longer used (Λ replaces it, so a schedule stops acting); weight
    decay is the L2 term, in both phases, after the negation for maximize; the step counter is
    incremented before use, so the first step has k = 1.
    Lecture notes (Adam) put ε on the bias-corrected √â: here it sits on the raw √a_k.
    """
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    check_nonnegative("weight_decay", weight_decay)
    return _swats(
        x, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize
    )


def _swats(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-9,
    weight_decay: float = 0.0,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """Both phases of Algorithm 1, selected by the 0-d `sgd_phase`; `bug` picks a known mistake."""
    beta1, beta2 = betas
    g = oriented_gradient(x, grad, weight_decay, maximize)
    k = advance_step(state)
    if k == 1:
        _initialise(state, x)
    sgd = state["sgd_phase"] > 0
    sgd_lr = state["sgd_lr"]

    # SGD phase.
    buffer = beta1 * state["momentum_buffer"] + g
    sgd_step = (1 - beta1) * sgd_lr * buffer
    if bug == "missing_one_minus_beta1":
        sgd_step = sgd_lr * buffer
    elif bug == "buffer_rescaled_in_place":
        buffer = (1 - beta1) * buffer
        sgd_step = sgd_lr * buffer

    # Adam phase.
    bias1, bias2 = 1 - beta1**k, 1 - beta2**k
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    a = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
    p = -lr * math.sqrt(bias2) / bias1 * m / (a.sqrt() + eps)
    projection = (p * g).sum()
    projected = projection != 0
    if bug == "no_zero_projection_guard":
        projected = torch.ones_like(projected)
    gamma = (p * p).sum() / torch.where(projected, -projection, 1.0)
    if bug == "projection_sign":
        gamma = -gamma
    lam = torch.where(
        projected, beta2 * state["exp_avg_lambda"] + (1 - beta2) * gamma, state["exp_avg_lambda"]
    )
    corrected = lam if bug == "uncorrected_lambda_in_switch_test" else lam / bias2
    tolerance = eps * gamma.abs() if bug == "relative_switch_tolerance" else eps
    switch = projected & ((corrected - gamma).abs() < tolerance) & ~sgd
    if k == 1 and bug != "switch_on_first_step":
        switch = torch.zeros_like(switch)
    new_sgd_lr = lam if bug == "uncorrected_lambda_as_sgd_lr" else lam / bias2

    state["momentum_buffer"] = torch.where(sgd, buffer, 0.0)
    if bug == "sgd_buffer_from_adam_momentum":
        state["momentum_buffer"] = torch.where(sgd, buffer, torch.where(switch, m, 0.0))
    state["sgd_lr"] = torch.where(switch, new_sgd_lr, sgd_lr)
    state["sgd_phase"] = (sgd | switch).to(x.dtype)
    if bug != "moments_updated_in_sgd_phase":  # the paper's `continue`: SGD steps skip them
        m = torch.where(sgd, state["exp_avg"], m)
        a = torch.where(sgd, state["exp_avg_sq"], a)
        lam = torch.where(sgd, state["exp_avg_lambda"], lam)
    state["exp_avg"], state["exp_avg_sq"], state["exp_avg_lambda"] = m, a, lam
    return torch.where(sgd, x - sgd_step, x + p)


def _initialise(state: State, x: Tensor) -> None:
    """The paper's zeros: m, a and v shaped as x; λ, Λ and the phase as 0-d tensors."""
    for name in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
        state[name] = torch.zeros_like(x, memory_format=torch.preserve_format)
    for name in ("exp_avg_lambda", "sgd_lr", "sgd_phase"):
        state[name] = x.new_zeros(())


_bug = functools.partial(branch, "swats", _swats)

# With the paper's absolute ε = 1e-9 few small problems ever switch; ε = 1e-3 makes most of
# them switch at k = 2, so the bugs of the switch and of the SGD phase show.
_SWITCHING = {"lr": 0.05, "eps": 1e-3}

BUGS: tuple[KnownBug, ...] = (
    _bug(
        "uncorrected_lambda_in_switch_test",
        "Compares the raw average λ_k with γ_k in the switch test, so it switches far too late.",
        "Re-read `if k > 1 and |λ / (1 - beta2^k) - γ| < eps:`: which λ is compared?",
        **_SWITCHING,
    ),
    _bug(
        "uncorrected_lambda_as_sgd_lr",
        "Takes the raw average λ_k as the SGD learning rate Λ, without its bias correction.",
        "Re-read `with Λ ← λ / (1 - beta2^k)`.",
        **_SWITCHING,
    ),
    _bug(
        "relative_switch_tolerance",
        "Tests |λ̂_k − γ_k| < ε |γ_k| (a relative tolerance) instead of the paper's absolute ε.",
        "Re-read `(an absolute test)`: what is eps compared with?",
        **_SWITCHING,
    ),
    _bug(
        "switch_on_first_step",
        "Drops the k > 1 guard, so it switches at once: at k = 1 the estimate always equals γ_1.",
        "Re-read `if k > 1 and |λ / (1 - beta2^k) - γ| < eps:`: which condition comes before the "
        "tolerance?",
    ),
    _bug(
        "projection_sign",
        "Divides by ⟨p_k, g_k⟩ instead of −⟨p_k, g_k⟩, so γ_k and then Λ are negative.",
        "Re-read `γ ← (p·p) / (-p·g)`: what sign does p·g have?",
        **_SWITCHING,
    ),
    _bug(
        "no_zero_projection_guard",
        "Updates λ even when ⟨p_k, g_k⟩ = 0, dividing 0 by 0 on a zero gradient.",
        "Re-read `if p·g ≠ 0:` and `(if p·g = 0, λ is left as it is and there is no switch)`.",
    ),
    _bug(
        "missing_one_minus_beta1",
        "Steps by Λ v_k in the SGD phase, dropping the factor (1 − β1).",
        "Re-read `x ← x - (1 - beta1) · Λ · v`.",
        **_SWITCHING,
    ),
    _bug(
        "buffer_rescaled_in_place",
        "Stores (1 − β1) v_k back into the buffer, so the momentum decays as β1 (1 − β1).",
        "Re-read `v ← beta1 · v + g`: what does the buffer hold after the step?",
        **_SWITCHING,
    ),
    _bug(
        "sgd_buffer_from_adam_momentum",
        "Starts the SGD buffer from Adam's m_k at the switch instead of from 0.",
        "Re-read `(v is zero when the phase starts)`.",
        **_SWITCHING,
    ),
    _bug(
        "moments_updated_in_sgd_phase",
        "Keeps updating m, a and λ after the switch, although the SGD phase skips them.",
        "Re-read `(m, a and λ are left as they are)`.",
        **_SWITCHING,
    ),
)
