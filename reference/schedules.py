"""Decay and warm-up schedules as pure functions of the step, exactly as torch's lr_scheduler.

Each function returns the learning rate torch's scheduler gives at step `step` (0: before the
first `scheduler.step()`), in closed form. One private function per schedule holds the formula;
its known-bug branches sit on the lines they corrupt. The cyclical schedules live in
`reference.cyclical`.
"""

from __future__ import annotations

import math

from reference._common import check_lr, check_nonnegative
from reference.known_bug import KnownBug, schedule_branch

__all__ = [
    "BUGS",
    "check_step",
    "cosine_lr",
    "cosine_warm_restarts",
    "exponential_lr",
    "linear_warmup",
    "polynomial_lr",
    "step_lr",
]


def check_step(step: int) -> None:
    """Reject a negative step: schedules count steps from 0."""
    if step < 0:
        raise ValueError(f"Expected non-negative step, but got {step}")


def step_lr(step: int, *, lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Step decay, torch's StepLR: multiply the learning rate by γ every `step_size` steps.

        η_t = η_0 · γ^⌊t / s⌋            (η_0 = lr, s = step_size, γ = gamma)

    Hyperparameters: lr (the optimizer's initial lr), step_size (required), gamma=0.1.

    Conventions: η_0 at t = 0 and up to t = s − 1; the first decay is at t = s.
    Lecture notes (d2l FactorScheduler) multiply by the factor at every update, from the first.
    """
    check_step(step)
    check_lr(lr)
    return _step_lr(step, lr=lr, step_size=step_size, gamma=gamma)


def _step_lr(
    step: int, *, lr: float, step_size: int, gamma: float = 0.1, bug: str | None = None
) -> float:
    decays = step // step_size
    if bug == "counts_from_one":
        decays = (step + 1) // step_size
    elif bug == "missing_floor":
        return lr * gamma ** (step / step_size)
    return lr * gamma**decays


def exponential_lr(step: int, *, lr: float, gamma: float) -> float:
    r"""Exponential decay, torch's ExponentialLR: multiply the learning rate by γ every step.

        η_t = η_0 · γ^t                  (η_0 = lr, γ = gamma)

    Hyperparameters: lr (the optimizer's initial lr), gamma (required).

    Conventions: η_0 at t = 0, undecayed; the first decay is at t = 1.
    Lecture notes (d2l) write η_t = η_0 e^{−λt}: the same with γ = e^{−λ}.
    """
    check_step(step)
    check_lr(lr)
    return _exponential_lr(step, lr=lr, gamma=gamma)


def _exponential_lr(step: int, *, lr: float, gamma: float, bug: str | None = None) -> float:
    exponent = step + 1 if bug == "decayed_at_step_zero" else step
    return lr * gamma**exponent


def polynomial_lr(step: int, *, lr: float, alpha: float = 0.5, beta: float = 1.0) -> float:
    r"""Polynomial decay from the lecture notes (torch has no equivalent).

        η_t = η_0 · (β t + 1)^{−α}        (η_0 = lr, α = alpha, β = beta)

    Hyperparameters: lr (the initial lr), alpha=0.5 (1/√t decay), beta=1.0; both must be ≥ 0.

    Conventions: η_0 at t = 0; with the defaults η_t = η_0 / √(t + 1): η_0, η_0/√2, η_0/√3, ...
    torch's PolynomialLR is another schedule, η_0 (1 − t/T)^p, that reaches 0 at T.
    """
    check_step(step)
    check_lr(lr)
    check_nonnegative("alpha", alpha)
    check_nonnegative("beta", beta)
    return _polynomial_lr(step, lr=lr, alpha=alpha, beta=beta)


def _polynomial_lr(
    step: int, *, lr: float, alpha: float = 0.5, beta: float = 1.0, bug: str | None = None
) -> float:
    t = step + 1 if bug == "decayed_at_step_zero" else step
    if bug == "alpha_ignored":
        return lr / math.sqrt(beta * t + 1)
    return lr * (beta * t + 1) ** -alpha


def cosine_lr(step: int, *, lr: float, T_max: int, eta_min: float = 0.0) -> float:
    r"""Cosine annealing, torch's CosineAnnealingLR (SGDR without restarts).

        η_t = η_min + (η_0 − η_min) · (1 + cos(π t / T_max)) / 2     (η_0 = lr)

    Hyperparameters: lr (the optimizer's initial lr), T_max (required), eta_min=0.0.

    Conventions: η_0 at t = 0 and η_min at t = T_max; past T_max the cosine goes on, so the lr
    climbs back to η_0 at 2 T_max (period 2 T_max); torch's get_lr is recursive, this is its
    closed form.
    Lecture notes (d2l CosineScheduler) hold η_min after T_max instead of climbing back.
    """
    check_step(step)
    check_lr(lr)
    return _cosine_lr(step, lr=lr, T_max=T_max, eta_min=eta_min)


def _cosine_lr(
    step: int, *, lr: float, T_max: int, eta_min: float = 0.0, bug: str | None = None
) -> float:
    t = min(step, T_max) if bug == "clamped_after_T_max" else step
    period = T_max - 1 if bug == "T_max_minus_one" else T_max
    amplitude = lr if bug == "amplitude_includes_eta_min" else lr - eta_min
    return eta_min + amplitude * (1 + math.cos(math.pi * t / period)) / 2


def cosine_warm_restarts(
    step: int, *, lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0
) -> float:
    r"""Cosine annealing with warm restarts (SGDR), torch's CosineAnnealingWarmRestarts.

        η_t = η_min + (η_0 − η_min) · (1 + cos(π T_cur / T_i)) / 2     (η_0 = lr)
        T_cur ← T_cur + 1 each step; when T_cur ≥ T_i:  T_cur ← T_cur − T_i,  T_i ← T_mult · T_i

    with T_cur = 0 and T_i = T_0 at t = 0.

    Hyperparameters: lr (the optimizer's initial lr), T_0 (a positive int, required),
    T_mult=1 (an int ≥ 1), eta_min=0.0.

    Conventions: η_0 at t = 0 and at every restart; restarts at T_0, T_0 + T_0 T_mult, ...
    (3, 9, 21 for T_0 = 3, T_mult = 2), so η_min itself is never reached.
    Lecture notes (SGDR paper) count T_cur in epochs, possibly fractional; here t is an int.
    """
    check_step(step)
    check_lr(lr)
    if T_0 <= 0 or not isinstance(T_0, int):
        raise ValueError(f"Expected positive integer T_0, but got {T_0}")
    if T_mult < 1 or not isinstance(T_mult, int):
        raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
    if not isinstance(eta_min, float | int):
        raise ValueError(
            f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}"
        )
    return _cosine_warm_restarts(step, lr=lr, T_0=T_0, T_mult=T_mult, eta_min=eta_min)


def _cosine_warm_restarts(
    step: int,
    *,
    lr: float,
    T_0: int,
    T_mult: int = 1,
    eta_min: float = 0.0,
    bug: str | None = None,
) -> float:
    t_cur, t_i = _restart_position(step, T_0, T_mult, bug)
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def _restart_position(step: int, T_0: int, T_mult: int, bug: str | None) -> tuple[int, int]:
    """(T_cur, T_i) at `step`: exact integer bookkeeping, one iteration per restart."""
    late = 1 if bug == "restart_one_step_late" else 0
    t_cur, t_i = step, T_0
    while t_cur >= t_i + late:
        if T_mult == 1 or bug == "period_not_multiplied":  # a fixed period: skip all cycles
            t_cur %= t_i + late
            break
        t_cur -= t_i + late
        t_i = T_0 * T_mult if bug == "T_mult_on_T_0" else t_i * T_mult
    if bug == "T_cur_not_reset":
        return step, t_i
    return t_cur, t_i


def linear_warmup(
    step: int,
    *,
    lr: float,
    start_factor: float = 1.0 / 3,
    end_factor: float = 1.0,
    total_iters: int = 5,
) -> float:
    r"""Linear warm-up (or decay) of the lr factor, torch's LinearLR.

        η_t = η_0 · (s + (e − s) · min(t, T) / T)     (η_0 = lr, s = start_factor,
                                                        e = end_factor, T = total_iters)

    Hyperparameters: lr (the optimizer's initial lr), start_factor=1/3 (in (0, 1]),
    end_factor=1.0 (in [0, 1]), total_iters=5.

    Conventions: η_0 · s at t = 0 (not 0, not η_0), η_0 · e from t = T on; with T ≤ 0 torch
    never leaves η_0 · s, and neither does this.
    Lecture notes (d2l warm-up) ramp from 0 (warmup_begin_lr) to η_0 instead of from s · η_0.
    """
    check_step(step)
    check_lr(lr)
    if start_factor > 1.0 or start_factor <= 0:
        raise ValueError(
            "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
        )
    if end_factor > 1.0 or end_factor < 0:
        raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
    return _linear_warmup(
        step, lr=lr, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters
    )


def _linear_warmup(
    step: int,
    *,
    lr: float,
    start_factor: float = 1.0 / 3,
    end_factor: float = 1.0,
    total_iters: int = 5,
    bug: str | None = None,
) -> float:
    if total_iters <= 0:
        return lr * start_factor
    done, length = min(total_iters, step), total_iters
    if bug == "total_iters_minus_one":
        done, length = min(total_iters - 1, step), total_iters - 1
    elif bug == "no_hold_after_total_iters":
        done = step
    start = 0.0 if bug == "warmup_from_zero" else start_factor
    return lr * (start + (end_factor - start) * done / length)


_bug = schedule_branch

BUGS: tuple[KnownBug, ...] = (
    _bug(
        _step_lr,
        "counts_from_one",
        "Counts steps from 1, so each decay comes one step early.",
        "Re-read `lr(step) = lr · gamma^⌊step / step_size⌋` at step = step_size - 1: which step is "
        "the first?",
        lr=0.1,
        step_size=3,
        gamma=0.5,
    ),
    _bug(
        _step_lr,
        "missing_floor",
        "Decays by γ^(t / s) without rounding down, so the lr shrinks at every step.",
        "Re-read `lr(step) = lr · gamma^⌊step / step_size⌋`: is the lr constant between two "
        "decays?",
        lr=0.1,
        step_size=3,
        gamma=0.5,
    ),
    _bug(
        _exponential_lr,
        "decayed_at_step_zero",
        "Applies the first decay before the first step, so step 0 already uses η_0 γ.",
        "Re-read `step 0 gets lr itself, not lr · gamma`.",
        lr=0.1,
        gamma=0.9,
    ),
    _bug(
        _polynomial_lr,
        "decayed_at_step_zero",
        "Counts steps from 1, so step 0 already uses η_0 (β + 1)^(−α).",
        "Re-read `lr(step) = lr · (beta · step + 1)^(-alpha)` at step 0.",
        lr=0.1,
        alpha=0.5,
        beta=1.0,
    ),
    _bug(
        _polynomial_lr,
        "alpha_ignored",
        "Hard-codes the 1/√t decay of the notes instead of using the exponent α.",
        "Re-read the exponent in `lr(step) = lr · (beta · step + 1)^(-alpha)`.",
        lr=0.1,
        alpha=1.0,
        beta=1.0,
    ),
    _bug(
        _cosine_lr,
        "clamped_after_T_max",
        "Holds η_min after T_max (d2l style) instead of letting the cosine climb back.",
        "Re-read `for EVERY step: after T_max the value climbs back up to lr (period 2 · T_max).`",
        lr=0.1,
        T_max=10,
        eta_min=0.0,
    ),
    _bug(
        _cosine_lr,
        "T_max_minus_one",
        "Divides by T_max − 1, so η_min is reached one step early.",
        "Re-read `cos(π · step / T_max)`: at which step is the cosine -1?",
        lr=0.1,
        T_max=10,
        eta_min=0.0,
    ),
    _bug(
        _cosine_lr,
        "amplitude_includes_eta_min",
        "Adds η_min to η_0 (1 + cos)/2 instead of scaling the cosine by η_0 − η_min.",
        "Re-read `lr(step) = eta_min + (lr - eta_min) · (1 + cos(π · step / T_max)) / 2` at step "
        "0.",
        lr=0.1,
        T_max=10,
        eta_min=0.01,
    ),
    _bug(
        _cosine_warm_restarts,
        "period_not_multiplied",
        "Restarts every T_0 steps, never multiplying the period by T_mult.",
        "Re-read `while T_cur ≥ T_i:  T_cur ← T_cur - T_i ;  T_i ← T_i · T_mult`: how long is the "
        "next cycle?",
        lr=0.1,
        T_0=3,
        T_mult=2,
        eta_min=0.0,
    ),
    _bug(
        _cosine_warm_restarts,
        "T_mult_on_T_0",
        "Sets the period to T_mult · T_0 at every restart instead of multiplying the last one.",
        "Re-read `T_i ← T_i · T_mult`: which period is multiplied?",
        lr=0.1,
        T_0=3,
        T_mult=2,
        eta_min=0.0,
    ),
    _bug(
        _cosine_warm_restarts,
        "T_cur_not_reset",
        "Keeps counting T_cur from the start instead of from the last restart.",
        "Re-read `T_cur ← T_cur - T_i`.",
        lr=0.1,
        T_0=3,
        T_mult=2,
        eta_min=0.0,
    ),
    _bug(
        _cosine_warm_restarts,
        "restart_one_step_late",
        "Restarts when T_cur > T_i, so each cycle has one extra step at η_min.",
        "Re-read `while T_cur ≥ T_i`: what is the lr at T_cur = T_i?",
        lr=0.1,
        T_0=3,
        T_mult=2,
        eta_min=0.0,
    ),
    _bug(
        _linear_warmup,
        "total_iters_minus_one",
        "Divides by total_iters − 1, so the ramp ends one step early.",
        "Re-read `min(step, total_iters)` and `/ total_iters)`: at which step does the factor "
        "reach end_factor?",
        lr=0.1,
        start_factor=0.25,
        end_factor=1.0,
        total_iters=4,
    ),
    _bug(
        _linear_warmup,
        "no_hold_after_total_iters",
        "Keeps the ramp going after total_iters, so the factor grows past end_factor.",
        "Re-read `min(step, total_iters)`: what happens after total_iters?",
        lr=0.1,
        start_factor=0.25,
        end_factor=1.0,
        total_iters=4,
    ),
    _bug(
        _linear_warmup,
        "warmup_from_zero",
        "Ramps up from 0 (d2l warm-up) instead of from start_factor · η_0.",
        "Re-read `So step 0 gets lr · start_factor`.",
        lr=0.1,
        start_factor=0.25,
        end_factor=1.0,
        total_iters=4,
    ),
)
