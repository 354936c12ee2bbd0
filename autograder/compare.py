"""Find where a student's trajectory first leaves the reference's, and say exactly where.

The tolerance comes from the dtype alone: a relative error of sqrt(machine epsilon), half the
digits, against the value itself plus the quantity's scale over the whole run. Reordered
arithmetic, or a float32 scalar kept where torch keeps one, passes; a wrong convention does not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from autograder.trajectory import Array, NumericTrajectory, Trajectory, float64_array

Mask = npt.NDArray[np.bool_]


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


def _scale(values: Sequence[Array]) -> float:
    """The largest finite magnitude among `values` (0.0 when there is none)."""
    finite = [np.abs(v[np.isfinite(v)]) for v in values]
    return max((float(f.max()) for f in finite if f.size), default=0.0)


# Infinities and NaN are compared as such: their arithmetic on the way warns for nothing. A
# decorator only: as one, it is safe in the threads of a batch (a `with` block is not).
QUIET = np.errstate(invalid="ignore", over="ignore")


def _agrees(expected: Array, got: Array, rtol: float, scale: float) -> Mask:
    """Where got is within tolerance of expected, elementwise: finite values within rtol of
    the value plus the quantity's scale, the same infinity, or NaN for NaN (callers are
    QUIET). Where expected is all finite, as it nearly always is, half the operations do."""
    finite = np.isfinite(expected)
    close = np.isfinite(got) & (np.abs(got - expected) <= rtol * (np.abs(expected) + scale))
    if finite.all():
        return close
    return np.where(finite, close, (got == expected) | (np.isnan(expected) & np.isnan(got)))


def _first_mismatch(
    expected: Array, got: Array, rtol: float, scale: float
) -> tuple[int, ...] | None:
    """The first coordinate (in row-major order) where got leaves expected, or None."""
    if got.shape != expected.shape:
        return ()
    ok = _agrees(expected, got, rtol, scale)
    if ok.all():
        return None
    first = int(np.argmin(ok.reshape(-1)))
    return tuple(int(i) for i in np.unravel_index(first, ok.shape))


def _value(array: Array, index: tuple[int, ...]) -> float:
    if array.size == 0:
        return math.nan
    return float(array[index]) if index else float(array.reshape(-1)[0])


def _quantities(path: NumericTrajectory, step: int, with_state: bool) -> dict[str, Array]:
    observed: dict[str, Array] = {"x": path.points[step]}
    if step > 0 and with_state:
        observed.update({f"state '{k}'": v for k, v in path.states[step - 1].items()})
    observed["loss"] = path.losses[step : step + 1].reshape(())
    return observed


@QUIET
def first_divergence(
    expected: Trajectory,
    got: Trajectory,
    dtype: torch.dtype = torch.float64,
    *,
    with_state: bool = True,
) -> Divergence | None:
    """Compare parameters, every state entry of the reference (unless not `with_state`), then
    the loss, step by step: the first step where any of them leaves the reference, and the
    first of them there.

    Each quantity is screened over all steps at once; only the first step that fails is then
    examined quantity by quantity, so a long run costs a few array operations, not one per
    step and quantity. Values are compared as float64 numpy arrays, made once per trajectory.
    """
    rtol = relative_tolerance(dtype)
    reference, observed = expected.numeric, got.numeric
    first = _first_failing_step(reference, observed, rtol, with_state)
    if first is None:
        return None
    scales = _scales(reference, with_state)
    for step in range(first, len(reference.points)):
        found = _divergence_at(reference, observed, step, rtol, scales, with_state)
        if found is not None:
            return found
    return None


def _scales(expected: NumericTrajectory, with_state: bool) -> dict[str, float]:
    """Each quantity's scale over the whole reference run: the largest finite magnitude."""
    scales = {"x": _scale(expected.points), "loss": _scale([expected.losses])}
    if with_state:
        names = {name for state in expected.states for name in state}
        for name in names:
            values = [state[name] for state in expected.states if name in state]
            scales[f"state '{name}'"] = _scale(values)
    return scales


