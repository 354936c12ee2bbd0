"""Cyclical schedules as pure functions of the step, exactly as torch's CyclicLR and OneCycleLR.

Both schedulers set the learning-rate range themselves (base_lr/max_lr, max_lr/div_factor), so
neither function takes the optimizer's lr. They reproduce torch's arithmetic expression by
expression; known-bug branches sit on the lines they corrupt. Momentum cycling is out of scope:
these give the learning rate only.
"""

from __future__ import annotations

import math

from reference.known_bug import KnownBug, schedule_branch
from reference.schedules import check_step

__all__ = ["BUGS", "cyclic_lr", "one_cycle_lr"]

CYCLIC_MODES = ("triangular", "triangular2", "exp_range")
ANNEAL_STRATEGIES = ("cos", "linear")


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
    r"""Cyclical learning rate (Smith 2017), torch's CyclicLR with its three built-in modes.

        S = s_up + s_down,   r = s_up / S                      (s_down = s_up when None)
        c = ⌊1 + t / S⌋,     x = 1 + t / S − c                 (cycle c from 1, x ∈ [0, 1))
        h = x / r  if x ≤ r  else (x − 1) / (r − 1)            (up, then down the triangle)
        η_t = base_lr + (max_lr − base_lr) · h · f
        f = 1 (triangular),  2^{−(c − 1)} (triangular2),  γ^t (exp_range)

    Hyperparameters: base_lr, max_lr (required), step_size_up=2000, step_size_down=None,
    mode="triangular", gamma=1.0 (exp_range only). torch's scale_fn/scale_mode (a custom
    Python callable) and the momentum arguments are left out: a callable is not a plain value
    the grader can pass, and momentum does not change the lr.

    Conventions: base_lr at t = 0 (it replaces the optimizer's lr), max_lr at t = s_up;
    triangular2 halves the amplitude once per cycle, exp_range scales it by γ per iteration.
    Lecture notes (the paper) use one step size for both halves of the cycle.
    """
    check_step(step)
    if mode not in CYCLIC_MODES:
        raise ValueError("mode is invalid and scale_fn is None")
    return _cyclic_lr(
        step,
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=step_size_up,
        step_size_down=step_size_down,
        mode=mode,
        gamma=gamma,
    )


def _cyclic_lr(
    step: int,
    *,
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
    bug: str | None = None,
) -> float:
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    if bug == "step_size_down_ignored":
        down = up
    total = up + down
    ratio = up / total
    cycle = math.floor(1 + step / total)
    x = 1.0 + step / total - cycle
    height = (max_lr - base_lr) * (x / ratio if x <= ratio else (x - 1) / (ratio - 1))
    if bug == "cycle_off_by_one":
        cycle -= 1
    if mode == "triangular2":
        halvings = step if bug == "triangular2_halves_per_iteration" else cycle
        return base_lr + height * (1 / (2.0 ** (halvings - 1)))
    if mode == "exp_range":
        if bug == "exp_range_scales_base_lr":
            return (base_lr + height) * gamma**step
        return base_lr + height * gamma ** (cycle if bug == "exp_range_per_cycle" else step)
    return base_lr + height


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
    r"""The one-cycle policy (Smith & Topin 2018), torch's OneCycleLR.

        η_init = max_lr / div_factor,   η_min = η_init / final_div_factor,   T = total_steps
        phases (end step: from → to):
            two-phase:    pT − 1: η_init → max_lr;   T − 1: max_lr → η_min
            three_phase:  pT − 1: η_init → max_lr;   2pT − 2: max_lr → η_init;
                          T − 1: η_init → η_min
        in the phase (start, end] holding t (the first phase starts at 0, the last takes
        every later t): q = (t − start) / (end − start) and
            cos:     η_t = to + (from − to) (1 + cos(π q)) / 2
            linear:  η_t = from + (to − from) q

    Hyperparameters: max_lr, total_steps (required; torch's epochs × steps_per_epoch is the
    same number), pct_start=0.3 (p, a float in [0, 1]), anneal_strategy="cos" (or "linear"),
    div_factor=25.0, final_div_factor=1e4, three_phase=False. Momentum cycling is left out:
    it does not change the lr.

    Conventions: η_init at t = 0, max_lr at t = pT − 1, η_min at t = T − 1; steps run up to T
    (t = T extrapolates the last phase, t > T raises as torch's step does).
    Lecture notes (Smith's 1cycle) go up and down linearly, then anneal: that is three_phase=True
    with anneal_strategy="linear"; torch's default is two cosine phases.
    """
    check_step(step)
    if total_steps <= 0 or not isinstance(total_steps, int):
        raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
    if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
        raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
    if anneal_strategy not in ANNEAL_STRATEGIES:
        raise ValueError(
            f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
        )
    if step > total_steps:
        raise ValueError(
            f"Tried to step {step} times. The specified number of total steps is {total_steps}"
        )
    return _one_cycle_lr(
        step,
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )


