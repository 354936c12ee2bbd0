"""cyclic_lr and one_cycle_lr against torch's CyclicLR and OneCycleLR, and their known bugs."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from torch.optim import lr_scheduler

from reference.cyclical import BUGS, cyclic_lr, one_cycle_lr
from reference.known_bug import KnownBug
from tests.reference.helpers import (
    Schedule,
    assert_same_error,
    assert_torch_tells_schedule_bug_apart,
)
from tests.reference.torch_oracle import (
    assert_same_schedule,
    optimizer_to_schedule,
    proves,
    torch_values,
)

CYCLIC_STEPS = 200


def cyclic_cases() -> list[Any]:
    """The three modes, both halves equal and unequal, several step sizes, ranges and γ."""
    cases = []
    sizes = [(1, None), (4, None), (4, 7), (25, None), (9, 3)]
    ranges = [(0.01, 0.1), (0.0, 1.0), (0.3, 0.05)]
    modes = [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.99), ("exp_range", 0.9)]
    for index, ((up, down), (mode, gamma)) in enumerate(itertools.product(sizes, modes)):
        base_lr, max_lr = ranges[index % len(ranges)]
        options = {
            "base_lr": base_lr,
            "max_lr": max_lr,
            "step_size_up": up,
            "step_size_down": down,
            "mode": mode,
            "gamma": gamma,
        }
        label = f"{mode}-gamma={gamma}-up={up}-down={down}-range={base_lr}..{max_lr}"
        cases.append(pytest.param(options, id=label))
    return cases


@pytest.mark.parametrize("options", cyclic_cases())
@proves("cyclic_lr", "torch.optim.lr_scheduler.CyclicLR")
def test_cyclic_lr_matches_torch(options: dict[str, Any]) -> None:
    expected = torch_values(lr_scheduler.CyclicLR, options, CYCLIC_STEPS)
    assert_same_schedule(expected, [cyclic_lr(t, **options) for t in range(CYCLIC_STEPS)])


def test_cyclic_lr_defaults_match_torch() -> None:
    options: dict[str, Any] = {"base_lr": 0.001, "max_lr": 0.006}
    steps = 4500  # past the first cycle of 2 × 2000 steps
    expected = torch_values(lr_scheduler.CyclicLR, options, steps)
    assert_same_schedule(expected, [cyclic_lr(t, **options) for t in range(steps)])


def one_cycle_cases() -> list[Any]:
    """Both strategies, two and three phases, pct_start from 0 to 1, two pairs of divisors."""
    cases = []
    grid = itertools.product(
        (10, 100, 257),
        (0.0, 0.25, 0.3, 0.5, 1.0),
        ("cos", "linear"),
        (False, True),
        ((25.0, 1e4), (10.0, 100.0)),
    )
    for index, (total, pct, strategy, three, (div, final_div)) in enumerate(grid):
        options = {
            "max_lr": (1.0, 0.3, 2.5)[index % 3],
            "total_steps": total,
            "pct_start": pct,
            "anneal_strategy": strategy,
            "div_factor": div,
            "final_div_factor": final_div,
            "three_phase": three,
        }
        label = (
            f"{strategy}-{'three' if three else 'two'}-phase-T={total}-pct={pct}"
            f"-div={div:g}-final_div={final_div:g}"
        )
        cases.append(pytest.param(options, id=label))
    return cases


@pytest.mark.parametrize("options", one_cycle_cases())
@proves("one_cycle_lr", "torch.optim.lr_scheduler.OneCycleLR")
def test_one_cycle_lr_matches_torch_over_the_whole_schedule(options: dict[str, Any]) -> None:
    steps = options["total_steps"]
    expected = torch_values(lr_scheduler.OneCycleLR, options, steps)
    assert_same_schedule(expected, [one_cycle_lr(t, **options) for t in range(steps)])


def test_documented_sequences() -> None:
    """torch's sequences, written out by hand."""
    triangular2 = [
        cyclic_lr(t, base_lr=0.0, max_lr=0.1, step_size_up=2, mode="triangular2") for t in range(10)
    ]
    assert triangular2 == pytest.approx([0, 0.05, 0.1, 0.05, 0, 0.025, 0.05, 0.025, 0, 0.0125])
    exp_range = [
        cyclic_lr(t, base_lr=0.0, max_lr=0.1, step_size_up=2, mode="exp_range", gamma=0.9)
        for t in range(7)
    ]
    assert exp_range == pytest.approx([0, 0.045, 0.081, 0.03645, 0, 0.02952, 0.05314], abs=1e-5)
    one_cycle = [one_cycle_lr(t, max_lr=1.0, total_steps=10) for t in range(11)]
    assert one_cycle == pytest.approx(  # step 10 = total_steps: torch's extrapolation
        [0.04, 0.52, 1.0, 0.9505, 0.8117, 0.6113, 0.3887, 0.1883, 0.0495, 4e-6, 0.0495], abs=5e-5
    )
    three_phase = [
        one_cycle_lr(t, max_lr=1.0, total_steps=10, anneal_strategy="linear", three_phase=True)
        for t in range(10)
    ]
    assert three_phase == pytest.approx(
        [0.04, 0.52, 1, 0.52, 0.04, 0.032, 0.024, 0.016, 0.008, 4e-6], abs=5e-6
    )


