"""The problem suite: gradients are autograd's, stochastic problems replay exactly, every row of
docs/design.md §1 is present, and each probe shows what it is built to expose."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from autograder.problems import CATEGORIES, PROBLEMS, Problem, build_problems, problem
from autograder.problems.stochastic import stochastic_problems

DTYPES = pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
EACH_PROBLEM = pytest.mark.parametrize("p", PROBLEMS, ids=lambda p: p.name)
RELATIVE = {torch.float32: 1e-5, torch.float64: 1e-10}
STEPS = (0, 1, 5, 13, 40)

# docs/design.md §1 row by row: category, start point (None: seeded) and f there, worked by hand.
ROWS: dict[str, tuple[str, tuple[float, ...] | None, float | None]] = {
    "quadratic_2d": ("convex", (-5, -2), 25 + 2 * 4),
    "quadratic_1d": ("convex", (3,), 9),
    "elongated_quadratic": ("ill-conditioned", (-5, -2), 0.1 * 25 + 2 * 4),
    "random_quadratic": ("ill-conditioned", None, None),
    "saddle_2d": ("saddle", (1, 1e-3), 1 - 1e-6),
    "cubic": ("saddle", (0.5,), 0.125),
    "monkey_saddle": ("saddle", (0.5, 0.2), 0.5**3 - 3 * 0.5 * 0.2**2),
    "x_cos_cx": ("non-convex", (10,), 10 * math.cos(0.15 * math.pi * 10)),
    "rosenbrock": ("non-convex", (-1.5, 2), 2.5**2 + 100 * (2 - 2.25) ** 2),
    "noisy_quadratic": ("stochastic", (-5, -2), 25 + 2 * 4),
    "linear_regression": ("stochastic", (0, 0, 0), None),
    "logistic_regression": ("stochastic", (0, 0, 0), math.log(2)),  # p = 1/2 at every point
    "sparse_features": ("stochastic", (0,) * 8, None),
    "tiny_gradients": ("probe", (1, -2, 0.5), 1e-6 * 1 + 1e-7 * 2 + 1e-8 * 0.5),
    "gradient_spike": ("probe", (1,), 0.1),
    "zero_gradient": ("probe", (1, -2, 3, -0.5, 0.25, 4), 0.0),
    "lr_drop": ("probe", (-5, -2), 25 + 2 * 4),
    "long_run": ("probe", (1, 1), 0.5 + 50),
}
# Their gradient changes with the step; f_at(x, step) names the objective it is the gradient of.
STEP_DEPENDENT = {
    "noisy_quadratic",
    "linear_regression",
    "logistic_regression",
    "sparse_features",
    "gradient_spike",
}
MINIBATCH = {"linear_regression", "logistic_regression", "sparse_features"}
WITHOUT_MINIMUM = {
    "saddle_2d",
    "cubic",
    "monkey_saddle",
    "tiny_gradients",
    "gradient_spike",
    "zero_gradient",
}


def random_points(p: Problem, dtype: torch.dtype, count: int = 3) -> list[Tensor]:
    """Seeded points scattered around the start, on the scale of its coordinates."""
    start = p.start()
    points = []
    for seed in range(count):
        generator = torch.Generator().manual_seed(seed)
        spread = torch.randn(start.shape, generator=generator, dtype=torch.float64)
        points.append((start + spread * (0.5 + start.abs() / 2)).to(dtype))
    return points


def autograd_gradient(objective: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    leaf = x.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(objective(leaf), leaf)
    return gradient


def hessian(objective: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The matrix of second derivatives, row by row from autograd."""
    leaf = x.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(objective(leaf), leaf, create_graph=True)
    rows = [torch.autograd.grad(g, leaf, retain_graph=True)[0] for g in gradient]
    return torch.stack(rows)


def assert_close(got: Tensor, expected: Tensor, relative: float) -> None:
    """Agreement relative to the largest entry: tiny entries (1e-8) are held to the same scale."""
    assert got.shape == expected.shape and got.dtype == expected.dtype
    scale = expected.abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(got, expected, rtol=relative, atol=relative * scale)


