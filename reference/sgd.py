"""Gradient descent, heavy-ball momentum and Nesterov momentum, exactly as torch.optim.SGD.

The three graded functions are one algorithm, torch's `_single_tensor_sgd`, written once in
`_sgd`; its known-bug branches sit on the lines they corrupt.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from reference._common import State, check_lr, check_nonnegative, oriented_gradient
from reference.known_bug import KnownBug, branch

__all__ = ["BUGS", "gd", "momentum", "nesterov"]


def gd(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    r"""One step of (stochastic) gradient descent with L2 weight decay: torch's SGD, momentum=0.

    Algorithm (γ = lr, λ = weight_decay), for t = 1, 2, ...:

        g_t ← ∇f(θ_{t−1})                 (−∇f(θ_{t−1}) if maximize)
        g_t ← g_t + λ θ_{t−1}             (if λ ≠ 0)
        θ_t ← θ_{t−1} − γ g_t

    Hyperparameters: lr=1e-3, weight_decay=0.0, maximize=False. State: none (stays {}, as torch
    keeps no entry, not even a step counter, when momentum is 0).

    Conventions: weight decay is the L2 term added to the gradient after the maximize negation,
    so parameters shrink even when maximizing; there is no step counter.
    GD, SGD and minibatch SGD are this same update; only the gradient `grad` differs.
    """
    _validate(lr, 0.0, weight_decay)
    return _sgd(x, grad, state, lr=lr, momentum=0.0, weight_decay=weight_decay, maximize=maximize)


def momentum(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    r"""One step of heavy-ball momentum with dampening: torch's SGD with momentum > 0.

    Algorithm (γ = lr, μ = momentum, τ = dampening, λ = weight_decay), for t = 1, 2, ...:

        g_t ← ∇f(θ_{t−1})                 (−∇f(θ_{t−1}) if maximize)
        g_t ← g_t + λ θ_{t−1}             (if λ ≠ 0)
        b_t ← g_t                         (t = 1)
        b_t ← μ b_{t−1} + (1 − τ) g_t     (t > 1)
        θ_t ← θ_{t−1} − γ b_t

    Hyperparameters: lr=1e-3, momentum=0.9 (torch's 0 would be plain GD), dampening=0.0,
    weight_decay=0.0, maximize=False. State: "momentum_buffer" (b_t); no step counter. With
    momentum=0 this is `gd` and keeps no state.

    Conventions: the first buffer is the raw gradient, not dampened; weight decay is the L2 term
    added to the gradient before the buffer; γ multiplies the whole buffer, so a new learning
    rate rescales all past gradients at once.
    Lecture notes (CS231n/Sutskever) write v ← μ v − γ g, θ ← θ + v: the same iterates only
    while γ is constant.
    """
    _validate(lr, momentum, weight_decay)
    return _sgd(
        x,
        grad,
        state,
        lr=lr,
        momentum=momentum,
        dampening=dampening,
        weight_decay=weight_decay,
        maximize=maximize,
    )


def nesterov(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    r"""One step of Nesterov momentum: torch's SGD with nesterov=True.

    Algorithm (γ = lr, μ = momentum, τ = dampening = 0, λ = weight_decay), for t = 1, 2, ...:

        g_t ← ∇f(θ_{t−1})                 (−∇f(θ_{t−1}) if maximize)
        g_t ← g_t + λ θ_{t−1}             (if λ ≠ 0)
        b_t ← g_t                         (t = 1)
        b_t ← μ b_{t−1} + (1 − τ) g_t     (t > 1)
        θ_t ← θ_{t−1} − γ (g_t + μ b_t)

    Hyperparameters: lr=1e-3, momentum=0.9, dampening=0.0 (must stay 0), weight_decay=0.0,
    maximize=False. State: "momentum_buffer" (b_t); no step counter.

    Conventions: the returned θ is the look-ahead point (Bengio's reformulation), so the first
    step is −γ(1 + μ) g_1; the first buffer is the raw gradient; weight decay is the L2 term.
    Lecture notes (Sutskever) evaluate the gradient at θ + μv and return θ: another iterate.
    """
    _validate(lr, momentum, weight_decay)
    if momentum <= 0 or dampening != 0:
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")
    return _sgd(
        x,
        grad,
        state,
        lr=lr,
        momentum=momentum,
        dampening=dampening,
        weight_decay=weight_decay,
        nesterov=True,
        maximize=maximize,
    )


def _validate(lr: float, momentum: float, weight_decay: float) -> None:
    """torch.optim.SGD's constructor checks, in its order."""
    check_lr(lr)
    check_nonnegative("momentum", momentum)
    check_nonnegative("weight_decay", weight_decay)


def _sgd(
    x: Tensor,
    grad: Tensor,
    state: State,
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
    bug: str | None = None,
) -> Tensor:
    """torch's `_single_tensor_sgd` for one tensor; `bug` selects a known student mistake."""
    g = oriented_gradient(x, grad, weight_decay, maximize)
    if bug == "weight_decay_sign":
        g = oriented_gradient(x, grad, -weight_decay, maximize)
    elif bug == "weight_decay_after_step":
        g = oriented_gradient(x, grad, 0.0, maximize)
    elif bug == "maximize_after_weight_decay":
        g = oriented_gradient(x, grad, weight_decay, False) * (-1.0 if maximize else 1.0)
    if bug in NOTES_FORMS:  # the lecture notes' momentum has no dampening
        dampening = 0.0
    if momentum == 0:
        direction = g
    elif bug in ("lr_inside_velocity", "notes_velocity_form"):
        return _velocity_step(x, g, state, lr, momentum, dampening, nesterov)
    else:
        previous = state.get("momentum_buffer")
        if bug == "ema_dampening":  # an average that starts from zero: b_1 = (1 - μ) g_1
            buffer = (
                (1 - momentum) * g if previous is None else momentum * previous + (1 - momentum) * g
            )
        elif previous is None:
            buffer = (1 - dampening) * g if bug == "dampening_on_first_step" else g.clone()
        else:
            buffer = momentum * previous + (1 - dampening) * g
        state["momentum_buffer"] = buffer
        direction = _direction(g, buffer, previous, momentum, dampening, nesterov, bug)
    if bug == "sign_error":
        return x + lr * direction
    if bug == "weight_decay_after_step":
        moved = x - lr * direction
        return moved - lr * weight_decay * moved
    return x - lr * direction


def _direction(
    g: Tensor,
    buffer: Tensor,
    previous: Tensor | None,
    mu: float,
    dampening: float,
    nesterov: bool,
    bug: str | None,
) -> Tensor:
    """What γ multiplies: the buffer b_t, or Nesterov's look-ahead g_t + μ b_t."""
    if bug == "stale_buffer":
        return previous if previous is not None else torch.zeros_like(g)
    if bug == "double_dampening":
        return (1 - dampening) * buffer
    if not nesterov or bug == "plain_momentum":
        return buffer
    if bug == "no_lookahead_on_first_step" and previous is None:
        return g
    if bug == "double_lookahead":
        return g + 2 * mu * buffer
    return g + mu * buffer


def _velocity_step(
    x: Tensor, g: Tensor, state: State, lr: float, mu: float, dampening: float, nesterov: bool
) -> Tensor:
    """The CS231n form, v ← μ v − γ(1 − τ) g: γ enters the velocity, so it stores −γ b."""
    previous = state.get("momentum_buffer")
    if previous is None:
        velocity = -lr * g
        previous = torch.zeros_like(g)
    else:
        velocity = mu * previous - lr * (1 - dampening) * g
    state["momentum_buffer"] = velocity
    return x + (1 + mu) * velocity - mu * previous if nesterov else x + velocity


NOTES_FORMS = ("notes_momentum", "notes_velocity_form")

_FIXED: Mapping[str, Mapping[str, Any]] = {
    "gd": {"momentum": 0.0},
    "momentum": {"nesterov": False},
    "nesterov": {"nesterov": True},
}


def _bug(function: str, name: str, misconception: str, hint: str, **exposed_with: Any) -> KnownBug:
    """A known bug of `_sgd` with the branch `name`, shaped as `function`."""
    algorithm = functools.partial(_sgd, **_FIXED[function])
    return branch(function, algorithm, name, misconception, hint, **exposed_with)


BUGS: tuple[KnownBug, ...] = (
    _bug(
        "gd",
        "sign_error",
        "Adds the gradient step instead of subtracting it, so the loss goes up.",
        "Re-read `x ← x - lr · g`: which way does your step move on f(x) = x²?",
    ),
    _bug(
        "gd",
        "weight_decay_sign",
        "Subtracts the weight-decay term from the gradient, pushing parameters away from 0.",
        "Re-read `g ← g + weight_decay · x`: check the sign of the decay term.",
        weight_decay=0.1,
    ),
    _bug(
        "gd",
        "weight_decay_after_step",
        "Shrinks the parameters after the gradient step instead of adding λθ to the gradient.",
        "Re-read `g ← g + weight_decay · x`: which x does the decay use, and where does it go?",
        lr=0.1,
        weight_decay=0.1,
    ),
    _bug(
        "gd",
        "maximize_after_weight_decay",
        "Negates the gradient for maximize after adding the decay term, so decay flips sign too.",
        "Re-read `if maximize (before the weight decay)`: in which order come the negation and the "
        "decay?",
        maximize=True,
        weight_decay=0.1,
    ),
    _bug(
        "momentum",
        "ema_dampening",
        "Averages the gradients from zero, b ← μ b + (1 − μ) g, instead of torch's dampening τ.",
        "Re-read `b ← momentum · b + (1 - dampening) · g`: which hyperparameter weighs g?",
    ),
    _bug(
        "momentum",
        "dampening_on_first_step",
        "Dampens the first gradient too (or starts the buffer at 0), so b_1 = (1 − τ) g_1.",
        "Re-read `on the first step: a copy of g, NOT (1 - dampening) · g`: what is the first "
        "buffer exactly?",
        dampening=0.5,
    ),
    _bug(
        "momentum",
        "lr_inside_velocity",
        "Uses the CS231n form v ← μ v − γ g, θ ← θ + v, keeping γ inside the stored velocity.",
        "Re-read `x ← x - lr · b`: what does the buffer hold, and when is lr used?",
        lr=0.1,
    ),
    _bug(
        "momentum",
        "notes_momentum",
        "Follows the lecture notes, v ← β v + g, x ← x - η v, which have no dampening: the "
        "dampening it is given is ignored.",
        "Re-read `b ← momentum · b + (1 - dampening) · g` and `dampening = 0 reproduces them`: "
        "with another dampening, g is weighed by (1 - dampening).",
        dampening=0.5,
    ),
    _bug(
        "momentum",
        "notes_velocity_form",
        "Follows the lecture notes' velocity form, v ← momentum · v - lr · g, x ← x + v: lr sits "
        "inside the stored velocity and the dampening it is given is ignored.",
        "Re-read `x ← x - lr · b`, `b ← momentum · b + (1 - dampening) · g` and `it is not "
        "folded into v`: the buffer holds no lr, and g is weighed by (1 - dampening).",
        lr=0.1,
        dampening=0.5,
    ),
    _bug(
        "momentum",
        "double_dampening",
        "Multiplies the buffer by (1 − τ) again when stepping, dampening twice.",
        "Re-read `x ← x - lr · b`: what multiplies the buffer there?",
        dampening=0.5,
    ),
    _bug(
        "momentum",
        "stale_buffer",
        "Steps with the buffer from the previous step and updates it afterwards.",
        "Re-read the order of `b ← momentum · b + (1 - dampening) · g` and `x ← x - lr · b`: which "
        "b is used?",
    ),
    _bug(
        "nesterov",
        "plain_momentum",
        "Steps along the buffer alone, as heavy-ball momentum, without Nesterov's look-ahead.",
        "Re-read `x ← x - lr · (g + momentum · b)`: what is added to the gradient?",
    ),
    _bug(
        "nesterov",
        "no_lookahead_on_first_step",
        "Takes a plain gradient step when the buffer is created, as if μ b_1 were 0 then.",
        "Re-read `So the first step is x - lr · (1 + momentum) · g.`: the look-ahead counts from "
        "the first step.",
    ),
    _bug(
        "nesterov",
        "double_lookahead",
        "Applies the look-ahead μ b twice: once to move to θ + μ b, once more in the step.",
        "Re-read `x ← x - lr · (g + momentum · b)`: how many times does momentum · b appear?",
    ),
    _bug(
        "nesterov",
        "lr_inside_velocity",
        "Uses the CS231n form v ← μ v − γ g, θ ← θ − μ v_prev + (1 + μ) v, with γ in the velocity.",
        "Re-read `x ← x - lr · (g + momentum · b)`: what does the buffer hold?",
        lr=0.1,
    ),
)
