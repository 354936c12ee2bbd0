"""The student contract's function shapes as types, named once for the whole kit."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

Optimizer = Callable[..., Tensor]  # optimizer(x, grad, state, **hyperparameters) -> new x
Schedule = Callable[..., float]  # schedule(step, **hyperparameters) -> learning rate
