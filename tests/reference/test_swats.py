"""SWATS (torch has none): hand-computed steps from the paper and invariants of the switch.

Expected values come from Algorithm 1 of Keskar & Socher (2017) written out below with plain
Python floats, and from the invariants the algorithm implies, checked on recorded trajectories.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import Tensor

from reference.swats import BUGS, swats
from tests.reference.helpers import (
    assert_keeps_dtype_and_device,
    assert_rejects_like_torch,
    options_id,
    shape_id,
)
from tests.reference.torch_oracle import SHAPES

BETA1, BETA2 = 0.9, 0.999
STATE_NAMES = {
    "step",
    "exp_avg",
    "exp_avg_sq",
    "exp_avg_lambda",
    "sgd_phase",
    "sgd_lr",
    "momentum_buffer",
}


# ---------------------------------------------------------------- the paper, by hand


@dataclass
class HandState:
    """Algorithm 1's quantities for a 2-element example, as plain floats."""

    x: list[float]
    m: list[float]
    a: list[float]
    lam: float = 0.0
    gamma: float = math.nan
    switched: bool = False


def adam_phase_by_hand(
    s: HandState, g: list[float], k: int, lr: float = 1e-3, eps: float = 1e-9
) -> HandState:
    """One Adam-phase iteration of Algorithm 1: m, a, p, w, γ, λ and the switch test."""
    m = [BETA1 * s.m[i] + (1 - BETA1) * g[i] for i in range(2)]
    a = [BETA2 * s.a[i] + (1 - BETA2) * g[i] ** 2 for i in range(2)]
    scale = lr * math.sqrt(1 - BETA2**k) / (1 - BETA1**k)
    p = [-scale * m[i] / (math.sqrt(a[i]) + eps) for i in range(2)]
    x = [s.x[i] + p[i] for i in range(2)]
    gamma = (p[0] ** 2 + p[1] ** 2) / -(p[0] * g[0] + p[1] * g[1])
    lam = BETA2 * s.lam + (1 - BETA2) * gamma
    switched = k > 1 and abs(lam / (1 - BETA2**k) - gamma) < eps
    return HandState(x, m, a, lam, gamma, switched)


def assert_state_is(state: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        got = torch.as_tensor(state[name], dtype=torch.float64)
        want = torch.as_tensor(value, dtype=torch.float64)
        assert torch.allclose(got, want, rtol=1e-12, atol=0.0), f"{name}: {got} != {want}"


def test_three_adam_steps_by_hand() -> None:
    """Gradients that change direction: no switch, three Adam steps with λ tracking γ."""
    gradients = [[0.5, -1.0], [0.3, 2.0], [-0.2, 0.4]]
    hand = HandState(x=[1.0, -2.0], m=[0.0, 0.0], a=[0.0, 0.0])
    x = torch.tensor(hand.x, dtype=torch.float64)
    state: dict[str, Any] = {}
    for k, g in enumerate(gradients, start=1):
        hand = adam_phase_by_hand(hand, g, k)
        assert not hand.switched
        x = swats(x, torch.tensor(g, dtype=torch.float64), state)
        assert torch.allclose(x, torch.tensor(hand.x, dtype=torch.float64), rtol=1e-12, atol=0)
        assert set(state) == STATE_NAMES
        assert_state_is(
            state,
            {
                "step": k,
                "exp_avg": hand.m,
                "exp_avg_sq": hand.a,
                "exp_avg_lambda": hand.lam,
                "sgd_phase": 0.0,
                "sgd_lr": 0.0,
                "momentum_buffer": [0.0, 0.0],
            },
        )


def test_switch_at_step_two_then_sgd_by_hand() -> None:
    """A constant gradient makes γ_k constant, so λ_k / (1 − β2^k) = γ_k at k = 2: the switch.

    Step 3 is the first SGD step, v_3 = g, w_3 = w_2 − (1 − β1) Λ g; step 4 has v_4 = β1 g + g.
    """
    g = [1.0, -2.0]
    grad = torch.tensor(g, dtype=torch.float64)
    step1 = adam_phase_by_hand(HandState(x=[0.5, 0.5], m=[0.0, 0.0], a=[0.0, 0.0]), g, 1)
    step2 = adam_phase_by_hand(step1, g, 2)
    assert step2.switched and not step1.switched
    sgd_lr = step2.lam / (1 - BETA2**2)
    v3 = g
    x3 = [step2.x[i] - (1 - BETA1) * sgd_lr * v3[i] for i in range(2)]
    v4 = [BETA1 * v3[i] + g[i] for i in range(2)]
    x4 = [x3[i] - (1 - BETA1) * sgd_lr * v4[i] for i in range(2)]
    frozen = {"exp_avg": step2.m, "exp_avg_sq": step2.a, "exp_avg_lambda": step2.lam}

    state: dict[str, Any] = {}
    x = torch.tensor([0.5, 0.5], dtype=torch.float64)
    expected_points = [step1.x, step2.x, x3, x4]
    expected_states = [
        {
            "exp_avg": step1.m,
            "exp_avg_lambda": step1.lam,
            "sgd_phase": 0.0,
            "sgd_lr": 0.0,
            "momentum_buffer": [0.0, 0.0],
        },
        {**frozen, "sgd_phase": 1.0, "sgd_lr": sgd_lr, "momentum_buffer": [0.0, 0.0]},
        {**frozen, "sgd_phase": 1.0, "sgd_lr": sgd_lr, "momentum_buffer": v3},
        {**frozen, "sgd_phase": 1.0, "sgd_lr": sgd_lr, "momentum_buffer": v4},
    ]
    for k, (point, expected) in enumerate(zip(expected_points, expected_states, strict=True)):
        x = swats(x, grad, state)
        assert torch.allclose(x, torch.tensor(point, dtype=torch.float64), rtol=1e-12, atol=0)
        assert_state_is(state, {"step": k + 1, **expected})


# ---------------------------------------------------------------- invariants of the switch

Gradient = Callable[[Tensor, int], Tensor]


def tensor(*values: float) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


def rosenbrock(x: Tensor, k: int) -> Tensor:
    return torch.stack(
        [
            -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
            200 * (x[1] - x[0] ** 2),
        ]
    )


def noisy_quadratic(x: Tensor, k: int) -> Tensor:
    noise = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(k))
    return tensor(0.2, 4.0, 1.0) * x + 0.1 * noise