def _divergence_at(
    expected: NumericTrajectory,
    got: NumericTrajectory,
    step: int,
    rtol: float,
    scales: Mapping[str, float],
    with_state: bool,
) -> Divergence | None:
    """The first quantity of `step` (x, the reference's state entries, the loss) that differs."""
    reference = _quantities(expected, step, with_state)
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
                    step, f"{name} shape", (), float(value.size), float(observed[name].size)
                )
            wanted = _value(value, index)
            allowed = rtol * (abs(wanted) + scales.get(name, 0.0))
            return Divergence(step, name, index, wanted, _value(observed[name], index), allowed)
    return None


def _first_failing_step(
    expected: NumericTrajectory, got: NumericTrajectory, rtol: float, with_state: bool
) -> int | None:
    """The first step at which some quantity may differ (None: none does), found with one
    comparison per quantity over all steps; a step that cannot be screened so counts as
    failing, and the exact comparison decides."""
    steps = len(expected.points)
    candidates = [len(got.points)] if len(got.points) < steps else []
    common = min(steps, len(got.points))
    points = [_first_points(path, common) for path in (expected, got)]
    losses = [path.losses[:common] for path in (expected, got)]
    for reference, observed in (points, losses):
        if reference is None or observed is None:
            candidates.append(0)  # points of several shapes: the exact pass decides
        else:
            candidates += _failing_steps(reference, observed, rtol, _scale([reference]))
    if with_state:
        candidates += _failing_state_steps(expected, got, rtol, common)
    return min(candidates, default=None)


def _first_points(path: NumericTrajectory, count: int) -> Array | None:
    """The first `count` points stacked, or None when their shapes differ."""
    every = path.stacked_points
    return _stacked(path.points[:count]) if every is None else every[:count]


def _stacked(arrays: Sequence[Array]) -> Array | None:
    """The arrays stacked along a new first dimension; None when their shapes differ."""
    return np.stack(arrays) if len({a.shape for a in arrays}) == 1 else None


def _failing_steps(reference: Array, observed: Array, rtol: float, scale: float) -> list[int]:
    """The first step (row) where `observed` leaves `reference`, as a list of at most one."""
    if reference.shape != observed.shape:
        return [0]
    rows = _agrees(reference, observed, rtol, scale).reshape(len(reference), -1).all(axis=1)
    return [] if rows.all() else [int(np.argmin(rows))]


def _failing_state_steps(
    expected: NumericTrajectory, got: NumericTrajectory, rtol: float, common: int
) -> list[int]:
    """The first failing step of each state entry of the reference (steps count from 1)."""
    failing = []
    names = {name for state in expected.states for name in state}
    for name in names:
        steps = [k for k, state in enumerate(expected.states[: common - 1]) if name in state]
        if not steps:
            continue
        theirs = [got.states[k].get(name) for k in steps]
        missing = [k for k, value in zip(steps, theirs, strict=True) if value is None]
        present = [(k, v) for k, v in zip(steps, theirs, strict=True) if v is not None]
        ours = [expected.states[k][name] for k, _ in present]
        scale = _scale([expected.states[k][name] for k in steps])
        reference, observed = _stacked(ours), _stacked([v for _, v in present])
        if reference is not None and observed is not None:
            found = _failing_steps(reference, observed, rtol, scale)
            mismatched = [present[i][0] for i in found]
        else:
            mismatched = [k for k, _ in present[:1]]  # shapes differ: let the exact pass decide
        first = min(missing[:1] + mismatched, default=None)
        if first is not None:
            failing.append(first + 1)
    return failing


@QUIET
def first_difference(
    expected: Tensor, got: Tensor, quantity: str, dtype: torch.dtype = torch.float64
) -> Divergence | None:
    """The first entry along dim 0 (a step) where two sequences of values differ, e.g. the
    learning rates of a schedule at steps 0, 1, ...; `step` is that entry's index."""
    rtol = relative_tolerance(dtype)
    reference, observed = float64_array(expected), float64_array(got)
    scale = _scale([reference])
    for step in range(len(reference)):
        if step >= len(observed):
            return Divergence(step, quantity, (), _value(reference[step], ()), math.nan)
        index = _first_mismatch(reference[step], observed[step], rtol, scale)
        if index is not None:
            wanted = _value(reference[step], index)
            allowed = rtol * (abs(wanted) + scale)
            return Divergence(step, quantity, index, wanted, _value(observed[step], index), allowed)
    if len(observed) > len(reference):
        return Divergence(
            len(reference), quantity, (), math.nan, _value(observed[len(reference)], ())
        )
    return None