@EACH_PROBLEM
@DTYPES
def test_gradient_is_the_autograd_gradient_of_the_objective(p: Problem, dtype: torch.dtype) -> None:
    for x in random_points(p, dtype):
        for step in STEPS:
            if p.name in STEP_DEPENDENT:
                expected = autograd_gradient(functools.partial(p.f_at, step=step), x)
            else:
                expected = autograd_gradient(p.f, x)
            assert_close(p.grad(x, step), expected, RELATIVE[dtype])


@EACH_PROBLEM
def test_only_stochastic_problems_and_sequences_change_with_the_step(p: Problem) -> None:
    x = random_points(p, torch.float64)[0]
    gradients = [p.grad(x, step) for step in STEPS]
    if p.name in STEP_DEPENDENT:
        assert any(not torch.equal(gradients[0], g) for g in gradients[1:])
    else:
        assert all(torch.equal(gradients[0], g) for g in gradients[1:])
        assert all(torch.equal(p.f_at(x, step), p.f(x)) for step in STEPS)


@pytest.mark.parametrize("name", sorted(MINIBATCH))
def test_an_epoch_of_minibatch_gradients_averages_to_the_full_gradient(name: str) -> None:
    p = problem(name)
    per_epoch = p.steps_per_epoch
    assert per_epoch is not None and per_epoch >= 2
    x = random_points(p, torch.float64)[1]
    for epoch in range(3):
        steps = range(epoch * per_epoch, (epoch + 1) * per_epoch)
        mean_gradient = torch.stack([p.grad(x, step) for step in steps]).mean(0)
        assert_close(mean_gradient, autograd_gradient(p.f, x), 1e-12)
        mean_loss = torch.stack([p.f_at(x, step) for step in steps]).mean()
        assert_close(mean_loss, p.f(x), 1e-12)
    # each epoch draws its own permutation: the first batches of two epochs differ
    assert not torch.equal(p.grad(x, 0), p.grad(x, per_epoch))


def test_only_the_minibatch_problems_have_epochs() -> None:
    assert {p.name for p in PROBLEMS if p.steps_per_epoch is not None} == MINIBATCH


def test_noisy_quadratic_adds_standard_normal_noise_that_ignores_x() -> None:
    p = problem("noisy_quadratic")
    x, y = random_points(p, torch.float64, count=2)
    steps = range(4000)
    noise = torch.stack([p.grad(x, k) - autograd_gradient(p.f, x) for k in steps])
    elsewhere = torch.stack([p.grad(y, k) - autograd_gradient(p.f, y) for k in steps])
    torch.testing.assert_close(noise, elsewhere, rtol=0, atol=1e-12)
    # 4000 draws: the mean's standard error is 0.016, the standard deviation's 0.011
    assert noise.mean(0).abs().max() < 0.06
    assert (noise.std(0) - 1).abs().max() < 0.05
    assert abs(torch.corrcoef(noise.T)[0, 1]) < 0.06