@dataclass(frozen=True)
class Problem:
    name: str
    gradient: Gradient
    start: Tensor
    options: dict[str, Any]
    switches: bool  # whether the paper's condition is met within STEPS (found by running it)


STEPS = 200
PROBLEMS = [
    Problem("linear", lambda x, k: tensor(1.0, -2.0), tensor(0.0, 0.0), {}, True),
    Problem("steep 1-D quadratic 50x^2", lambda x, k: 100 * x, tensor(10.0), {}, True),
    Problem(
        "d2l quadratic",
        lambda x, k: tensor(0.2, 4.0) * x,
        tensor(-5.0, -2.0),
        {"lr": 0.05, "eps": 1e-3},
        True,
    ),
    Problem(
        "isotropic quadratic, late switch",
        lambda x, k: 2 * x,
        tensor(3.0, 3.0),
        {"lr": 0.1, "eps": 1e-4},
        True,
    ),
    Problem("rosenbrock", rosenbrock, tensor(-1.5, 2.0), {"lr": 0.1, "eps": 1e-4}, True),
    Problem(
        "d2l quadratic, paper's eps",
        lambda x, k: tensor(0.2, 4.0) * x,
        tensor(-5.0, -2.0),
        {"lr": 0.1},
        False,
    ),
    Problem("noisy quadratic", noisy_quadratic, tensor(1.0, -1.0, 2.0), {"lr": 0.01}, False),
    Problem("zero gradient", lambda x, k: torch.zeros_like(x), tensor(0.0, 0.0), {}, False),
]


@dataclass(frozen=True)
class Record:
    """One step: the point before, the gradient, the state before and after, the new point."""

    before: Tensor
    grad: Tensor
    old: dict[str, Any]
    new: dict[str, Any]
    after: Tensor


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    return {name: v.clone() if isinstance(v, Tensor) else v for name, v in state.items()}


def record(problem: Problem, steps: int = STEPS) -> list[Record]:
    x = problem.start.clone()
    state: dict[str, Any] = {}
    records: list[Record] = []
    for k in range(steps):
        grad = problem.gradient(x, k)
        old = copy_state(state)
        new_x = swats(x, grad, state, **problem.options)
        records.append(Record(x, grad, old, copy_state(state), new_x))
        x = new_x
    return records


def close(a: Tensor | float, b: Tensor | float, rtol: float = 1e-9) -> bool:
    return torch.allclose(
        torch.as_tensor(a), torch.as_tensor(b, dtype=torch.float64), rtol=rtol, atol=1e-300
    )


def check_adam_step(r: Record, eps: float) -> None:
    """λ follows γ from the recorded step p = w_k − w_{k−1}; the switch iff the paper's test."""
    k = r.new["step"]
    old_lambda = r.old.get("exp_avg_lambda", 0.0)
    p = r.after - r.before
    projection = float((p * r.grad).sum())
    if projection == 0:
        assert close(r.new["exp_avg_lambda"], old_lambda)
        assert r.new["sgd_phase"] == 0
        return
    gamma = float((p * p).sum()) / -projection
    assert close(r.new["exp_avg_lambda"], BETA2 * old_lambda + (1 - BETA2) * gamma)
    gap = abs(float(r.new["exp_avg_lambda"]) / (1 - BETA2**k) - gamma)
    if abs(gap - eps) < 1e-6 * eps:
        return  # too close to the threshold to judge from recorded (rounded) values
    switches = k > 1 and gap < eps
    assert bool(r.new["sgd_phase"] == 1) == switches, f"step {k}: gap {gap:.3e}, eps {eps:.1e}"
    if switches:
        assert close(r.new["sgd_lr"], float(r.new["exp_avg_lambda"]) / (1 - BETA2**k))
        assert not r.new["momentum_buffer"].any()


