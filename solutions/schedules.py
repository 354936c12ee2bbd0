"""Assignment 3: learning-rate schedules, SWATS (Adam that switches to SGD), and a training loop.

A schedule is a pure function of the step: `name(step, *, lr, ...) -> float` gives the
learning rate that the optimizer uses at step `step`, counted from 0. It is the value that the
torch scheduler of the same name gives there: at step 0, the value before the first
`scheduler.step()`. `lr` is the optimizer's initial learning rate (`cyclic_lr` and
`one_cycle_lr` take `base_lr` / `max_lr` instead, as torch's CyclicLR and OneCycleLR set the
range themselves). Use the `math` module: a schedule returns a Python float.

`swats` is an optimizer in the shape of assignments 1 and 2: `swats(x, grad, state, ...)`
returns the new point, never modifies `x` or `grad` in place, and keeps its running
quantities in `state`.

`train` is the loop that puts an optimizer and a schedule to work on a network: it gets the
model, the data and a `torch.optim.Optimizer` (the kit's `autograder.training.ContractOptimizer`
wraps any optimizer of yours in one) and runs epochs of minibatches, setting the learning rate
of every step from the schedule.

Write the functions in the order of README.md. Check your work with `optim-grader check`
(or `optim-grader check --function cosine_lr`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor


def step_lr(step: int, *, lr: float, step_size: int, gamma: float = 0.1) -> float:
    """Step decay (torch.optim.lr_scheduler.StepLR): multiply by gamma every step_size steps.

        lr(step) = lr · gamma^⌊step / step_size⌋

    Example: lr = 0.1, step_size = 3, gamma = 0.5 give 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025.
    Hyperparameters: lr (required), step_size (required), gamma = 0.1.
    Lecture notes: the notes' factor scheduler multiplies at every step; this one holds the
    value for step_size steps, and step 0 gets lr itself.
    """
    ### BEGIN SOLUTION
    return lr * gamma ** (step // step_size)
    ### END SOLUTION


def exponential_lr(step: int, *, lr: float, gamma: float) -> float:
    """Exponential decay (torch.optim.lr_scheduler.ExponentialLR).

        lr(step) = lr · gamma^step

    Example: lr = 0.1, gamma = 0.9 give 0.1, 0.09, 0.081, 0.0729.
    Hyperparameters: lr (required), gamma (required).
    Lecture notes: the same rule; step 0 gets lr itself, not lr · gamma.
    """
    ### BEGIN SOLUTION
    return lr * gamma**step
    ### END SOLUTION


def polynomial_lr(step: int, *, lr: float, alpha: float = 0.5, beta: float = 1.0) -> float:
    """Polynomial decay of the lecture notes (torch has no such scheduler).

        lr(step) = lr · (beta · step + 1)^(-alpha)

    With the defaults this is the 1/√t schedule: lr, lr/√2, lr/√3, ...
    Hyperparameters: lr (required), alpha = 0.5, beta = 1.0.
    Lecture notes: the same rule, η_t = η_0 (β t + 1)^(-α).
    """
    ### BEGIN SOLUTION
    return lr * (beta * step + 1.0) ** -alpha
    ### END SOLUTION


def cosine_lr(step: int, *, lr: float, T_max: int, eta_min: float = 0.0) -> float:
    """Cosine annealing (torch.optim.lr_scheduler.CosineAnnealingLR), periodic past T_max.

        lr(step) = eta_min + (lr - eta_min) · (1 + cos(π · step / T_max)) / 2

    for EVERY step: after T_max the value climbs back up to lr (period 2 · T_max).
    Example: lr = 0.1, T_max = 4 give 0.1, 0.0854, 0.05, 0.0146, 0, 0.0146, 0.05, 0.0854, 0.1.
    Hyperparameters: lr (required), T_max (required), eta_min = 0.0.
    Lecture notes: the notes' cosine scheduler stays at the final value after max_update;
    this one does not clamp.
    """
    ### BEGIN SOLUTION
    return eta_min + (lr - eta_min) * (1.0 + math.cos(math.pi * step / T_max)) / 2.0
    ### END SOLUTION


def cosine_warm_restarts(
    step: int, *, lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0
) -> float:
    """Cosine annealing with warm restarts, SGDR (torch's CosineAnnealingWarmRestarts).

    The first cycle lasts T_0 steps and each later one T_mult times as long as the one before.
    With T_cur the steps since the last restart and T_i the length of the current cycle:

        T_cur ← step ;  T_i ← T_0
        while T_cur ≥ T_i:  T_cur ← T_cur - T_i ;  T_i ← T_i · T_mult
        lr(step) = eta_min + (lr - eta_min) · (1 + cos(π · T_cur / T_i)) / 2

    Example: lr = 0.1, T_0 = 3, T_mult = 2 give 0.1, 0.075, 0.025, 0.1, 0.0933, 0.075, 0.05,
    0.025, 0.0067, 0.1 (restarts at steps 3 and 9; eta_min itself is never reached).
    Hyperparameters: lr (required), T_0 (required), T_mult = 1, eta_min = 0.0.
    Lecture notes: the notes do not cover restarts; see Loshchilov & Hutter, SGDR (2017).
    """
    ### BEGIN SOLUTION
    t_cur, t_i = step, T_0
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= T_mult
    return eta_min + (lr - eta_min) * (1.0 + math.cos(math.pi * t_cur / t_i)) / 2.0
    ### END SOLUTION


def cyclic_lr(
    step: int,
    *,
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> float:
    """Cyclical learning rate (torch.optim.lr_scheduler.CyclicLR), its three modes.

    A cycle climbs from base_lr to max_lr in step_size_up steps and comes back down in
    step_size_down steps (default: step_size_up). With S = step_size_up + step_size_down and
    r = step_size_up / S:

        cycle = ⌊1 + step / S⌋                        (the cycle number, from 1)
        u = 1 + step / S - cycle                      (the position in the cycle, in [0, 1))
        h = u / r  if u ≤ r,  else (u - 1) / (r - 1)  (the height, from 0 up to 1 and back)
        lr(step) = base_lr + (max_lr - base_lr) · h · f

    f = 1 for mode "triangular", 1 / 2^(cycle - 1) for "triangular2" (halved every CYCLE),
    gamma^step for "exp_range" (decayed every STEP).
    Example: base_lr = 0, max_lr = 0.1, step_size_up = 2, "triangular2" give 0, 0.05, 0.1,
    0.05, 0, 0.025, 0.05, 0.025, 0.
    Hyperparameters: base_lr (required), max_lr (required), step_size_up = 2000,
    step_size_down = None, mode = "triangular", gamma = 1.0 (exp_range only).
    Errors: ValueError for another mode.
    Lecture notes: not covered; see Smith, Cyclical Learning Rates (2017). torch's scheduler
    also cycles the momentum; only the learning rate is asked for here.
    """
    ### BEGIN SOLUTION
    if mode not in ("triangular", "triangular2", "exp_range"):
        raise ValueError(f"mode is invalid: {mode!r}")
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total = up + down
    ratio = up / total
    cycle = math.floor(1 + step / total)
    position = 1.0 + step / total - cycle
    height = position / ratio if position <= ratio else (position - 1) / (ratio - 1)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / (2.0 ** (cycle - 1))
    else:
        scale = gamma**step
    return base_lr + (max_lr - base_lr) * height * scale
    ### END SOLUTION


def one_cycle_lr(
    step: int,
    *,
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> float:
    """The one-cycle policy (torch.optim.lr_scheduler.OneCycleLR).

    With initial = max_lr / div_factor and minimum = initial / final_div_factor (NOT
    max_lr / final_div_factor), the schedule is made of phases (start step, end step, from, to):

        two phases:    (0, p·T - 1, initial, max_lr),  (p·T - 1, T - 1, max_lr, minimum)
        three_phase:   (0, p·T - 1, initial, max_lr),  (p·T - 1, 2·p·T - 2, max_lr, initial),
                       (2·p·T - 2, T - 1, initial, minimum)

    where T = total_steps and p = pct_start (the end steps are floats). The step belongs to
    the first phase whose end step is ≥ step (the last phase takes every later step). With
    pct = (step - start) / (end - start) inside that phase:

        "cos":     lr(step) = to + (from - to) · (1 + cos(π · pct)) / 2
        "linear":  lr(step) = from + (to - from) · pct

    Example: max_lr = 1, total_steps = 10, "cos" give 0.04, 0.52, 1.0, 0.9505, 0.8117, 0.6113,
    0.3887, 0.1883, 0.0495, 4e-6.
    Hyperparameters: max_lr (required), total_steps (required), pct_start = 0.3,
    anneal_strategy = "cos", div_factor = 25.0, final_div_factor = 1e4, three_phase = False.
    Errors: ValueError for another anneal_strategy.
    Lecture notes: not covered; see Smith & Topin, Super-Convergence (2019). torch's
    scheduler also cycles the momentum; only the learning rate is asked for here.
    """
    ### BEGIN SOLUTION
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(
            f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
        )
    initial = max_lr / div_factor
    minimum = initial / final_div_factor
    peak = float(pct_start * total_steps) - 1
    last = float(total_steps - 1)
    if three_phase:
        valley = float(2 * pct_start * total_steps) - 2
        phases = [(peak, initial, max_lr), (valley, max_lr, initial), (last, initial, minimum)]
    else:
        phases = [(peak, initial, max_lr), (last, max_lr, minimum)]
    start = 0.0
    for index, (end, begin_lr, end_lr) in enumerate(phases):
        if step <= end or index == len(phases) - 1:
            pct = (step - start) / (end - start)
            if anneal_strategy == "cos":
                return end_lr + (begin_lr - end_lr) / 2.0 * (math.cos(math.pi * pct) + 1)
            return (end_lr - begin_lr) * pct + begin_lr
        start = end
    raise AssertionError("unreachable: the last phase takes every step")
    ### END SOLUTION


def linear_warmup(
    step: int,
    *,
    lr: float,
    start_factor: float = 1 / 3,
    end_factor: float = 1.0,
    total_iters: int = 5,
) -> float:
    """Linear warm-up (torch.optim.lr_scheduler.LinearLR): a linear ramp of the factor.

        lr(step) = lr · (start_factor + (end_factor - start_factor) · min(step, total_iters)
                         / total_iters)

    So step 0 gets lr · start_factor, and from step total_iters on the value is
    lr · end_factor.
    Example: lr = 0.1, start_factor = 0.25, total_iters = 4 give 0.025, 0.04375, 0.0625,
    0.08125, 0.1, 0.1.
    Hyperparameters: lr (required), start_factor = 1/3, end_factor = 1.0, total_iters = 5.
    Lecture notes: the notes' warm-up ramps from 0 (start_factor → 0) inside the cosine
    scheduler; here the warm-up is a schedule of its own.
    """
    ### BEGIN SOLUTION
    progress = min(step, total_iters) / total_iters
    return lr * (start_factor + (end_factor - start_factor) * progress)
    ### END SOLUTION


def swats(
    x: Tensor,
    grad: Tensor,
    state: dict[str, Any],
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-9,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> Tensor:
    """One step of SWATS: Adam that switches to SGD (Keskar & Socher 2017, Algorithm 1).

    Each tensor starts in the Adam phase and switches to the SGD phase for good once its
    projected SGD learning rate has settled. With beta1, beta2 = betas, k the step, g after
    the prologue (g ← -grad if maximize; g ← g + weight_decay · x), and p·q = Σ p_i q_i the
    dot product over the whole tensor:

        k ← k + 1
        SGD phase (switched at an earlier step):
            v ← beta1 · v + g                        (v is zero when the phase starts)
            x ← x - (1 - beta1) · Λ · v
            (m, a and λ are left as they are)
        Adam phase:
            m ← beta1 · m + (1 - beta1) · g ;   a ← beta2 · a + (1 - beta2) · g²
            p ← -lr · √(1 - beta2^k) / (1 - beta1^k) · m / (√a + eps)
            x ← x + p
            if p·g ≠ 0:
                γ ← (p·p) / (-p·g) ;   λ ← beta2 · λ + (1 - beta2) · γ
                if k > 1 and |λ / (1 - beta2^k) - γ| < eps:      (an absolute test)
                    switch to the SGD phase from the NEXT step on, with Λ ← λ / (1 - beta2^k)
            (if p·g = 0, λ is left as it is and there is no switch)

    The step at which the switch happens still takes its Adam step. Keep the phase decision
    on the tensor's device (0-d tensors and torch.where; no `.item()`, no Python `if` on a
    tensor), so that the function runs without a host round trip.

    Hyperparameters: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-9 (both in the Adam step and
    in the switch test), weight_decay = 0.0, maximize = False.
    State: "step" (k, int), "exp_avg" (m), "exp_avg_sq" (a), "momentum_buffer" (v), all
    tensors like x starting at zero; and 0-d tensors of x's dtype and device starting at
    zero: "exp_avg_lambda" (λ), "sgd_phase" (0.0 in the Adam phase, 1.0 once switched),
    "sgd_lr" (Λ, 0.0 until the switch).
    Errors: ValueError for a negative lr, eps or weight_decay, and for a beta outside [0, 1).
    Lecture notes: not covered; the paper has no official code, and popular implementations
    differ (a relative switch test, one switch for all tensors, no (1 - beta1) factor).
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
        state["exp_avg_lambda"] = x.new_zeros(())
        state["sgd_phase"] = x.new_zeros(())
        state["sgd_lr"] = x.new_zeros(())
        state["momentum_buffer"] = torch.zeros_like(x)
    state["step"] += 1
    k = state["step"]
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * x
    in_sgd = state["sgd_phase"] > 0.0

    # SGD phase: momentum with the learning rate Λ found at the switch.
    buffer = beta1 * state["momentum_buffer"] + g
    sgd_x = x - (1.0 - beta1) * state["sgd_lr"] * buffer

    # Adam phase: the Adam step p, and the projected learning rate γ.
    exp_avg = beta1 * state["exp_avg"] + (1.0 - beta1) * g
    exp_avg_sq = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
    bias_correction2 = 1.0 - beta2**k
    step_size = lr * math.sqrt(bias_correction2) / (1.0 - beta1**k)
    p = -step_size * exp_avg / (exp_avg_sq.sqrt() + eps)
    p_dot_g = (p * g).sum()
    projects = p_dot_g != 0.0
    gamma = (p * p).sum() / torch.where(projects, -p_dot_g, 1.0)
    exp_avg_lambda = torch.where(
        projects, beta2 * state["exp_avg_lambda"] + (1.0 - beta2) * gamma, state["exp_avg_lambda"]
    )
    corrected_lambda = exp_avg_lambda / bias_correction2
    settled = (corrected_lambda - gamma).abs() < eps
    switch = ~in_sgd & projects & settled & (k > 1)

    state["momentum_buffer"] = torch.where(in_sgd, buffer, state["momentum_buffer"])
    state["exp_avg"] = torch.where(in_sgd, state["exp_avg"], exp_avg)
    state["exp_avg_sq"] = torch.where(in_sgd, state["exp_avg_sq"], exp_avg_sq)
    state["exp_avg_lambda"] = torch.where(in_sgd, state["exp_avg_lambda"], exp_avg_lambda)
    state["sgd_lr"] = torch.where(switch, corrected_lambda, state["sgd_lr"])
    state["sgd_phase"] = (in_sgd | switch).to(x.dtype)
    return torch.where(in_sgd, sgd_x, x + p)
    ### END SOLUTION


