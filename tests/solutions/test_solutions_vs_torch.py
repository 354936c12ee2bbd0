"""The instructor solutions against torch.optim and lr_scheduler (float64, relative 1e-10).

A quick check of solutions/ alone; the kit's own tests hold the solutions against the
reference. AdaBound is checked against a transcription of its authors' code, SWATS against a
step-by-step transcription of Algorithm 1 of the paper (Python floats and `if`s).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch.optim import lr_scheduler
from torch.utils.data import BatchSampler, RandomSampler

from solutions import adaptive, gradient_descent, schedules

STEPS = 50
RTOL = 1e-10
ATOL = 1e-14

Optimizer = Callable[..., torch.Tensor]


@pytest.fixture(autouse=True)
def float64_default() -> Iterator[None]:
    """torch keeps NAdam's mu_product in the default dtype; float64 makes it exact."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def noisy_quadratic(
    shape: tuple[int, ...], seed: int, scale: float = 1.0
) -> tuple[torch.Tensor, Callable[[torch.Tensor, int], torch.Tensor]]:
    """A start point and grad(x, step) = scale · (a ⊙ x + 0.3 · noise(step)), all seeded."""
    generator = torch.Generator().manual_seed(seed)
    curvature = torch.rand(shape, generator=generator, dtype=torch.float64) * 1.5 + 0.5
    start = torch.randn(shape, generator=generator, dtype=torch.float64) * 2.0
    noise = torch.randn((STEPS, *shape), generator=generator, dtype=torch.float64)

    def grad(x: torch.Tensor, step: int) -> torch.Tensor:
        return scale * (curvature * x + 0.3 * noise[step])

    return start, grad


def lr_at(step: int, lr: float, change: bool) -> float:
    """The lr of a step: constant, or divided by 5 from step 20 on (where lr enters matters)."""
    return lr / 5.0 if change and step >= 20 else lr


def assert_close(got: Any, expected: Any, what: str) -> None:
    got_t = torch.as_tensor(got, dtype=torch.float64)
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(
        got_t, expected_t, rtol=RTOL, atol=ATOL, msg=lambda m: f"{what}: {m}"
    )


def run_against(
    function: Optimizer,
    parameter: torch.Tensor,
    oracle_step: Callable[[torch.Tensor, torch.Tensor, float], None],
    oracle_state: Callable[[], dict[str, Any]],
    hyperparameters: dict[str, Any],
    *,
    scale: float = 1.0,
    change_lr: bool = False,
) -> None:
    """Steps `function` beside an oracle that updates `parameter` in place; compares all.

    After each step the point and every state entry the oracle keeps must agree.
    """
    start, grad_at = noisy_quadratic(tuple(parameter.shape), seed=7, scale=scale)
    with torch.no_grad():
        parameter.copy_(start)
    x = start.clone()
    state: dict[str, Any] = {}
    for step in range(STEPS):
        lr = lr_at(step, hyperparameters["lr"], change_lr)
        grad = grad_at(x, step)
        x_before, grad_before = x.clone(), grad.clone()
        new_x = function(x, grad, state, **{**hyperparameters, "lr": lr})
        assert torch.equal(x, x_before) and torch.equal(grad, grad_before), "modified its input"
        assert new_x.shape == x.shape and new_x.dtype == x.dtype
        oracle_step(parameter, grad_at(parameter.detach(), step), lr)
        x = new_x
        assert_close(x, parameter.detach(), f"x at step {step + 1}")
        for name, value in oracle_state().items():
            assert_close(state[name], value, f"state[{name!r}] at step {step + 1}")