def check_sgd_step(r: Record) -> None:
    """v_k = β1 v_{k−1} + g_k, w_k = w_{k−1} − (1 − β1) Λ v_k; Λ, m, a and λ stay as they were."""
    buffer = BETA1 * r.old["momentum_buffer"] + r.grad
    assert close(r.new["momentum_buffer"], buffer)
    assert close(r.after, r.before - (1 - BETA1) * r.old["sgd_lr"] * buffer)
    for name in ("sgd_lr", "exp_avg", "exp_avg_sq", "exp_avg_lambda"):
        assert torch.equal(r.new[name], r.old[name]), name


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda problem: problem.name)
def test_switches_at_most_once_and_only_when_the_paper_says(problem: Problem) -> None:
    eps = problem.options.get("eps", 1e-9)
    phases = []
    for r in record(problem):
        phases.append(float(r.new["sgd_phase"]))
        if r.old and r.old["sgd_phase"] == 1:
            check_sgd_step(r)
        else:
            check_adam_step(r, eps)
    assert set(phases) <= {0.0, 1.0}
    assert phases == sorted(phases), "switched back to Adam"
    assert (phases[-1] == 1.0) == problem.switches


def test_linear_objective_switches_at_step_two() -> None:
    phases = [float(r.new["sgd_phase"]) for r in record(PROBLEMS[0], steps=5)]
    assert phases == [0.0, 1.0, 1.0, 1.0, 1.0]


def test_maximize_and_weight_decay_orient_the_gradient_first() -> None:
    """maximize = the negated gradient; weight decay = the L2 term, in both phases."""
    problem = PROBLEMS[2]
    options = {**problem.options, "weight_decay": 0.1}
    x_max = x_ref = problem.start.clone()
    state_max: dict[str, Any] = {}
    state_ref: dict[str, Any] = {}
    for k in range(30):
        grad = problem.gradient(x_max, k)
        x_max = swats(x_max, -grad, state_max, maximize=True, **options)
        x_ref = swats(x_ref, grad + 0.1 * x_ref, state_ref, **problem.options)
        assert torch.equal(x_max, x_ref)
    assert state_ref["sgd_phase"] == 1


# ---------------------------------------------------------------- contract: inputs, dtype, device


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_leaves_inputs_and_previous_state_untouched(shape: tuple[int, ...]) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, generator=generator)
    state: dict[str, Any] = {}
    for _ in range(6):
        grad = torch.randn(shape, dtype=torch.float64, generator=generator)
        x_copy, grad_copy, before = x.clone(), grad.clone(), copy_state(state)
        previous = dict(state)
        new_x = swats(x, grad, state, lr=0.05, eps=1e-3)
        assert torch.equal(x, x_copy) and torch.equal(grad, grad_copy)
        for name, value in previous.items():
            if isinstance(value, Tensor):
                assert torch.equal(value, before[name]), f"{name} was changed in place"
        assert new_x.shape == x.shape and state["sgd_phase"].shape == ()
        x = new_x


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_keeps_float32_and_the_device(device: str) -> None:
    """Steps on the meta device too: the switch is decided without reading a value back."""
    state = assert_keeps_dtype_and_device(
        swats,
        {"lr": 0.05, "eps": 1e-3},
        device=device,
        shape=(3,),
        steps=4,
        scalar_state={"exp_avg_lambda", "sgd_lr", "sgd_phase"},
    )
    if device == "cpu":
        assert state["sgd_phase"] == 1  # a constant gradient switches in float32 too


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_switches_on_cuda_without_a_host_sync() -> None:
    x = torch.ones(3, dtype=torch.float64, device="cuda")
    state: dict[str, Any] = {}
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(4):
            x = swats(x, torch.full_like(x, 0.5), state, lr=0.05, eps=1e-3)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert state["sgd_phase"].item() == 1


@pytest.mark.parametrize(
    "options",
    [
        {"lr": -1.0},
        {"eps": -1e-9},
        {"betas": (1.0, 0.999)},
        {"betas": (0.9, -0.1)},
        {"weight_decay": -0.1},
    ],
    ids=options_id,
)
def test_rejects_what_torch_adam_rejects(options: dict[str, Any]) -> None:
    assert_rejects_like_torch(swats, torch.optim.Adam, options)


# ---------------------------------------------------------------- known bugs


def test_keeps_at_least_eight_bugs() -> None:
    """Each shows on the suite and no two alike: tests/reference/test_known_bugs.py."""
    assert len(BUGS) >= 8