def _one_cycle_lr(
    step: int,
    *,
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    bug: str | None = None,
) -> float:
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    if bug == "final_lr_from_max_lr":
        min_lr = max_lr / final_div_factor
    peak = float(pct_start * total_steps) - 1
    if bug == "peak_one_step_late":
        peak = float(pct_start * total_steps)
    phases = [(peak, initial_lr, max_lr)]
    if three_phase:
        phases.append((float(2 * pct_start * total_steps) - 2, max_lr, initial_lr))
    phases.append((total_steps - 1, phases[-1][2], min_lr))
    index, start = 0, 0.0
    while index < len(phases) - 1 and step > phases[index][0]:
        index, start = index + 1, phases[index][0]
    end, lr_from, lr_to = phases[index]
    if bug == "phase_start_not_subtracted":
        start = 0.0
    return _anneal(anneal_strategy, lr_from, lr_to, (step - start) / (end - start), bug)


def _anneal(strategy: str, lr_from: float, lr_to: float, progress: float, bug: str | None) -> float:
    """torch's _annealing_cos / _annealing_linear, from `lr_from` at 0 to `lr_to` at 1."""
    if strategy == "linear":
        return (lr_to - lr_from) * progress + lr_from
    if bug == "cosine_runs_backwards":
        lr_from, lr_to = lr_to, lr_from
    return lr_to + (lr_from - lr_to) / 2.0 * (math.cos(math.pi * progress) + 1)


_bug = schedule_branch

_CYCLIC = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "step_size_down": None}
_TRIANGULAR2 = {**_CYCLIC, "mode": "triangular2", "gamma": 1.0}
_EXP_RANGE = {**_CYCLIC, "mode": "exp_range", "gamma": 0.97}
_ONE_CYCLE = {
    "max_lr": 1.0,
    "total_steps": 60,
    "pct_start": 0.3,
    "anneal_strategy": "cos",
    "div_factor": 25.0,
    "final_div_factor": 1e4,
    "three_phase": False,
}

BUGS: tuple[KnownBug, ...] = (
    _bug(
        _cyclic_lr,
        "triangular2_halves_per_iteration",
        "Halves the triangular2 amplitude at every iteration instead of once per cycle.",
        'Re-read `1 / 2^(cycle - 1) for "triangular2" (halved every CYCLE)`.',
        **_TRIANGULAR2,
    ),
    _bug(
        _cyclic_lr,
        "cycle_off_by_one",
        "Counts cycles from 0, so triangular2 doubles the amplitude of the first cycle.",
        "Re-read `cycle = ⌊1 + step / S⌋                        (the cycle number, from 1)`.",
        **_TRIANGULAR2,
    ),
    _bug(
        _cyclic_lr,
        "exp_range_per_cycle",
        "Scales the exp_range amplitude by γ once per cycle instead of at every iteration.",
        'Re-read `gamma^step for "exp_range" (decayed every STEP)`.',
        **_EXP_RANGE,
    ),
    _bug(
        _cyclic_lr,
        "exp_range_scales_base_lr",
        "Multiplies the whole lr by γ^t, base_lr included, instead of the amplitude only.",
        "Re-read `lr(step) = base_lr + (max_lr - base_lr) · h · f`: which term does f multiply?",
        **_EXP_RANGE,
    ),
    _bug(
        _cyclic_lr,
        "step_size_down_ignored",
        "Uses step_size_up for the decreasing half too, ignoring step_size_down.",
        "Re-read `step_size_down steps (default: step_size_up)`: how long is the decreasing half?",
        **{**_CYCLIC, "step_size_up": 3, "step_size_down": 7, "mode": "triangular", "gamma": 1.0},
    ),
    _bug(
        _one_cycle_lr,
        "peak_one_step_late",
        "Ends the warm-up phase at step pT instead of pT − 1, so the peak comes one step late.",
        "Re-read `(0, p·T - 1, initial, max_lr)`: at which step is max_lr reached?",
        **_ONE_CYCLE,
    ),
    _bug(
        _one_cycle_lr,
        "final_lr_from_max_lr",
        "Sets the final lr to max_lr / final_div_factor instead of η_init / final_div_factor.",
        "Re-read `minimum = initial / final_div_factor (NOT`: what is divided by final_div_factor?",
        **_ONE_CYCLE,
    ),
    _bug(
        _one_cycle_lr,
        "phase_start_not_subtracted",
        "Measures progress in every phase from step 0 instead of from the phase's start.",
        "Re-read `pct = (step - start) / (end - start)`: where does the second phase start?",
        **_ONE_CYCLE,
    ),
    _bug(
        _one_cycle_lr,
        "cosine_runs_backwards",
        "Swaps the ends in the cosine, so each phase starts at its target and ends at its start.",
        'Re-read `"cos":     lr(step) = to + (from - to) · (1 + cos(π · pct)) / 2` at pct = 0.',
        **_ONE_CYCLE,
    ),
)