Case = tuple[str, Optimizer, type[torch.optim.Optimizer], dict[str, Any], dict[str, Any]]
SGD = torch.optim.SGD
NESTEROV = {"nesterov": True}
# (id, function, torch class, hyperparameters, options); options: torch_extra (given to
# torch only), shape, scale (of the gradients), change_lr.
TORCH_CASES: list[Case] = [
    ("gd", gradient_descent.gd, SGD, {"lr": 0.1}, {}),
    (
        "gd/wd-maximize",
        gradient_descent.gd,
        SGD,
        {"lr": 0.05, "weight_decay": 0.3, "maximize": True},
        {},
    ),
    ("momentum", gradient_descent.momentum, SGD, {"lr": 0.05, "momentum": 0.9}, {}),
    (
        "momentum/dampening-lr-change",
        gradient_descent.momentum,
        SGD,
        {"lr": 0.05, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.1},
        {"change_lr": True},
    ),
    (
        "momentum/zero-momentum-dampening",
        gradient_descent.momentum,
        SGD,
        {"lr": 0.05, "momentum": 0.0, "dampening": 0.5},
        {},
    ),
    (
        "momentum/maximize",
        gradient_descent.momentum,
        SGD,
        {"lr": 0.01, "momentum": 0.5, "maximize": True, "weight_decay": 0.2},
        {},
    ),
    (
        "nesterov",
        gradient_descent.nesterov,
        SGD,
        {"lr": 0.05, "momentum": 0.9},
        {"torch_extra": NESTEROV},
    ),
    (
        "nesterov/wd-lr-change",
        gradient_descent.nesterov,
        SGD,
        {"lr": 0.05, "momentum": 0.7, "weight_decay": 0.1},
        {"torch_extra": NESTEROV, "change_lr": True},
    ),
    ("adagrad", adaptive.adagrad, torch.optim.Adagrad, {"lr": 0.3}, {}),
    (
        "adagrad/decay-init-wd-max",
        adaptive.adagrad,
        torch.optim.Adagrad,
        {
            "lr": 0.3,
            "lr_decay": 0.05,
            "initial_accumulator_value": 0.1,
            "weight_decay": 0.1,
            "maximize": True,
        },
        {},
    ),
    (
        "adagrad/tiny-gradients",
        adaptive.adagrad,
        torch.optim.Adagrad,
        {"lr": 0.1, "eps": 1e-8},
        {"scale": 1e-8},
    ),
    ("rmsprop", adaptive.rmsprop, torch.optim.RMSprop, {"lr": 0.01}, {}),
    (
        "rmsprop/momentum-centered",
        adaptive.rmsprop,
        torch.optim.RMSprop,
        {"lr": 0.01, "momentum": 0.9, "centered": True, "alpha": 0.9, "weight_decay": 0.1},
        {"change_lr": True},
    ),
    (
        "rmsprop/centered-maximize",
        adaptive.rmsprop,
        torch.optim.RMSprop,
        {"lr": 0.005, "centered": True, "maximize": True},
        {},
    ),
    ("adadelta", adaptive.adadelta, torch.optim.Adadelta, {"lr": 1.0}, {}),
    (
        "adadelta/lr-wd-max",
        adaptive.adadelta,
        torch.optim.Adadelta,
        {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "maximize": True},
        {"change_lr": True},
    ),
    ("adam", adaptive.adam, torch.optim.Adam, {"lr": 0.1}, {}),
    (
        "adam/amsgrad-wd",
        adaptive.adam,
        torch.optim.Adam,
        {"lr": 0.1, "amsgrad": True, "weight_decay": 0.2, "betas": (0.8, 0.99)},
        {},
    ),
    (
        "adam/decoupled-maximize",
        adaptive.adam,
        torch.optim.Adam,
        {"lr": 0.05, "weight_decay": 0.3, "decoupled_weight_decay": True, "maximize": True},
        {"change_lr": True},
    ),
    ("adam/tiny-gradients", adaptive.adam, torch.optim.Adam, {"lr": 0.1}, {"scale": 1e-8}),
    ("adamw", adaptive.adamw, torch.optim.AdamW, {"lr": 0.1}, {}),
    (
        "adamw/amsgrad-max-scalar",
        adaptive.adamw,
        torch.optim.AdamW,
        {"lr": 0.1, "weight_decay": 0.5, "amsgrad": True, "maximize": True},
        {"shape": ()},
    ),
    ("adamax", adaptive.adamax, torch.optim.Adamax, {"lr": 0.1}, {}),
    (
        "adamax/wd-max-betas",
        adaptive.adamax,
        torch.optim.Adamax,
        {"lr": 0.1, "weight_decay": 0.1, "maximize": True, "betas": (0.5, 0.9)},
        {"scale": 1e-6},
    ),
    ("nadam", adaptive.nadam, torch.optim.NAdam, {"lr": 0.05}, {}),
    (
        "nadam/decay-decoupled",
        adaptive.nadam,
        torch.optim.NAdam,
        {"lr": 0.05, "momentum_decay": 0.1, "weight_decay": 0.2, "decoupled_weight_decay": True},
        {"change_lr": True},
    ),
    (
        "nadam/l2-maximize",
        adaptive.nadam,
        torch.optim.NAdam,
        {"lr": 0.05, "weight_decay": 0.2, "maximize": True, "betas": (0.8, 0.95)},
        {},
    ),
    ("radam", adaptive.radam, torch.optim.RAdam, {"lr": 0.05}, {}),
    (
        "radam/decoupled-maximize",
        adaptive.radam,
        torch.optim.RAdam,
        {"lr": 0.05, "weight_decay": 0.2, "decoupled_weight_decay": True, "maximize": True},
        {"change_lr": True},
    ),
    (
        "radam/l2-betas",
        adaptive.radam,
        torch.optim.RAdam,
        {"lr": 0.05, "weight_decay": 0.2, "betas": (0.8, 0.9)},
        {"shape": ()},
    ),
]