@EACH_PROBLEM
def test_same_gradients_whatever_the_order_and_on_a_fresh_object(p: Problem) -> None:
    x = random_points(p, torch.float64)[2]
    steps = [*range(8), 100]
    first = [p.grad(x, step) for step in steps]
    again = [p.grad(x, step) for step in steps]
    torch.manual_seed(12345)  # the global generator must play no part
    torch.randn(10)
    fresh = {q.name: q for q in build_problems()}[p.name]
    backwards = [fresh.grad(x, step) for step in reversed(steps)][::-1]
    for a, b, c in zip(first, again, backwards, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert [fresh.f_at(x, s).item() for s in steps] == [p.f_at(x, s).item() for s in steps]
    assert fresh.minimum == p.minimum


def test_stochastic_problems_depend_on_their_seed() -> None:
    for seeded_0, seeded_1 in zip(stochastic_problems(0), stochastic_problems(1), strict=True):
        assert seeded_0.name == seeded_1.name
        x = random_points(seeded_0, torch.float64)[0]
        assert not torch.equal(seeded_0.grad(x, 0), seeded_1.grad(x, 0)), seeded_0.name
        if seeded_0.name in MINIBATCH:  # another seed draws another data set
            assert seeded_0.minimum != seeded_1.minimum


def test_every_category_and_every_row_of_the_design_is_present() -> None:
    assert set(CATEGORIES) == {
        "convex",
        "ill-conditioned",
        "saddle",
        "non-convex",
        "stochastic",
        "probe",
    }
    assert {p.category for p in PROBLEMS} == set(CATEGORIES)
    assert sorted(p.name for p in PROBLEMS) == sorted(ROWS)
    for name, (category, _, _) in ROWS.items():
        assert problem(name).category == category, name


@EACH_PROBLEM
def test_problem_record_is_well_formed_and_immutable(p: Problem) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", p.name)
    assert p.description.strip() and "\n" not in p.description and len(p.description) <= 100
    assert p.steps >= 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.steps = 3  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_start_and_objective_there_are_the_designed_ones(name: str) -> None:
    _, start, value = ROWS[name]
    p = problem(name)
    x = p.start()
    if start is not None:
        assert tuple(x.flatten().tolist()) == pytest.approx(start, rel=1e-15)
    if value is not None:
        assert p.f(x).item() == pytest.approx(value, rel=1e-12, abs=1e-14)


@EACH_PROBLEM
@DTYPES
def test_start_is_a_fresh_tensor_of_the_requested_dtype_and_device(
    p: Problem, dtype: torch.dtype
) -> None:
    reference = p.start().clone()
    x = p.start(dtype, "cpu")
    assert x.dtype == dtype and x.device == torch.device("cpu") and x.shape == reference.shape
    assert torch.equal(x, reference.to(dtype))
    x.add_(1.0)
    assert torch.equal(p.start(dtype), reference.to(dtype))
    assert p.f(x).shape == () and p.f(x).dtype == dtype


@EACH_PROBLEM
@DTYPES
def test_everything_runs_on_the_meta_device(p: Problem, dtype: torch.dtype) -> None:
    x = p.start(dtype, "meta")
    assert x.device.type == "meta" and x.dtype == dtype and x.shape == p.start().shape
    for step in (0, 7):
        g = p.grad(x, step)
        assert g.device.type == "meta" and g.dtype == dtype and g.shape == x.shape
    value = p.f_at(x, 3)
    assert value.device.type == "meta" and value.dtype == dtype and value.shape == ()


@EACH_PROBLEM
def test_grad_leaves_x_alone_and_shares_nothing_with_the_problem(p: Problem) -> None:
    x = random_points(p, torch.float64)[0]
    before = x.clone()
    g = p.grad(x, 2)
    assert torch.equal(x, before)
    expected = g.clone()
    g.add_(1e3)  # a student's in-place update of the gradient must not leak into the next one
    assert torch.equal(p.grad(x, 2), expected)


def test_problems_without_a_minimiser_are_the_unbounded_and_the_flat_ones() -> None:
    assert {p.name for p in PROBLEMS if p.minimum is None} == WITHOUT_MINIMUM


@pytest.mark.parametrize("p", [p for p in PROBLEMS if p.minimum is not None], ids=lambda p: p.name)
def test_known_minimum_has_zero_gradient_and_is_lowest_nearby(p: Problem) -> None:
    assert p.minimum is not None
    start = p.start()
    assert len(p.minimum) == start.numel()
    m = torch.tensor(p.minimum, dtype=torch.float64).reshape(start.shape)
    scale = autograd_gradient(p.f, start).abs().max().item()
    assert autograd_gradient(p.f, m).abs().max().item() <= 1e-10 * scale
    if p.name not in STEP_DEPENDENT:
        assert p.grad(m, 0).abs().max().item() <= 1e-10 * scale
    generator = torch.Generator().manual_seed(0)
    for _ in range(32):
        nudge = torch.randn(m.shape, generator=generator, dtype=torch.float64)
        assert p.f(m + 1e-3 * nudge / nudge.norm()) > p.f(m)


def test_random_quadratic_is_ill_conditioned() -> None:
    p = problem("random_quadratic")
    x = p.start()
    assert 50 <= x.numel() <= 100
    eigenvalues = torch.linalg.eigvalsh(hessian(p.f, x))
    assert eigenvalues.min() > 0
    assert eigenvalues.max() / eigenvalues.min() >= 1e3
    # the hand-made one: Hessian diag(0.2, 4), condition number 20
    elongated = hessian(problem("elongated_quadratic").f, x[:2])
    torch.testing.assert_close(elongated, torch.diag(torch.tensor([0.2, 4.0], dtype=torch.float64)))


def test_lr_drop_probe_cuts_the_learning_rate_tenfold_once_mid_run() -> None:
    p = problem("lr_drop")
    scales = [p.lr_scale(step) for step in range(p.steps)]
    changes = [k for k in range(1, p.steps) if scales[k] != scales[k - 1]]
    assert scales[0] == 1.0 and len(changes) == 1
    assert 2 <= changes[0] <= p.steps - 3
    assert scales[-1] == pytest.approx(0.1)


@pytest.mark.parametrize("p", [p for p in PROBLEMS if p.name != "lr_drop"], ids=lambda p: p.name)
def test_other_problems_keep_the_learning_rate(p: Problem) -> None:
    assert all(p.lr_scale(step) == 1.0 for step in range(p.steps + 5))


@DTYPES
def test_gradient_spike_probe_sends_a_spike_then_small_gradients(dtype: torch.dtype) -> None:
    p = problem("gradient_spike")
    x, y = random_points(p, dtype, count=2)
    sequence = [p.grad(x, step) for step in range(p.steps)]
    assert all(torch.equal(g, p.grad(y, step)) for step, g in enumerate(sequence))
    spike, after = sequence[0].abs().max(), torch.stack(sequence[1:]).abs()
    assert len(sequence) >= 3 and spike >= 10 and spike >= 50 * after.max()
    assert after.min() > 0 and after.max() == after.min()  # small, steady, nonzero


@DTYPES
def test_tiny_gradient_probe_has_gradients_between_1e_8_and_1e_6(dtype: torch.dtype) -> None:
    p = problem("tiny_gradients")
    magnitudes = torch.stack(
        [p.grad(x, step).abs() for x in random_points(p, dtype) for step in STEPS]
    )
    assert magnitudes.min() >= 1e-8 * (1 - 1e-6) and magnitudes.max() <= 1e-6 * (1 + 1e-6)
    assert magnitudes.min() == pytest.approx(1e-8, rel=1e-6)


def test_zero_gradient_probe_is_flat_and_starts_away_from_zero() -> None:
    p = problem("zero_gradient")
    assert (p.start() != 0).all()  # decay then moves every coordinate
    for x in random_points(p, torch.float64):
        assert p.f(x).item() == 0.0
        assert all(torch.count_nonzero(p.grad(x, step)) == 0 for step in STEPS)


def test_long_run_probe_outlasts_radams_rectification_threshold() -> None:
    # torch's RAdam: ρ∞ = 2 / (1 − β2) − 1, ρ_t = ρ∞ − 2 t β2^t / (1 − β2^t), rectified once ρ_t > 5
    beta2 = 0.999
    rho_infinity = 2 / (1 - beta2) - 1
    rho = [rho_infinity - 2 * t * beta2**t / (1 - beta2**t) for t in range(1, 20)]
    first_rectified = next(t for t, value in enumerate(rho, start=1) if value > 5)
    assert first_rectified == 6
    assert problem("long_run").steps > first_rectified


def test_sparse_problem_leaves_rare_coordinates_without_gradient_most_steps() -> None:
    p = problem("sparse_features")
    assert p.steps_per_epoch is not None
    x = random_points(p, torch.float64)[0]
    gradients = torch.stack([p.grad(x, step) for step in range(3 * p.steps_per_epoch)])
    zero_fraction = (gradients == 0).double().mean(0)
    assert (zero_fraction > 0.5).sum() >= x.numel() // 2  # rare features: zero in most batches
    assert (zero_fraction < 1).all()  # yet every feature is seen at some step


def test_problem_lookup_by_name() -> None:
    assert problem("rosenbrock") is next(p for p in PROBLEMS if p.name == "rosenbrock")
    with pytest.raises(KeyError, match=r"no problem named 'rosenbrok'.*rosenbrock"):
        problem("rosenbrok")


def test_a_seeded_problem_can_be_drawn_again_from_another_seed() -> None:
    from autograder.problems import problem

    original, reseeded = problem("noisy_quadratic"), problem("noisy_quadratic@7")
    x = original.start()
    assert reseeded.name == "noisy_quadratic@7" and reseeded.category == "stochastic"
    assert not torch.equal(original.grad(x, 0), reseeded.grad(x, 0))
    assert torch.equal(reseeded.grad(x, 3), problem("noisy_quadratic@7").grad(x, 3))
    assert not torch.equal(
        problem("random_quadratic@3").start(), problem("random_quadratic").start()
    )
    with pytest.raises(KeyError, match="seeded problems"):
        problem("rosenbrock@3")
