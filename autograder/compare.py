"""Find where a student's trajectory first leaves the reference's, and say exactly where.

The tolerance comes from the dtype alone: a relative error of sqrt(machine epsilon), half the
digits, against the value itself plus the quantity's scale over the whole run. Reordered
arithmetic, or a float32 scalar kept where torch keeps one, passes; a wrong convention does not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from autograder.trajectory import Trajectory


@dataclass(frozen=True)
class Divergence:
    """The first place where got and expected disagree: after `step` steps (0 = the start);
    `tolerance` is the absolute difference allowed there (nan where none applies)."""

    step: int
    quantity: str
    index: tuple[int, ...]
    expected: float
    got: float
    tolerance: float = math.nan


def relative_tolerance(dtype: torch.dtype) -> float:
    """The relative error a correct implementation in `dtype` may show."""
    return math.sqrt(torch.finfo(dtype).eps)  # 1.5e-8 in float64, 3.5e-4 in float32


def _scale(values: list[Tensor]) -> float:
    finite = [v[torch.isfinite(v)].abs() for v in values]
    return max((f.max().item() for f in finite if f.numel()), default=0.0)


def _first_mismatch(
    expected: Tensor, got: Tensor, rtol: float, scale: float
) -> tuple[int, ...] | None:
    """The first coordinate (in row-major order) where got leaves expected, or None."""
    if got.shape != expected.shape:
        return ()
    same_kind = (torch.isnan(expected) == torch.isnan(got)) & (
        torch.isinf(expected) == torch.isinf(got)
    )
    both_finite = torch.isfinite(expected) & torch.isfinite(got)
    close = (got - expected).abs() <= rtol * (expected.abs() + scale)
    infinite_equal = torch.isinf(expected) & (got == expected)
    ok = same_kind & (torch.where(both_finite, close, torch.isnan(expected) | infinite_equal))
    if bool(ok.all()):
        return None
    first = int(torch.nonzero(~ok.reshape(-1))[0, 0])
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(first), ok.shape))


def _value(tensor: Tensor, index: tuple[int, ...]) -> float:
    if tensor.numel() == 0:
        return math.nan
    return float(tensor[index]) if index else float(tensor.reshape(-1)[0])


def _quantities(path: Trajectory, step: int, with_state: bool) -> dict[str, Tensor]:
    observed: dict[str, Tensor] = {"x": path.points[step].detach().to("cpu", torch.float64)}
    if step > 0 and with_state:
        observed.update({f"state '{k}'": v for k, v in path.states[step - 1].items()})
    observed["loss"] = torch.tensor(path.losses[step], dtype=torch.float64)
    return observed


def first_divergence(
    expected: Trajectory,
    got: Trajectory,
    dtype: torch.dtype = torch.float64,
    *,
    with_state: bool = True,
) -> Divergence | None:
    """Compare parameters, every state entry of the reference (unless not `with_state`), then
    the loss, step by step."""
    rtol = relative_tolerance(dtype)
    expected_steps = [_quantities(expected, k, with_state) for k in range(len(expected.points))]
    scales: Mapping[str, float] = {
        name: _scale([q[name] for q in expected_steps if name in q]) for name in expected_steps[-1]
    }
    for step, reference in enumerate(expected_steps):
        if step >= len(got.points):
            return Divergence(step, "x", (), _value(reference["x"], ()), math.nan)
        observed = _quantities(got, step, with_state)
        for name, value in reference.items():
            if name not in observed:
                return Divergence(step, name, (), _value(value, ()), math.nan)
            index = _first_mismatch(value, observed[name], rtol, scales.get(name, 0.0))
            if index is not None:
                if observed[name].shape != value.shape:
                    return Divergence(
                        step,
                        f"{name} shape",
                        (),
                        float(value.numel()),
                        float(observed[name].numel()),
                    )
                wanted = _value(value, index)
                allowed = rtol * (abs(wanted) + scales.get(name, 0.0))
                return Divergence(step, name, index, wanted, _value(observed[name], index), allowed)
    return None


def first_difference(
    expected: Tensor, got: Tensor, quantity: str, dtype: torch.dtype = torch.float64
) -> Divergence | None:
    """The first entry along dim 0 (a step) where two sequences of values differ, e.g. the
    learning rates of a schedule at steps 0, 1, ...; `step` is that entry's index."""
    rtol = relative_tolerance(dtype)
    scale = _scale([expected.to(torch.float64)])
    for step in range(len(expected)):
        if step >= len(got):
            return Divergence(step, quantity, (), _value(expected[step], ()), math.nan)
        index = _first_mismatch(expected[step].double(), got[step].double(), rtol, scale)
        if index is not None:
            wanted = _value(expected[step], index)
            allowed = rtol * (abs(wanted) + scale)
            return Divergence(step, quantity, index, wanted, _value(got[step], index), allowed)
    if len(got) > len(expected):
        return Divergence(len(expected), quantity, (), math.nan, _value(got[len(expected)], ()))
    return None
