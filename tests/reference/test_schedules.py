"""The decay and warm-up schedules against torch.optim.lr_scheduler, and their known bugs."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from reference.known_bug import KnownBug
from reference.schedules import (
    BUGS,
    cosine_lr,
    cosine_warm_restarts,
    exponential_lr,
    linear_warmup,
    polynomial_lr,
    step_lr,
)
from tests.reference.helpers import (
    Schedule,
    assert_same_error,
    assert_torch_tells_schedule_bug_apart,
    grid,
    options_id,
)
from tests.reference.torch_oracle import (
    assert_same_schedule,
    optimizer_to_schedule,
    proves,
    torch_schedule,
)

STEPS = 150
LEARNING_RATES = (0.1, 0.037, 1.5)


def cases(**axes: Sequence[Any]) -> list[Any]:
    """Every combination of `axes`, the lr cycling through LEARNING_RATES, as (lr, options)."""
    return [
        pytest.param(LEARNING_RATES[index % len(LEARNING_RATES)], options, id=options_id(options))
        for index, options in enumerate(grid(**axes))
    ]


# ---------------------------------------------------------------- exactness against torch


@pytest.mark.parametrize(("lr", "options"), cases(step_size=(1, 3, 7, 30), gamma=(0.1, 0.5, 0.95)))
@proves("step_lr", "torch.optim.lr_scheduler.StepLR")
def test_step_lr_matches_torch(lr: float, options: dict[str, Any]) -> None:
    expected = torch_schedule(lambda o: lr_scheduler.StepLR(o, **options), STEPS, lr=lr)
    assert_same_schedule(expected, [step_lr(t, lr=lr, **options) for t in range(STEPS)])


@pytest.mark.parametrize(("lr", "options"), cases(gamma=(0.5, 0.9, 0.99, 1.0)))
@proves("exponential_lr", "torch.optim.lr_scheduler.ExponentialLR")
def test_exponential_lr_matches_torch(lr: float, options: dict[str, Any]) -> None:
    expected = torch_schedule(lambda o: lr_scheduler.ExponentialLR(o, **options), STEPS, lr=lr)
    assert_same_schedule(expected, [exponential_lr(t, lr=lr, **options) for t in range(STEPS)])


@pytest.mark.parametrize(
    ("lr", "options"), cases(T_max=(1, 4, 10, 33, 100, 400), eta_min=(0.0, 0.003))
)
@proves("cosine_lr", "torch.optim.lr_scheduler.CosineAnnealingLR")
def test_cosine_lr_matches_torch_past_T_max(lr: float, options: dict[str, Any]) -> None:
    """150 steps: several periods for small T_max, where the cosine climbs back to lr."""
    expected = torch_schedule(lambda o: lr_scheduler.CosineAnnealingLR(o, **options), STEPS, lr=lr)
    assert_same_schedule(expected, [cosine_lr(t, lr=lr, **options) for t in range(STEPS)])


@pytest.mark.parametrize(
    ("lr", "options"), cases(T_0=(1, 3, 10), T_mult=(1, 2, 3), eta_min=(0.0, 0.003))
)
@proves("cosine_warm_restarts", "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts")
def test_cosine_warm_restarts_matches_torch(lr: float, options: dict[str, Any]) -> None:
    expected = torch_schedule(
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, **options), STEPS, lr=lr
    )
    assert_same_schedule(
        expected, [cosine_warm_restarts(t, lr=lr, **options) for t in range(STEPS)]
    )


@pytest.mark.parametrize(
    ("lr", "options"),
    cases(start_factor=(0.1, 1 / 3, 1.0), end_factor=(0.0, 0.5, 1.0), total_iters=(0, 1, 5, 40)),
)
@proves("linear_warmup", "torch.optim.lr_scheduler.LinearLR")
def test_linear_warmup_matches_torch(lr: float, options: dict[str, Any]) -> None:
    expected = torch_schedule(lambda o: lr_scheduler.LinearLR(o, **options), STEPS, lr=lr)
    assert_same_schedule(expected, [linear_warmup(t, lr=lr, **options) for t in range(STEPS)])


def test_linear_warmup_defaults_match_torch() -> None:
    expected = torch_schedule(lr_scheduler.LinearLR, STEPS)
    assert_same_schedule(expected, [linear_warmup(t, lr=0.1) for t in range(STEPS)])


def test_documented_sequences() -> None:
    """torch's sequences, written out by hand: restarts at 3 and 9."""
    restarts = [cosine_warm_restarts(t, lr=0.1, T_0=3, T_mult=2) for t in range(10)]
    assert restarts == pytest.approx(
        [0.1, 0.075, 0.025, 0.1, 0.0933, 0.075, 0.05, 0.025, 0.0067, 0.1], abs=5e-5
    )
    assert [step_lr(t, lr=0.1, step_size=3, gamma=0.5) for t in range(7)] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]
    )
    warmup = [linear_warmup(t, lr=0.1, start_factor=0.25, total_iters=4) for t in range(6)]
    assert warmup == pytest.approx([0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1])


# ---------------------------------------------------------------- polynomial decay (no torch)


