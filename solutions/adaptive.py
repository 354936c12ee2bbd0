"""Assignment 2: adaptive methods, from AdaGrad to Adam and its descendants.

Each optimizer takes one step: it receives the current point `x`, the gradient `grad` at `x`
and a dict `state` (empty before the first step), keeps its running quantities in `state`
under the names its docstring gives (the checks compare them too), and returns the NEW point.
Do not modify `x` or `grad` in place; create state tensors with `torch.zeros_like(x)` so they
follow x's dtype and device; work on whole tensors (no Python loop over elements, no
`.item()`). `state["step"]` is a Python int, incremented FIRST, so the first update uses
t = 1. The rules are exactly those of `torch.optim` (AdaBound: its authors' code).

Common prologue of every optimizer here, before anything else uses g:

    g ← -grad                    if maximize, else g ← grad
    g ← g + weight_decay · x     (L2 weight decay; Adam, NAdam and RAdam can decouple it)

Write the functions in the order of README.md. Check your work with `optim-grader check` (or
`optim-grader check --function adam`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def adagrad(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
) -> Tensor:
    """One step of AdaGrad (torch.optim.Adagrad).

    Update (g after the common prologue: maximize, then L2 weight decay):

        t ← t + 1
        clr ← lr / (1 + (t - 1) · lr_decay)          (no decay on the first step)
        s ← s + g²                                   (s starts at initial_accumulator_value)
        x ← x - clr · g / (√s + eps)

    Hyperparameters: lr = 1e-2, lr_decay = 0.0, weight_decay = 0.0,
    initial_accumulator_value = 0.0, eps = 1e-10, maximize = False.
    State: "step" (t, int), "sum" (s, a tensor like x filled with initial_accumulator_value).
    Errors: ValueError for a negative lr, lr_decay, weight_decay, initial_accumulator_value
    or eps.
    Lecture notes: the notes put eps inside the root, √(s + ε), with ε = 1e-6; here eps is
    added after the root.
    """
    ### BEGIN SOLUTION
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if lr_decay < 0.0:
        raise ValueError(f"Invalid lr_decay value: {lr_decay}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if initial_accumulator_value < 0.0:
        raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not state:
        state["step"] = 0
        state["sum"] = torch.full_like(x, initial_accumulator_value)
    state["step"] += 1
    t = state["step"]
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    clr = lr / (1 + (t - 1) * lr_decay)
    state["sum"] = state["sum"] + g * g
    return x - clr * g / (state["sum"].sqrt() + eps)
    ### END SOLUTION


def rmsprop(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
) -> Tensor:
    """One step of RMSProp, plain, with momentum or centered (torch.optim.RMSprop).

    Update (g after the common prologue: maximize, then L2 weight decay):

        t ← t + 1
        v ← alpha · v + (1 - alpha) · g²
        if centered:  ḡ ← alpha · ḡ + (1 - alpha) · g ;   a ← √(v - ḡ²) + eps
        else:                                              a ← √v + eps
        if momentum > 0:  b ← momentum · b + g / a ;  x ← x - lr · b
        else:             x ← x - lr · g / a

    v, ḡ and b all start at zero (b too: unlike SGD's buffer, it does not start at g). There
    is no bias correction.

    Hyperparameters: lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0.0,
    momentum = 0.0, centered = False, maximize = False.
    State: "step" (t, int), "square_avg" (v), "momentum_buffer" (b, only when momentum > 0),
    "grad_avg" (ḡ, only when centered).
    Errors: ValueError for a negative lr, eps, momentum, weight_decay or alpha.
    Lecture notes: the notes write s ← γ s + (1 - γ) g² with γ = 0.9 and put eps inside the
    root, √(s + ε); here alpha = 0.99 and eps is added after the root.
    """
    ### BEGIN SOLUTION
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if momentum < 0.0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if alpha < 0.0:
        raise ValueError(f"Invalid alpha value: {alpha}")
    if not state:
        state["step"] = 0
        state["square_avg"] = torch.zeros_like(x)
        if momentum > 0.0:
            state["momentum_buffer"] = torch.zeros_like(x)
        if centered:
            state["grad_avg"] = torch.zeros_like(x)
    state["step"] += 1
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    square_avg = alpha * state["square_avg"] + (1.0 - alpha) * g * g
    state["square_avg"] = square_avg
    if centered:
        grad_avg = alpha * state["grad_avg"] + (1.0 - alpha) * g
        state["grad_avg"] = grad_avg
        avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
    else:
        avg = square_avg.sqrt() + eps
    if momentum > 0.0:
        buffer = momentum * state["momentum_buffer"] + g / avg
        state["momentum_buffer"] = buffer
        return x - lr * buffer
    return x - lr * g / avg
    ### END SOLUTION


def adadelta(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    """One step of Adadelta (torch.optim.Adadelta).

    Update (g after the common prologue: maximize, then L2 weight decay):

        t ← t + 1
        v ← rho · v + (1 - rho) · g²
        Δ ← √(u + eps) / √(v + eps) · g             (u from the PREVIOUS step)
        u ← rho · u + (1 - rho) · Δ²                 (after Δ, with the unscaled Δ)
        x ← x - lr · Δ

    Hyperparameters: lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0.0, maximize = False.
    State: "step" (t, int), "square_avg" (v), "acc_delta" (u); both start at zero.
    Errors: ValueError for a negative lr, eps or weight_decay, and for rho outside [0, 1].
    Lecture notes: the notes call v and u s and Δx, use eps = 1e-5 and have no lr (lr = 1.0
    reproduces them); eps sits inside both roots, as here.
    """
    ### BEGIN SOLUTION
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"Invalid rho value: {rho}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not state:
        state["step"] = 0
        state["square_avg"] = torch.zeros_like(x)
        state["acc_delta"] = torch.zeros_like(x)
    state["step"] += 1
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    square_avg = rho * state["square_avg"] + (1.0 - rho) * g * g
    delta = (state["acc_delta"] + eps).sqrt() / (square_avg + eps).sqrt() * g
    state["square_avg"] = square_avg
    state["acc_delta"] = rho * state["acc_delta"] + (1.0 - rho) * delta * delta
    return x - lr * delta
    ### END SOLUTION


def adam(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
) -> Tensor:
    """One step of Adam, or AMSGrad with amsgrad=True (torch.optim.Adam).

    Update, with beta1, beta2 = betas and g after maximize:

        t ← t + 1
        if decoupled_weight_decay:  x ← x · (1 - lr · weight_decay)      (the AdamW decay)
        else:                       g ← g + weight_decay · x             (L2)
        m ← beta1 · m + (1 - beta1) · g
        v ← beta2 · v + (1 - beta2) · g²
        if amsgrad:  v_max ← max(v_max, v) ;  use v_max instead of v below
        m̂ ← m / (1 - beta1^t) ;   v̂ ← v / (1 - beta2^t)
        x ← x - lr · m̂ / (√v̂ + eps)

    The state keeps the UNcorrected m and v; AMSGrad's max is taken over the uncorrected v
    and then divided by the current (1 - beta2^t).

    Hyperparameters: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0,
    amsgrad = False, maximize = False, decoupled_weight_decay = False.
    State: "step" (t, int), "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (v_max, only
    when amsgrad); all start at zero.
    Errors: ValueError for a negative lr, eps or weight_decay, and for a beta outside [0, 1).
    Lecture notes: the notes call m and v v and s and use eps = 1e-6; eps is added after the
    root of the corrected v̂, as here.
    """
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= beta1 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not state:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(x)
        state["exp_avg_sq"] = torch.zeros_like(x)
        if amsgrad:
            state["max_exp_avg_sq"] = torch.zeros_like(x)
    state["step"] += 1
    t = state["step"]
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        if decoupled_weight_decay:
            x = x * (1.0 - lr * weight_decay)
        else:
            g = g + weight_decay * x
    exp_avg = beta1 * state["exp_avg"] + (1.0 - beta1) * g
    exp_avg_sq = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq
    if amsgrad:
        exp_avg_sq = torch.maximum(state["max_exp_avg_sq"], exp_avg_sq)
        state["max_exp_avg_sq"] = exp_avg_sq
    m_hat = exp_avg / (1.0 - beta1**t)
    v_hat = exp_avg_sq / (1.0 - beta2**t)
    return x - lr * m_hat / (v_hat.sqrt() + eps)
    ### END SOLUTION


def adamw(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    maximize: bool = False,
) -> Tensor:
    """One step of AdamW: Adam with decoupled weight decay (torch.optim.AdamW).

    Exactly `adam` with decoupled_weight_decay=True: the decay shrinks the point itself,
    before the moments are updated, and never enters g:

        x ← x · (1 - lr · weight_decay)             (the x of the previous step, times lr)
        then the Adam update of `adam` (amsgrad included), applied to this x, with the
        un-decayed gradient.

    With a zero gradient the step is exactly x ← x · (1 - lr · weight_decay).

    Hyperparameters: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 1e-2 (note:
    not 0 as in Adam), amsgrad = False, maximize = False.
    State: as `adam`: "step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (only when amsgrad).
    Errors: as `adam`.
    Lecture notes: the AdamW paper scales the decay by the schedule multiplier only; here (as
    in torch) it is multiplied by lr.
    """
    ### BEGIN SOLUTION
    return adam(
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
    )
    ### END SOLUTION


def adamax(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    """One step of Adamax, Adam with the infinity norm (torch.optim.Adamax).

    Update, with beta1, beta2 = betas and g after the common prologue (maximize, then L2):

        t ← t + 1
        m ← beta1 · m + (1 - beta1) · g
        u ← max(beta2 · u, |g| + eps)                (eps inside the max; u is not corrected)
        x ← x - lr / (1 - beta1^t) · m / u

    Hyperparameters: lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0,
    maximize = False.
    State: "step" (t, int), "exp_avg" (m), "exp_inf" (u); both start at zero.
    Errors: ValueError for a negative lr, eps or weight_decay, and for a beta outside [0, 1).
    Lecture notes: the Adam paper's Adamax has no eps; here eps is added to |g| inside the max.
    """
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= beta1 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not state:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(x)
        state["exp_inf"] = torch.zeros_like(x)
    state["step"] += 1
    t = state["step"]
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    exp_avg = beta1 * state["exp_avg"] + (1.0 - beta1) * g
    exp_inf = torch.maximum(beta2 * state["exp_inf"], g.abs() + eps)
    state["exp_avg"], state["exp_inf"] = exp_avg, exp_inf
    return x - lr / (1.0 - beta1**t) * exp_avg / exp_inf
    ### END SOLUTION


def nadam(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Tensor:
    """One step of NAdam, Adam with Nesterov momentum and a momentum schedule (torch.optim.NAdam).

    Update, with beta1, beta2 = betas, ψ = momentum_decay and g after maximize:

        t ← t + 1
        if decoupled_weight_decay:  x ← x · (1 - lr · weight_decay)
        else:                       g ← g + weight_decay · x
        μ      ← beta1 · (1 - 0.5 · 0.96^(t · ψ))            (μ_t)
        μ_next ← beta1 · (1 - 0.5 · 0.96^((t + 1) · ψ))      (μ_t+1)
        Π ← Π · μ                                            (Π starts at 1.0)
        m ← beta1 · m + (1 - beta1) · g                      (the constant beta1, not μ)
        v ← beta2 · v + (1 - beta2) · g²
        d ← √(v / (1 - beta2^t)) + eps
        x ← x - lr · (1 - μ) / (1 - Π) · g / d - lr · μ_next / (1 - Π · μ_next) · m / d

    Hyperparameters: lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0,
    momentum_decay = 4e-3, decoupled_weight_decay = False, maximize = False.
    State: "step" (t, int), "mu_product" (Π, a Python float), "exp_avg" (m), "exp_avg_sq"
    (v); m and v start at zero.
    Errors: ValueError for a negative lr, eps, weight_decay or momentum_decay, and for a beta
    outside [0, 1).
    Lecture notes: Dozat's NAdam (and optax) use the constant beta1 where μ appears here and
    bias-correct m with beta1^t; torch's μ schedule makes the first steps larger (≈ 1.06 lr).
    """
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= beta1 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if momentum_decay < 0.0:
        raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
    if not state:
        state["step"] = 0
        state["mu_product"] = 1.0
        state["exp_avg"] = torch.zeros_like(x)
        state["exp_avg_sq"] = torch.zeros_like(x)
    state["step"] += 1
    t = state["step"]
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        if decoupled_weight_decay:
            x = x * (1.0 - lr * weight_decay)
        else:
            g = g + weight_decay * x
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = state["mu_product"] * mu
    state["mu_product"] = mu_product
    exp_avg = beta1 * state["exp_avg"] + (1.0 - beta1) * g
    exp_avg_sq = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq
    denom = (exp_avg_sq / (1.0 - beta2**t)).sqrt() + eps
    grad_step = lr * (1.0 - mu) / (1.0 - mu_product)
    momentum_step = lr * mu_next / (1.0 - mu_product * mu_next)
    return x - grad_step * g / denom - momentum_step * exp_avg / denom
    ### END SOLUTION


def radam(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Tensor:
    """One step of RAdam, Adam with a rectified adaptive step (torch.optim.RAdam).

    Update, with beta1, beta2 = betas and g after maximize:

        t ← t + 1
        if decoupled_weight_decay:  x ← x · (1 - lr · weight_decay)
        else:                       g ← g + weight_decay · x
        m ← beta1 · m + (1 - beta1) · g ;   m̂ ← m / (1 - beta1^t)
        v ← beta2 · v + (1 - beta2) · g²
        ρ_∞ ← 2 / (1 - beta2) - 1 ;   ρ_t ← ρ_∞ - 2 t beta2^t / (1 - beta2^t)
        if ρ_t > 5:   r ← √((ρ_t - 4)(ρ_t - 2) ρ_∞ / ((ρ_∞ - 4)(ρ_∞ - 2) ρ_t))
                      x ← x - lr · m̂ · r · √(1 - beta2^t) / (√v + eps)
        else:         x ← x - lr · m̂                  (no adaptive step at all)

    With the default beta2 the first 5 steps take the un-adapted branch. Note that eps is
    added to the root of the UNcorrected v.

    Hyperparameters: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.0,
    decoupled_weight_decay = False, maximize = False.
    State: "step" (t, int), "exp_avg" (m), "exp_avg_sq" (v); both start at zero.
    Errors: ValueError for a negative lr, eps or weight_decay, and for a beta outside [0, 1).
    Lecture notes: the RAdam paper's threshold is ρ_t > 4; torch (and this assignment) use
    ρ_t > 5.
    """
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= beta1 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not state:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(x)
        state["exp_avg_sq"] = torch.zeros_like(x)
    state["step"] += 1
    t = state["step"]
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        if decoupled_weight_decay:
            x = x * (1.0 - lr * weight_decay)
        else:
            g = g + weight_decay * x
    exp_avg = beta1 * state["exp_avg"] + (1.0 - beta1) * g
    exp_avg_sq = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq
    m_hat = exp_avg / (1.0 - beta1**t)
    bias_correction2 = 1.0 - beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / bias_correction2
    if rho_t <= 5.0:
        return x - lr * m_hat
    rect = math.sqrt(
        (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    )
    adaptive = math.sqrt(bias_correction2) / (exp_avg_sq.sqrt() + eps)
    return x - lr * rect * m_hat * adaptive
    ### END SOLUTION


def adabound(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
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
    """One step of AdaBound, or AMSBound with amsbound=True (the authors' code, Luolc/AdaBound).

    Update, with beta1, beta2 = betas and g after the common prologue (maximize, then L2):

        t ← t + 1
        m ← beta1 · m + (1 - beta1) · g
        v ← beta2 · v + (1 - beta2) · g²
        if amsbound:  v_max ← max(v_max, v) ;  use v_max instead of v below
        α ← lr · √(1 - beta2^t) / (1 - beta1^t)
        η* ← final_lr · lr / base_lr       (base_lr: the lr of the FIRST call, kept in state)
        lower ← η* · (1 - 1 / (gamma · t + 1)) ;   upper ← η* · (1 + 1 / (gamma · t))
        x ← x - clip(α / (√v + eps), lower, upper) · m

    The clip bounds the per-coordinate step size (bias corrections included), which then
    multiplies the UNcorrected m. The bounds follow lr when a schedule changes it.

    Hyperparameters: lr = 1e-3, betas = (0.9, 0.999), final_lr = 0.1, gamma = 1e-3,
    eps = 1e-8, weight_decay = 0.0, amsbound = False, maximize = False.
    State: "step" (t, int), "base_lr" (a Python float), "exp_avg" (m), "exp_avg_sq" (v),
    "max_exp_avg_sq" (v_max, only when amsbound); the tensors start at zero.
    Errors: ValueError for a negative lr, eps, final_lr or weight_decay, and for a beta or
    gamma outside [0, 1).
    Lecture notes: the paper's algorithm scales the step by 1/√t; the authors' code, which is
    followed here, does not.
    """
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= beta1 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    if final_lr < 0.0:
        raise ValueError(f"Invalid final learning rate: {final_lr}")
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"Invalid gamma parameter: {gamma}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not state:
        state["step"] = 0
        state["base_lr"] = lr
        state["exp_avg"] = torch.zeros_like(x)
        state["exp_avg_sq"] = torch.zeros_like(x)
        if amsbound:
            state["max_exp_avg_sq"] = torch.zeros_like(x)
    state["step"] += 1
    t = state["step"]
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    exp_avg = beta1 * state["exp_avg"] + (1.0 - beta1) * g
    exp_avg_sq = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq
    if amsbound:
        exp_avg_sq = torch.maximum(state["max_exp_avg_sq"], exp_avg_sq)
        state["max_exp_avg_sq"] = exp_avg_sq
    step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    bound = final_lr * lr / state["base_lr"]
    lower = bound * (1.0 - 1.0 / (gamma * t + 1.0))
    upper = bound * (1.0 + 1.0 / (gamma * t))
    step = (step_size / (exp_avg_sq.sqrt() + eps)).clamp(lower, upper)
    return x - step * exp_avg
    ### END SOLUTION