def train(
    model: torch.nn.Module,
    data: tuple[Tensor, Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    schedule: Callable[..., float] | None = None,
    schedule_kwargs: Mapping[str, Any] | None = None,
    generator: torch.Generator,
) -> list[float]:
    """Train `model` on `data` with `optimizer` for `epochs` epochs of shuffled minibatches.

    `data` = (features, labels): features of shape (n, 2), labels of shape (n,) holding 0.0 or
    1.0; `model(features[B])` gives one logit per row, shape (len(B),). With t the number of
    minibatches trained so far in the whole run (0 at the first one, not reset by an epoch):

        t ← 0
        for each of the `epochs` epochs:
            π ← torch.randperm(n, generator=generator)
            for each batch B of π cut in order into pieces of batch_size (the last shorter):
                if schedule is given:
                    group["lr"] ← schedule(t, **schedule_kwargs), for every group of
                    optimizer.param_groups
                optimizer.zero_grad()
                ℓ ← binary_cross_entropy_with_logits(model(features[B]), labels[B])   (the mean)
                ℓ.backward();  optimizer.step()
                record ℓ.item();  t ← t + 1

    Returns the recorded losses, a list of epochs · ⌈n / batch_size⌉ Python floats.

    Arguments: epochs ≥ 0, batch_size ≥ 1, schedule (a function of the step, such as your
    cosine_lr) with its keyword arguments schedule_kwargs (None: none), and generator (a
    seeded torch.Generator, the only source of randomness).
    Conventions: a fresh permutation at the start of every epoch; the learning rate of step t
    is set before optimizer.step(), which equals a torch scheduler stepped after every
    minibatch (at t = 0 the schedule's value at step 0); the loss is averaged over the batch
    (reduction="mean") and recorded before the step, as a float.
    Lecture notes: the notes' loop also draws the permutation per epoch, but from torch's
    global generator, and may step the scheduler once per epoch; here both are pinned as above.
    """
    ### BEGIN SOLUTION
    features, labels = data
    losses: list[float] = []
    step = 0
    for _ in range(epochs):
        permutation = torch.randperm(len(labels), generator=generator)
        for batch in torch.split(permutation, batch_size):
            if schedule is not None:
                lr = schedule(step, **(schedule_kwargs or {}))
                for group in optimizer.param_groups:
                    group["lr"] = lr
            optimizer.zero_grad()
            logits = model(features[batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels[batch])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
    return losses
    ### END SOLUTION