@pytest.mark.parametrize(
    ("function", "optimizer_class", "hyperparameters", "options"),
    [pytest.param(*case[1:], id=case[0]) for case in TORCH_CASES],
)
def test_matches_torch_optim(
    function: Optimizer,
    optimizer_class: type[torch.optim.Optimizer],
    hyperparameters: dict[str, Any],
    options: dict[str, Any],
) -> None:
    options = dict(options)
    torch_extra = options.pop("torch_extra", {})
    parameter = torch.nn.Parameter(torch.zeros(options.pop("shape", (3, 4))))
    optimizer = optimizer_class([parameter], **hyperparameters, **torch_extra)

    def step(p: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        optimizer.param_groups[0]["lr"] = lr
        p.grad = grad
        optimizer.step()

    def torch_state() -> dict[str, Any]:
        return dict(optimizer.state[parameter])

    run_against(function, parameter, step, torch_state, hyperparameters, **options)


class AuthorsAdaBound:
    """Luolc/AdaBound's step (adabound/adabound.py), in today's torch API, plus maximize."""

    def __init__(
        self,
        lr: float,
        betas: tuple[float, float],
        final_lr: float,
        gamma: float,
        eps: float,
        weight_decay: float,
        amsbound: bool,
        maximize: bool,
    ) -> None:
        self.base_lr = lr
        self.betas, self.final_lr, self.gamma, self.eps = betas, final_lr, gamma, eps
        self.weight_decay, self.amsbound, self.maximize = weight_decay, amsbound, maximize
        self.state: dict[str, Any] = {}

    def step(self, p: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        grad = -grad if self.maximize else grad
        state = self.state
        if len(state) == 0:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
            if self.amsbound:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        beta1, beta2 = self.betas
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad.add(p, alpha=self.weight_decay)
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if self.amsbound:
            max_exp_avg_sq = state["max_exp_avg_sq"]
            torch.max(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            denom = max_exp_avg_sq.sqrt().add_(self.eps)
        else:
            denom = exp_avg_sq.sqrt().add_(self.eps)
        bias_correction1 = 1 - beta1 ** state["step"]
        bias_correction2 = 1 - beta2 ** state["step"]
        step_size = lr * math.sqrt(bias_correction2) / bias_correction1
        final_lr = self.final_lr * lr / self.base_lr
        lower_bound = final_lr * (1 - 1 / (self.gamma * state["step"] + 1))
        upper_bound = final_lr * (1 + 1 / (self.gamma * state["step"]))
        step_size_t = torch.full_like(denom, step_size)
        step_size_t.div_(denom).clamp_(lower_bound, upper_bound).mul_(exp_avg)
        p.add_(-step_size_t)


@pytest.mark.parametrize(
    ("hyperparameters", "options"),
    [
        pytest.param({"lr": 0.1}, {}, id="defaults"),
        pytest.param(
            {"lr": 0.1, "final_lr": 0.05, "gamma": 0.1},
            {"change_lr": True},
            id="bounds-bind-lr-change",
        ),
        pytest.param(
            {"lr": 0.1, "amsbound": True, "weight_decay": 0.1, "maximize": True, "gamma": 0.05},
            {},
            id="amsbound-wd-maximize",
        ),
    ],
)
def test_adabound_matches_authors_code(
    hyperparameters: dict[str, Any], options: dict[str, Any]
) -> None:
    full = {
        "betas": (0.9, 0.999),
        "final_lr": 0.1,
        "gamma": 1e-3,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsbound": False,
        "maximize": False,
        **hyperparameters,
    }
    oracle = AuthorsAdaBound(**full)
    parameter = torch.zeros(3, 4)
    run_against(adaptive.adabound, parameter, oracle.step, lambda: oracle.state, full, **options)


class PaperSwats:
    """Algorithm 1 of Keskar & Socher (2017), one tensor, decisions taken with Python floats."""

    def __init__(
        self, lr: float, betas: tuple[float, float], eps: float, weight_decay: float, maximize: bool
    ) -> None:
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.maximize = weight_decay, maximize
        self.k = 0
        self.phase = "adam"
        self.lam = 0.0
        self.big_lambda = 0.0
        self.switched_at: int | None = None
        self.state: dict[str, Any] = {}

    def step(self, w: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        beta1, beta2 = self.betas
        g = -grad if self.maximize else grad
        g = g + self.weight_decay * w
        if not self.state:
            self.state = {
                "exp_avg": torch.zeros_like(w),
                "exp_avg_sq": torch.zeros_like(w),
                "momentum_buffer": torch.zeros_like(w),
            }
        self.k += 1
        k, m, a = self.k, self.state["exp_avg"], self.state["exp_avg_sq"]
        if self.phase == "sgd":
            v = self.state["momentum_buffer"] = beta1 * self.state["momentum_buffer"] + g
            w -= (1 - beta1) * self.big_lambda * v
        else:
            m = self.state["exp_avg"] = beta1 * m + (1 - beta1) * g
            a = self.state["exp_avg_sq"] = beta2 * a + (1 - beta2) * g * g
            alpha_k = self.lr * math.sqrt(1 - beta2**k) / (1 - beta1**k)
            p = -alpha_k * m / (a.sqrt() + self.eps)
            w += p
            pg = float(torch.dot(p.flatten(), g.flatten()))
            if pg != 0:
                gamma = float(torch.dot(p.flatten(), p.flatten())) / -pg
                self.lam = beta2 * self.lam + (1 - beta2) * gamma
                if k > 1 and abs(self.lam / (1 - beta2**k) - gamma) < self.eps:
                    self.phase, self.switched_at = "sgd", k
                    self.big_lambda = self.lam / (1 - beta2**k)
        self.state["step"] = k
        self.state["exp_avg_lambda"] = self.lam
        self.state["sgd_phase"] = 1.0 if self.phase == "sgd" else 0.0
        self.state["sgd_lr"] = self.big_lambda


def nearly_linear(noisy_steps: int) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """A constant gradient plus a weak curvature, with N(0, 1) noise on the first steps.

    Without noise the projected learning rate γ is constant from the start and SWATS switches
    at k = 2; after noise it settles only once the moments have forgotten the noise.
    """
    noise = torch.randn((noisy_steps, 2, 3), generator=torch.Generator().manual_seed(0))

    def grad(x: torch.Tensor, step: int) -> torch.Tensor:
        slope = torch.linspace(0.5, 2.0, x.numel()).reshape(x.shape) + 1e-3 * x
        return slope + noise[step] if step < noisy_steps else slope

    return grad


@pytest.mark.parametrize(
    ("hyperparameters", "gradient", "switch_steps"),
    [
        pytest.param({"lr": 1e-3}, nearly_linear(0), {2}, id="switches-at-2"),
        pytest.param(
            {"lr": 1e-3, "weight_decay": 1e-4, "maximize": True, "betas": (0.8, 0.99)},
            nearly_linear(0),
            {2},
            id="switches-wd-maximize",
        ),
        pytest.param(
            {"lr": 1e-3, "betas": (0.5, 0.5)},
            nearly_linear(5),
            set(range(10, 45)),
            id="switches-after-noise",
        ),
        pytest.param({"lr": 0.05}, None, {None}, id="noisy-quadratic-stays-adam"),
    ],
)
def test_swats_matches_algorithm_1(
    hyperparameters: dict[str, Any],
    gradient: Callable[[torch.Tensor, int], torch.Tensor] | None,
    switch_steps: set[int | None],
) -> None:
    full = {
        "betas": (0.9, 0.999),
        "eps": 1e-9,
        "weight_decay": 0.0,
        "maximize": False,
        **hyperparameters,
    }
    oracle = PaperSwats(**full)
    start, noisy = noisy_quadratic((2, 3), seed=3)
    grad_at = gradient or noisy
    x, w = start.clone(), start.clone()
    state: dict[str, Any] = {}
    for step in range(STEPS):
        x = schedules.swats(x, grad_at(x, step), state, **full)
        oracle.step(w, grad_at(w, step), full["lr"])
        assert_close(x, w, f"x at step {step + 1}")
        for name, value in oracle.state.items():
            assert_close(state[name], value, f"state[{name!r}] at step {step + 1}")
    assert oracle.switched_at in switch_steps
    assert state["sgd_phase"].shape == () and state["sgd_phase"].dtype == x.dtype


OPTIMIZERS: list[Optimizer] = [
    gradient_descent.gd,
    gradient_descent.momentum,
    gradient_descent.nesterov,
    adaptive.adagrad,
    adaptive.rmsprop,
    adaptive.adadelta,
    adaptive.adam,
    adaptive.adamw,
    adaptive.adamax,
    adaptive.nadam,
    adaptive.radam,
    adaptive.adabound,
    schedules.swats,
]
EVERY_OPTION: dict[str, dict[str, Any]] = {
    "rmsprop": {"momentum": 0.9, "centered": True},
    "adam": {"amsgrad": True},
    "adabound": {"amsbound": True},
}


@pytest.mark.parametrize("function", OPTIMIZERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
def test_runs_on_meta_device_without_host_round_trip(
    function: Optimizer, dtype: torch.dtype
) -> None:
    x = torch.zeros((2, 3), device="meta", dtype=dtype)
    state: dict[str, Any] = {}
    for _ in range(7):
        x = function(x, torch.ones_like(x), state, **EVERY_OPTION.get(function.__name__, {}))
    assert x.device.type == "meta" and x.dtype == dtype and x.shape == (2, 3)
    tensors = [v for v in state.values() if isinstance(v, torch.Tensor)]
    assert all(t.device.type == "meta" and t.dtype == dtype for t in tensors)


@pytest.mark.parametrize(
    ("function", "hyperparameters"),
    [
        pytest.param(gradient_descent.gd, {"lr": -1.0}, id="gd-lr"),
        pytest.param(gradient_descent.momentum, {"momentum": -0.1}, id="momentum-momentum"),
        pytest.param(gradient_descent.nesterov, {"dampening": 0.1}, id="nesterov-dampening"),
        pytest.param(gradient_descent.nesterov, {"momentum": 0.0}, id="nesterov-no-momentum"),
        pytest.param(adaptive.adagrad, {"eps": -1e-10}, id="adagrad-eps"),
        pytest.param(adaptive.rmsprop, {"weight_decay": -1.0}, id="rmsprop-wd"),
        pytest.param(adaptive.adadelta, {"rho": 1.5}, id="adadelta-rho"),
        pytest.param(adaptive.adam, {"betas": (1.0, 0.999)}, id="adam-beta1"),
        pytest.param(adaptive.adamw, {"betas": (0.9, -0.1)}, id="adamw-beta2"),
        pytest.param(adaptive.adamax, {"lr": -0.1}, id="adamax-lr"),
        pytest.param(adaptive.nadam, {"momentum_decay": -1.0}, id="nadam-momentum-decay"),
        pytest.param(adaptive.radam, {"eps": -1.0}, id="radam-eps"),
        pytest.param(adaptive.adabound, {"gamma": 1.0}, id="adabound-gamma"),
        pytest.param(schedules.swats, {"betas": (0.9, 1.0)}, id="swats-beta2"),
    ],
)
def test_rejects_invalid_hyperparameters(
    function: Optimizer, hyperparameters: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=r"Invalid|Nesterov"):
        function(torch.zeros(3), torch.ones(3), {}, **hyperparameters)


@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (12, 4), (5, 8), (1, 1)])
def test_minibatches_match_random_sampler(n: int, batch_size: int) -> None:
    ours = gradient_descent.minibatches(n, batch_size, generator=torch.Generator().manual_seed(5))
    sampler = RandomSampler(range(n), generator=torch.Generator().manual_seed(5))
    expected = list(BatchSampler(sampler, batch_size, drop_last=False))
    assert [batch.tolist() for batch in ours] == expected
    assert all(batch.dtype == torch.int64 for batch in ours)


Schedule = Callable[..., float]
SCHEDULE_CASES: list[tuple[str, Schedule, Callable[..., Any], dict[str, Any], dict[str, Any]]] = [
    ("step", schedules.step_lr, lr_scheduler.StepLR, {"step_size": 7}, {}),
    ("step/gamma", schedules.step_lr, lr_scheduler.StepLR, {"step_size": 3, "gamma": 0.5}, {}),
    ("exponential", schedules.exponential_lr, lr_scheduler.ExponentialLR, {"gamma": 0.9}, {}),
    ("cosine", schedules.cosine_lr, lr_scheduler.CosineAnnealingLR, {"T_max": 10}, {}),
    (
        "cosine/eta-min",
        schedules.cosine_lr,
        lr_scheduler.CosineAnnealingLR,
        {"T_max": 7, "eta_min": 0.01},
        {},
    ),
    (
        "restarts",
        schedules.cosine_warm_restarts,
        lr_scheduler.CosineAnnealingWarmRestarts,
        {"T_0": 5},
        {},
    ),
    (
        "restarts/mult",
        schedules.cosine_warm_restarts,
        lr_scheduler.CosineAnnealingWarmRestarts,
        {"T_0": 3, "T_mult": 2, "eta_min": 0.001},
        {},
    ),
    ("linear-warmup", schedules.linear_warmup, lr_scheduler.LinearLR, {}, {}),
    (
        "linear-warmup/factors",
        schedules.linear_warmup,
        lr_scheduler.LinearLR,
        {"start_factor": 0.25, "end_factor": 0.5, "total_iters": 12},
        {},
    ),
    (
        "cyclic",
        schedules.cyclic_lr,
        lr_scheduler.CyclicLR,
        {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4},
        {"no_lr": True},
    ),
    (
        "cyclic/triangular2-down",
        schedules.cyclic_lr,
        lr_scheduler.CyclicLR,
        {
            "base_lr": 0.0,
            "max_lr": 0.1,
            "step_size_up": 2,
            "step_size_down": 5,
            "mode": "triangular2",
        },
        {"no_lr": True},
    ),
    (
        "cyclic/exp-range",
        schedules.cyclic_lr,
        lr_scheduler.CyclicLR,
        {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 3, "mode": "exp_range", "gamma": 0.95},
        {"no_lr": True},
    ),
    (
        "one-cycle",
        schedules.one_cycle_lr,
        lr_scheduler.OneCycleLR,
        {"max_lr": 1.0, "total_steps": STEPS},
        {"no_lr": True},
    ),
    (
        "one-cycle/linear-three-phase",
        schedules.one_cycle_lr,
        lr_scheduler.OneCycleLR,
        {
            "max_lr": 0.5,
            "total_steps": 23,
            "pct_start": 0.4,
            "anneal_strategy": "linear",
            "three_phase": True,
            "div_factor": 10.0,
            "final_div_factor": 100.0,
        },
        {"no_lr": True},
    ),
    (
        "one-cycle/cos-three-phase",
        schedules.one_cycle_lr,
        lr_scheduler.OneCycleLR,
        {"max_lr": 0.5, "total_steps": 10, "three_phase": True},
        {"no_lr": True},
    ),
]


@pytest.mark.parametrize(
    ("schedule", "scheduler_class", "hyperparameters", "options"),
    [pytest.param(*case[1:], id=case[0]) for case in SCHEDULE_CASES],
)
def test_schedule_matches_torch_scheduler(
    schedule: Schedule,
    scheduler_class: Callable[..., Any],
    hyperparameters: dict[str, Any],
    options: dict[str, Any],
) -> None:
    lr = 0.1
    parameter = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([parameter], lr=lr)
    scheduler = scheduler_class(optimizer, **hyperparameters)
    steps = hyperparameters.get("total_steps", STEPS)
    lr_arguments = {} if options.get("no_lr") else {"lr": lr}
    for step in range(steps):
        expected = optimizer.param_groups[0]["lr"]
        got = schedule(step, **lr_arguments, **hyperparameters)
        assert isinstance(got, float)
        assert math.isclose(got, expected, rel_tol=RTOL, abs_tol=1e-13), f"step {step}"
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize(
    ("schedule", "hyperparameters", "expected"),
    [
        pytest.param(
            schedules.polynomial_lr,
            {"lr": 0.5},
            [0.5, 0.5 / 2**0.5, 0.5 / 3**0.5],
            id="polynomial-default-is-1/sqrt(t)",
        ),
        pytest.param(
            schedules.polynomial_lr,
            {"lr": 1.0, "alpha": 1.0, "beta": 0.5},
            [1.0, 1 / 1.5, 0.5],
            id="polynomial-alpha-beta",
        ),
        pytest.param(
            schedules.cosine_warm_restarts,
            {"lr": 0.1, "T_0": 3, "T_mult": 2},
            [0.1, 0.075, 0.025, 0.1, 0.1 * (1 + math.cos(math.pi / 6)) / 2],
            id="restarts-by-hand",
        ),
    ],
)
def test_schedule_by_hand(
    schedule: Schedule, hyperparameters: dict[str, Any], expected: list[float]
) -> None:
    got = [schedule(step, **hyperparameters) for step in range(len(expected))]
    assert got == pytest.approx(expected, rel=1e-12)