# ---------------------------------------------------------------- errors as torch raises them

ONE_CYCLE: dict[str, Any] = {"max_lr": 1.0, "total_steps": 10}

ERRORS = [
    pytest.param(
        cyclic_lr,
        lr_scheduler.CyclicLR,
        {"base_lr": 0.01, "max_lr": 0.1, "mode": "sawtooth"},
        id="cyclic_lr-mode=sawtooth",
    ),
    *(
        pytest.param(
            one_cycle_lr,
            lr_scheduler.OneCycleLR,
            {**ONE_CYCLE, name: value},
            id=f"one_cycle_lr-{name}={value}",
        )
        for name, value in [
            ("total_steps", 0),
            ("total_steps", -3),
            ("total_steps", 2.5),
            ("pct_start", -0.1),
            ("pct_start", 1.5),
            ("pct_start", 1),
            ("anneal_strategy", "exp"),
        ]
    ),
]


@pytest.mark.parametrize(("schedule", "scheduler", "options"), ERRORS)
def test_rejects_what_torch_rejects(
    schedule: Schedule, scheduler: type[lr_scheduler.LRScheduler], options: dict[str, Any]
) -> None:
    assert_same_error(
        lambda: schedule(0, **options), lambda: scheduler(optimizer_to_schedule(), **options)
    )


def test_one_cycle_lr_at_total_steps_is_torchs_extrapolation() -> None:
    expected = torch_values(lr_scheduler.OneCycleLR, ONE_CYCLE, 11)
    assert_same_schedule(expected, [one_cycle_lr(t, **ONE_CYCLE) for t in range(11)])


def test_one_cycle_lr_rejects_steps_past_the_end_as_torch_does() -> None:
    def step_torch_past_the_end() -> None:
        torch_values(lr_scheduler.OneCycleLR, ONE_CYCLE, 12)  # last_epoch 11 > 10

    assert_same_error(lambda: one_cycle_lr(11, **ONE_CYCLE), step_torch_past_the_end)


@pytest.mark.parametrize(
    ("schedule", "options"),
    [
        (cyclic_lr, {"base_lr": 0.01, "max_lr": 0.1}),
        (one_cycle_lr, ONE_CYCLE),
    ],
    ids=["cyclic_lr", "one_cycle_lr"],
)
def test_rejects_a_negative_step(schedule: Schedule, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=re.escape("Expected non-negative step, but got -1")):
        schedule(-1, **options)


# ---------------------------------------------------------------- known bugs

TORCH: dict[str, type[lr_scheduler.LRScheduler]] = {
    "cyclic_lr": lr_scheduler.CyclicLR,
    "one_cycle_lr": lr_scheduler.OneCycleLR,
}


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: bug.id)
def test_torch_tells_bug_apart(bug: KnownBug) -> None:
    assert_torch_tells_schedule_bug_apart(bug, TORCH[bug.function])
