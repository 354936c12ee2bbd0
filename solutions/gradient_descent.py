"""Assignment 1: gradient descent, SGD with weight decay, minibatches and momentum.

Each optimizer takes one step: it receives the current point `x`, the gradient `grad` at `x`
and a dict `state` (empty before the first step, where you keep whatever the method carries
from one step to the next), and it returns the NEW point. Do not modify `x` or `grad` in
place, and work on whole tensors (no Python loop over elements, no `.item()`), so that your
code runs for any shape, dtype and device. The rules are exactly those of `torch.optim.SGD`.

Write the functions in the order of README.md. Check your work with `optim-grader check`
(or `optim-grader check --function momentum`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def gd(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    """One step of gradient descent with L2 weight decay (torch.optim.SGD, momentum=0).

    Update, with g the gradient at x:

        g ← -g                       if maximize (before the weight decay)
        g ← g + weight_decay · x     (L2 weight decay)
        x ← x - lr · g

    GD, SGD and minibatch SGD are this same step; they differ only in the data the gradient
    was computed on.

    Hyperparameters: lr = 1e-3, weight_decay = 0.0, maximize = False.
    State: none (`state` stays empty).
    Errors: ValueError for a negative lr or weight_decay.
    Lecture notes: the same rule, x ← x - η ∇f(x); weight decay adds the gradient of
    (weight_decay / 2) ‖x‖² to g.
    """
    ### BEGIN SOLUTION
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    return x - lr * g
    ### END SOLUTION


def minibatches(n: int, batch_size: int, *, generator: torch.Generator) -> list[Tensor]:
    """The index batches of one epoch over `n` samples, shuffled as a DataLoader shuffles.

    Draw one random permutation, `torch.randperm(n, generator=generator)` (exactly this call,
    once, so that the seed fixes the batches), and cut it IN ORDER into consecutive batches
    of `batch_size` indices; the last batch is shorter when `batch_size` does not divide `n`
    (it is kept, as with `drop_last=False`).

        perm = randperm(n)
        batches = [perm[0 : b], perm[b : 2b], ..., perm[kb : n]]      (b = batch_size)

    Example: n = 5, batch_size = 2 and perm = [3, 0, 4, 1, 2] give [[3, 0], [4, 1], [2]].
    Errors: ValueError for a batch_size below 1.
    Lecture notes: the notes' `data_iter` shuffles a list of indices and slices it the same
    way; here the shuffle must come from `torch.randperm` with the given generator.
    """
    ### BEGIN SOLUTION
    if batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer, but got {batch_size}")
    permutation = torch.randperm(n, generator=generator)
    return list(torch.split(permutation, batch_size))
    ### END SOLUTION


def momentum(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    """One step of SGD with heavy-ball momentum (torch.optim.SGD with momentum > 0).

    Update, with g the gradient at x and b the momentum buffer:

        g ← -g                       if maximize (before the weight decay)
        g ← g + weight_decay · x     (L2 weight decay)
        b ← g                        on the first step: a copy of g, NOT (1 - dampening) · g
        b ← momentum · b + (1 - dampening) · g        on every later step
        x ← x - lr · b

    With momentum = 0 this is plain gradient descent, x ← x - lr · g: no buffer is kept and
    dampening plays no part.

    Hyperparameters: lr = 1e-3, momentum = 0.9, dampening = 0.0, weight_decay = 0.0,
    maximize = False.
    State: "momentum_buffer" (b, a tensor like x), created on the first step.
    Errors: ValueError for a negative lr, momentum or weight_decay.
    Lecture notes: the notes write v ← β v + g, x ← x - η v (v = b, β = momentum, no
    dampening: dampening = 0 reproduces them). lr multiplies the whole buffer at each step,
    it is not folded into v (the two forms part ways as soon as lr changes).
    """
    ### BEGIN SOLUTION
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if momentum < 0.0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    if momentum == 0.0:
        return x - lr * g
    if "momentum_buffer" not in state:
        buffer = g.clone()
    else:
        buffer = momentum * state["momentum_buffer"] + (1.0 - dampening) * g
    state["momentum_buffer"] = buffer
    return x - lr * buffer
    ### END SOLUTION


def nesterov(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    """One step of SGD with Nesterov momentum (torch.optim.SGD with nesterov=True).

    Update, with g the gradient at x and b the momentum buffer:

        g ← -g                       if maximize (before the weight decay)
        g ← g + weight_decay · x     (L2 weight decay)
        b ← g                        on the first step (a copy of g)
        b ← momentum · b + g         on every later step
        x ← x - lr · (g + momentum · b)

    So the first step is x - lr · (1 + momentum) · g. The point x that is passed in and
    returned is the look-ahead point: the gradient is always taken at the x you return.

    Hyperparameters: lr = 1e-3, momentum = 0.9, dampening = 0.0 (must stay 0),
    weight_decay = 0.0, maximize = False.
    State: "momentum_buffer" (b, a tensor like x), created on the first step.
    Errors: ValueError for a negative lr, momentum or weight_decay, and (as torch) for
    momentum = 0 or dampening ≠ 0: "Nesterov momentum requires a momentum and zero dampening".
    Lecture notes: the notes (Sutskever's form) evaluate the gradient at x + β v and store the
    point before the look-ahead; this reformulation stores the look-ahead point, so the
    iterates differ.
    """
    ### BEGIN SOLUTION
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if momentum < 0.0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if momentum <= 0.0 or dampening != 0.0:
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    if "momentum_buffer" not in state:
        buffer = g.clone()
    else:
        buffer = momentum * state["momentum_buffer"] + g
    state["momentum_buffer"] = buffer
    return x - lr * (g + momentum * buffer)
    ### END SOLUTION
