"""torch.optim's optimizers as the kit runs them: torch's own code, without the wrappers whose
first call imports torch._dynamo.

torch wraps an optimizer's `step`, `zero_grad`, `add_param_group`, `state_dict` and
`load_state_dict` for torch.compile. The first call of any of them imports torch._dynamo,
about 800 modules and more than a second, in every process that builds an optimizer (the
grading process, a worker whose cases train). Where nothing is compiled, and the kit compiles
nothing, a wrapper only calls the method it wraps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import torch

__all__ = ["dynamo_free"]

AnyOptimizer = TypeVar("AnyOptimizer", bound=torch.optim.Optimizer)
WRAPPED = ("zero_grad", "add_param_group", "state_dict", "load_state_dict")


def _unwrapped(method: Callable[..., Any]) -> Callable[..., Any]:
    """The function under `method`'s decorators, each made with functools.wraps."""
    while hasattr(method, "__wrapped__"):
        method = method.__wrapped__
    return method


def dynamo_free(optimizer_class: type[AnyOptimizer]) -> type[AnyOptimizer]:
    """`optimizer_class` (same name, same documentation) with its wrapped methods unwrapped;
    its `step` runs without gradients, as torch's wrapper runs a step that is not
    differentiable."""
    step = _unwrapped(optimizer_class.step)

    @functools.wraps(step)
    def step_without_gradients(self: AnyOptimizer, *args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            return step(self, *args, **kwargs)

    namespace: dict[str, Any] = {
        name: _unwrapped(getattr(optimizer_class, name)) for name in WRAPPED
    }
    namespace.update(
        step=step_without_gradients,
        __doc__=optimizer_class.__doc__,
        __module__=optimizer_class.__module__,
        __qualname__=optimizer_class.__qualname__,
    )
    return cast(type[AnyOptimizer], type(optimizer_class.__name__, (optimizer_class,), namespace))