def test_polynomial_lr_by_hand() -> None:
    """Defaults give lr / √(t + 1); alpha=1, beta=0.5 give lr / (t/2 + 1)."""
    assert [polynomial_lr(t, lr=0.1) for t in range(4)] == pytest.approx(
        [0.1, 0.1 / math.sqrt(2), 0.1 / math.sqrt(3), 0.05], rel=1e-15
    )
    assert [polynomial_lr(t, lr=0.1, alpha=1.0, beta=0.5) for t in range(5)] == pytest.approx(
        [0.1, 0.1 / 1.5, 0.05, 0.1 / 2.5, 0.1 / 3], rel=1e-15
    )
    assert polynomial_lr(99, lr=2.0, alpha=2.0, beta=0.01) == pytest.approx(2.0 / 1.99**2)


@given(
    lr=st.floats(1e-6, 10.0),
    alpha=st.floats(0.0, 3.0),
    beta=st.floats(0.0, 5.0),
)
def test_polynomial_lr_starts_at_lr_and_never_increases(
    lr: float, alpha: float, beta: float
) -> None:
    values = [polynomial_lr(t, lr=lr, alpha=alpha, beta=beta) for t in range(100)]
    assert values[0] == lr
    assert all(later <= earlier for earlier, later in itertools.pairwise(values))
    assert all(value > 0 for value in values)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": -0.5}, "Invalid alpha value: -0.5"),
        ({"beta": -1.0}, "Invalid beta value: -1.0"),
        ({"lr": -0.1}, "Invalid learning rate: -0.1"),
    ],
    ids=["negative-alpha", "negative-beta", "negative-lr"],
)
def test_polynomial_lr_rejects(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        polynomial_lr(0, **{"lr": 0.1, **options})


# ---------------------------------------------------------------- errors as torch raises them


def error_case(
    schedule: Schedule, scheduler: type[lr_scheduler.LRScheduler], label: str, **options: Any
) -> Any:
    """The schedule called with `options`, torch's optimizer (lr) and scheduler (the rest)."""
    return pytest.param(schedule, scheduler, options, id=f"{schedule.__name__}-{label}")


ERRORS = [
    *(
        error_case(
            cosine_warm_restarts,
            lr_scheduler.CosineAnnealingWarmRestarts,
            f"T_0={value}",
            lr=0.1,
            T_0=value,
        )
        for value in (0, -2, 2.5)
    ),
    *(
        error_case(
            cosine_warm_restarts,
            lr_scheduler.CosineAnnealingWarmRestarts,
            f"T_mult={value}",
            lr=0.1,
            T_0=3,
            T_mult=value,
        )
        for value in (0, -1, 1.5)
    ),
    error_case(
        cosine_warm_restarts,
        lr_scheduler.CosineAnnealingWarmRestarts,
        "eta_min-a-list",
        lr=0.1,
        T_0=3,
        eta_min=[0.0],
    ),
    *(
        error_case(
            linear_warmup,
            lr_scheduler.LinearLR,
            f"start_factor={value}",
            lr=0.1,
            start_factor=value,
        )
        for value in (0.0, -0.1, 1.5)
    ),
    *(
        error_case(
            linear_warmup, lr_scheduler.LinearLR, f"end_factor={value}", lr=0.1, end_factor=value
        )
        for value in (-0.1, 1.5)
    ),
    error_case(step_lr, lr_scheduler.StepLR, "negative-lr", lr=-0.1, step_size=3),
    error_case(exponential_lr, lr_scheduler.ExponentialLR, "negative-lr", lr=-0.1, gamma=0.9),
    error_case(cosine_lr, lr_scheduler.CosineAnnealingLR, "negative-lr", lr=-0.1, T_max=10),
    error_case(
        cosine_warm_restarts,
        lr_scheduler.CosineAnnealingWarmRestarts,
        "negative-lr",
        lr=-0.1,
        T_0=3,
    ),
    error_case(linear_warmup, lr_scheduler.LinearLR, "negative-lr", lr=-0.1),
]


@pytest.mark.parametrize(("schedule", "scheduler", "options"), ERRORS)
def test_rejects_what_torch_rejects(
    schedule: Schedule, scheduler: type[lr_scheduler.LRScheduler], options: dict[str, Any]
) -> None:
    hyperparameters = {name: value for name, value in options.items() if name != "lr"}
    assert_same_error(
        lambda: schedule(0, **options),
        lambda: scheduler(optimizer_to_schedule(options["lr"]), **hyperparameters),
    )


@pytest.mark.parametrize(
    ("schedule", "options"),
    [
        (step_lr, {"lr": 0.1, "step_size": 3}),
        (exponential_lr, {"lr": 0.1, "gamma": 0.9}),
        (polynomial_lr, {"lr": 0.1}),
        (cosine_lr, {"lr": 0.1, "T_max": 10}),
        (cosine_warm_restarts, {"lr": 0.1, "T_0": 3}),
        (linear_warmup, {"lr": 0.1}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_rejects_a_negative_step(schedule: Schedule, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^Expected non-negative step, but got -1$"):
        schedule(-1, **options)


# ---------------------------------------------------------------- known bugs

TORCH: dict[str, type[lr_scheduler.LRScheduler]] = {
    "step_lr": lr_scheduler.StepLR,
    "exponential_lr": lr_scheduler.ExponentialLR,
    "cosine_lr": lr_scheduler.CosineAnnealingLR,
    "cosine_warm_restarts": lr_scheduler.CosineAnnealingWarmRestarts,
    "linear_warmup": lr_scheduler.LinearLR,
}


@pytest.mark.parametrize(
    "bug", [bug for bug in BUGS if bug.function in TORCH], ids=lambda bug: bug.id
)
def test_torch_tells_bug_apart(bug: KnownBug) -> None:
    assert_torch_tells_schedule_bug_apart(bug, TORCH[bug.function])
