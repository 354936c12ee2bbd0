"""Reference optimizers and schedules, exact to torch.optim, and their known-bug variants.

Every optimizer has the student contract's shape, `f(x, grad, state, **hyperparameters) -> x'`;
every schedule is a pure function of the step; `train` is a training loop of minibatches. The
grader compares students with these.
`FUNCTIONS` maps each graded function's name (autograder/catalog.py) to its reference.
"""

from collections.abc import Callable
from typing import Any

from reference.adabound import adabound
from reference.adadelta import adadelta
from reference.adagrad import adagrad
from reference.adam import adam, adamw
from reference.adamax import adamax
from reference.cyclical import cyclic_lr, one_cycle_lr
from reference.minibatch import minibatches
from reference.nadam import nadam
from reference.radam import radam
from reference.rmsprop import rmsprop
from reference.schedules import (
    cosine_lr,
    cosine_warm_restarts,
    exponential_lr,
    linear_warmup,
    polynomial_lr,
    step_lr,
)
from reference.sgd import gd, momentum, nesterov
from reference.swats import swats
from reference.training import train

FUNCTIONS: dict[str, Callable[..., Any]] = {
    function.__name__: function
    for function in (
        gd, momentum, nesterov, minibatches,
        adagrad, rmsprop, adadelta, adam, adamw, adamax, nadam, radam, adabound,
        step_lr, exponential_lr, polynomial_lr, cosine_lr, cosine_warm_restarts,
        cyclic_lr, one_cycle_lr, linear_warmup, swats, train,
    )
}  # fmt: skip

__all__ = ["FUNCTIONS", *FUNCTIONS]
