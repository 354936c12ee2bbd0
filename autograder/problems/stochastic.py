"""Stochastic problems: seeded gradient noise and minibatches of seeded synthetic data sets.

Each depends on its seed and the step only. The noise of step k, and the permutation of epoch e
(cut in order into batches, batch k of the epoch at its k-th step), come from fresh generators
seeded by (name, seed, k) and (name, seed, e); a data set is drawn once from (name, seed).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.nn.functional import softplus

from autograder.problems.base import Problem, fixed_point, seeded_generator
from autograder.problems.deterministic import diagonal_quadratic

Loss = Callable[[Tensor, Tensor, Tensor], Tensor]  # (parameters, features, targets) -> value
DataSet = tuple[Tensor, Tensor]  # features (n, d) and targets (n,), float64 on the CPU


def noisy_quadratic(seed: int = 0) -> Problem:
    """f = x1² + 2 x2² (d2l's SGD example); step k sees ∇f + ξ_k, ξ_k ~ N(0, I) seeded by k."""
    clean = diagonal_quadratic(
        "noisy_quadratic",
        "stochastic",
        "the bowl f = x1² + 2 x2² from (−5, −2), each gradient plus standard normal noise",
        (1, 2),
        (-5, -2),
    )

    def noise(x: Tensor, step: int) -> Tensor:
        generator = seeded_generator("noisy_quadratic", "noise", seed, step)
        return torch.randn(x.shape, generator=generator, dtype=torch.float64).to(x)

    return dataclasses.replace(
        clean,
        grad=lambda x, step: clean.grad(x, step) + noise(x, step),
        step_objective=lambda x, step: clean.f(x) + (noise(x, step) * x).sum(),
    )


def squared_loss(theta: Tensor, features: Tensor, targets: Tensor) -> Tensor:
    """Mean of ½ (xᵢ·θ − yᵢ)² over the rows."""
    return 0.5 * ((features @ theta - targets) ** 2).mean()


def squared_loss_grad(theta: Tensor, features: Tensor, targets: Tensor) -> Tensor:
    return features.T @ (features @ theta - targets) / features.shape[0]


def logistic_loss(theta: Tensor, features: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy of labels yᵢ ∈ {0, 1} under p = σ(xᵢ·θ): softplus(z) − y z."""
    logits = features @ theta
    return (softplus(logits) - targets * logits).mean()


def logistic_loss_grad(theta: Tensor, features: Tensor, targets: Tensor) -> Tensor:
    return features.T @ (torch.sigmoid(features @ theta) - targets) / features.shape[0]


def minibatch_problem(
    name: str,
    description: str,
    loss: tuple[Loss, Loss],
    data: Callable[[], DataSet],
    *,
    samples: int,
    batch_size: int,
    seed: int,
    start: Sequence[float],
    fit: Callable[[DataSet], Tensor],
    steps: int,
) -> Problem:
    """Minibatch training of θ on `data`: f is the full-batch loss, step k the loss of batch k."""
    value, gradient = loss
    per_epoch = samples // batch_size
    data = functools.cache(data)  # drawn once, on first use
    minimum = functools.cache(lambda: tuple(fit(data()).tolist()))

    @functools.lru_cache(maxsize=2)  # a run reads each epoch's order once per step of it
    def order(epoch: int) -> Tensor:
        return torch.randperm(samples, generator=seeded_generator(name, "epoch", seed, epoch))

    def batch(x: Tensor, step: int) -> DataSet:
        epoch, k = divmod(step, per_epoch)
        rows = order(epoch)[k * batch_size : (k + 1) * batch_size]
        features, targets = data()
        return features[rows].to(x), targets[rows].to(x)

    def f(x: Tensor) -> Tensor:
        features, targets = data()
        return value(x, features.to(x), targets.to(x))

    return Problem(
        name,
        "stochastic",
        description,
        steps,
        fixed_point(*start),
        f,
        lambda x, step: gradient(x, *batch(x, step)),
        step_objective=lambda x, step: value(x, *batch(x, step)),
        minimizer=minimum,
        steps_per_epoch=per_epoch,
    )


def least_squares(data: DataSet) -> Tensor:
    """The least-squares minimiser by SVD (gelsd: reproducible to the bit, unlike MKL's gelsy)."""
    features, targets = data
    solution: Tensor = torch.linalg.lstsq(features, targets.unsqueeze(1), driver="gelsd").solution
    return solution.squeeze(1)


def logistic_fit(data: DataSet, iterations: int = 30) -> Tensor:
    """The logistic-regression minimiser by Newton's method (the data are not separable)."""
    features, targets = data
    theta = torch.zeros(features.shape[1], dtype=torch.float64)
    for _ in range(iterations):
        p = torch.sigmoid(features @ theta)
        hessian = features.T @ (features * (p * (1 - p)).unsqueeze(1)) / features.shape[0]
        theta = theta - torch.linalg.solve(hessian, logistic_loss_grad(theta, features, targets))
    return theta


def _with_bias(features: Tensor) -> Tensor:
    return torch.cat((features, torch.ones(features.shape[0], 1, dtype=features.dtype)), dim=1)


def linear_data(seed: int, samples: int = 64) -> DataSet:
    """d2l's synthetic regression set: y = 2 x1 − 3.4 x2 + 4.2 + N(0, 0.01²) noise."""
    generator = seeded_generator("linear_regression", "data", seed)
    x = torch.randn(samples, 2, generator=generator, dtype=torch.float64)
    noise = 0.01 * torch.randn(samples, generator=generator, dtype=torch.float64)
    return _with_bias(x), x @ torch.tensor((2.0, -3.4), dtype=torch.float64) + 4.2 + noise


def logistic_data(seed: int, samples: int = 64) -> DataSet:
    """Labels drawn from p = σ(2 x1 − x2 + 0.5), so the two classes overlap."""
    generator = seeded_generator("logistic_regression", "data", seed)
    x = torch.randn(samples, 2, generator=generator, dtype=torch.float64)
    p = torch.sigmoid(x @ torch.tensor((2.0, -1.0), dtype=torch.float64) + 0.5)
    return _with_bias(x), torch.bernoulli(p, generator=generator)


SPARSE_FREQUENCIES = (0.9, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05)


def sparse_data(seed: int, samples: int = 80) -> DataSet:
    """0/1 features, six of them rare (in 5% of the rows); the first rows hold one feature each."""
    generator = seeded_generator("sparse_features", "data", seed)
    frequency = torch.tensor(SPARSE_FREQUENCIES, dtype=torch.float64)
    d = len(SPARSE_FREQUENCIES)
    features = (torch.rand(samples, d, generator=generator, dtype=torch.float64) < frequency).to(
        torch.float64
    )
    features[:d] = torch.eye(d, dtype=torch.float64)  # every feature occurs: θ* is unique
    weights = 2 * torch.randn(d, generator=generator, dtype=torch.float64)
    noise = 0.1 * torch.randn(samples, generator=generator, dtype=torch.float64)
    return features, features @ weights + noise


def stochastic_problems(seed: int = 0) -> tuple[Problem, ...]:
    """The stochastic problems of docs/design.md §1, freshly built from `seed`."""
    return (
        noisy_quadratic(seed),
        minibatch_problem(
            "linear_regression",
            "least squares fit of 64 noisy points of y = 2 x1 − 3.4 x2 + 4.2, batches of 16",
            (squared_loss, squared_loss_grad),
            lambda: linear_data(seed),
            samples=64,
            batch_size=16,
            seed=seed,
            start=(0, 0, 0),
            fit=least_squares,
            steps=20,
        ),
        minibatch_problem(
            "logistic_regression",
            "logistic regression on 64 points of two overlapping classes, batches of 16",
            (logistic_loss, logistic_loss_grad),
            lambda: logistic_data(seed),
            samples=64,
            batch_size=16,
            seed=seed,
            start=(0, 0, 0),
            fit=logistic_fit,
            steps=20,
        ),
        minibatch_problem(
            "sparse_features",
            "least squares on 0/1 features, six of eight rare (in 5% of rows), batches of 8",
            (squared_loss, squared_loss_grad),
            lambda: sparse_data(seed),
            samples=80,
            batch_size=8,
            seed=seed,
            start=(0,) * len(SPARSE_FREQUENCIES),
            fit=least_squares,
            steps=30,
        ),
    )
