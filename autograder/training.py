"""Training a network with optimizers in the contract shape: an adapter, a data set, a model.

`ContractOptimizer` turns an optimizer function `f(x, grad, state, **hyperparameters) -> new
x` (yours from the assignments, or one of the kit's `OPTIMIZERS`) into a `torch.optim.Optimizer`,
so a training loop drives it as it would drive torch's own:

    model = make_mlp(seed=0)
    features, labels = two_moons(200, noise=0.1, seed=0)
    optimizer = ContractOptimizer(model.parameters(), OPTIMIZERS["adam"], lr=0.01)

A learning-rate schedule is not part of the adapter. The training loop applies it, as a torch
scheduler does: before each `optimizer.step()` it sets `group["lr"] = schedule(step, **kwargs)`
for every group of `optimizer.param_groups`; the adapter passes each group's entries (lr
included) to the function as keyword arguments at every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, overload

import torch
from torch import Tensor
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    StepLR,
)
from torch.optim.optimizer import ParamsT

from autograder.contract import Optimizer, Schedule
from autograder.experiments import from_torch
from autograder.torch_optim import dynamo_free

__all__ = [
    "NOISE",
    "OPTIMIZERS",
    "SCHEDULES",
    "ContractOptimizer",
    "make_mlp",
    "minibatch_count",
    "two_moons",
]

NOISE = 0.1  # the standard deviation of the noise of the graded cases' two moons


@dynamo_free
class ContractOptimizer(torch.optim.Optimizer):
    """A torch optimizer that steps each parameter with `function`, in the contract shape.

    Each parameter keeps its own state dict (`self.state[p]`, `{}` before its first step);
    `step()` calls `function(p, p.grad, state, **group)` for every parameter that has a
    gradient (the group's entries but "params" as keywords) and copies the result into `p`.
    The function gets the parameter and gradient themselves, detached, and must not modify
    them in place (the contract). `lr` is required, so that schedules have a group entry to set.
    """

    def __init__(
        self, params: ParamsT, function: Optimizer, *, lr: float, **hyperparameters: Any
    ) -> None:
        self.function = function
        super().__init__(params, {"lr": lr, **hyperparameters})

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One step of every parameter with a gradient; `closure` re-evaluates the loss first."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                hyperparameters = {k: v for k, v in group.items() if k != "params"}
                for parameter in group["params"]:
                    if parameter.grad is None:
                        continue
                    new = self.function(
                        parameter.detach(),
                        parameter.grad.detach(),
                        self.state[parameter],
                        **hyperparameters,
                    )
                    parameter.copy_(new)
        return loss


# The kit's optimizers in the contract shape: torch's own, so that a graded training loop does
# not depend on the optimizers students write in the other assignments.
OPTIMIZERS: Mapping[str, Optimizer] = {
    "sgd": from_torch(torch.optim.SGD),
    "adam": from_torch(torch.optim.Adam),
}


def _torch_schedule(scheduler: type[LRScheduler]) -> Schedule:
    """`schedule(step, *, lr, **kwargs)`: the lr that torch's `scheduler` gives after `step`
    calls of `scheduler.step()`, for an optimizer whose initial lr is `lr`."""
    sgd = dynamo_free(torch.optim.SGD)

    def schedule(step: int, *, lr: float, **kwargs: Any) -> float:
        parameter = torch.zeros(1, requires_grad=True)
        optimizer = sgd([parameter], lr=lr)
        stepper = scheduler(optimizer, **kwargs)
        for _ in range(step):
            optimizer.step()  # no gradient: changes nothing, but keeps torch's order check quiet
            stepper.step()
        return float(optimizer.param_groups[0]["lr"])

    schedule.__name__ = scheduler.__name__
    return schedule


# The kit's schedules, by the name a graded case gives: torch's schedulers as functions.
SCHEDULES: Mapping[str, Schedule] = {
    "step": _torch_schedule(StepLR),
    "exponential": _torch_schedule(ExponentialLR),
    "cosine": _torch_schedule(CosineAnnealingLR),
    "warmup": _torch_schedule(LinearLR),
}


def two_moons(n: int, *, noise: float = NOISE, seed: int = 0) -> tuple[Tensor, Tensor]:
    """n points of two interleaved half circles, float64: features (n, 2) and labels (n,).

    The first ⌈n/2⌉ points lie on the upper moon (label 0), evenly spaced from angle 0 to π,
    the others on the lower one (label 1), shifted by (1, −0.5); then Gaussian noise of standard
    deviation `noise`, drawn from a generator seeded by `seed` (as scikit-learn's make_moons).
    """
    lower = n // 2
    upper = n - lower
    angles_upper = torch.linspace(0.0, math.pi, upper, dtype=torch.float64)
    angles_lower = torch.linspace(0.0, math.pi, lower, dtype=torch.float64)
    features = torch.cat(
        [
            torch.stack([angles_upper.cos(), angles_upper.sin()], dim=1),
            torch.stack([1.0 - angles_lower.cos(), 0.5 - angles_lower.sin()], dim=1),
        ]
    )
    generator = torch.Generator().manual_seed(seed)
    features = features + noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    labels = torch.cat([torch.zeros(upper), torch.ones(lower)]).to(torch.float64)
    return features, labels


def make_mlp(seed: int, hidden: int = 16) -> torch.nn.Sequential:
    """A 2-hidden-16-hidden-1 network with tanh, float64, giving one logit per row, shape (b,).

    torch's default initialisation, drawn with the global generator seeded by `seed` inside
    `torch.random.fork_rng`, so the global random state is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Sequential(
            torch.nn.Linear(2, hidden, dtype=torch.float64),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, hidden, dtype=torch.float64),
            torch.nn.Tanh(),
            torch.nn.Linear(hidden, 1, dtype=torch.float64),
            torch.nn.Flatten(0),
        )


def minibatch_count(n: int, batch_size: int, epochs: int) -> int:
    """How many minibatches `epochs` epochs of n examples make, the last of each kept."""
    return epochs * math.ceil(n / batch_size)
