"""What a plot of optimizer paths or curves shows, whichever library draws it: the box of
parameter space, where a path leaves it, the contour levels, and the y scale of per-step curves.

The notebooks' matplotlib figures (plotting.py) and the report's SVG plots (reports/svg_plot.py)
both read it, so the two always agree on what is in view and on every label's note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from autograder.trajectory import Trajectory

Array = NDArray[np.float64]
PathLike = Trajectory | Tensor | Array | Sequence[Tensor] | Sequence[Array]
GRID = 120  # grid points per axis for contours and curves
CONTOUR_LEVELS = 16


class Surface(Protocol):
    """What plotting needs from a problem: its name, start point, function and minimum."""

    @property
    def name(self) -> str: ...

    @property
    def minimum(self) -> tuple[float, ...] | None: ...

    def start(self, dtype: torch.dtype, device: torch.device | str) -> Tensor: ...

    def f(self, x: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class Mark:
    """A highlighted step of one plotted path, e.g. the student's first divergence."""

    path: str
    step: int
    label: str


@dataclass(frozen=True)
class View:
    """The plotted box of parameter space: lower and upper corner, one entry per coordinate."""

    lo: Array
    hi: Array

    def first_exit(self, points: Array) -> int | None:
        """The first step whose point is non-finite or outside the box, None if none is."""
        inside = np.all((points >= self.lo) & (points <= self.hi), axis=1)
        outside = np.flatnonzero(~inside)
        return int(outside[0]) if outside.size else None


def _points(path: PathLike) -> list[Array]:
    """The points of a path, each flattened to float64; non-finite entries become nan."""
    points = path.points if isinstance(path, Trajectory) else path
    rows = [torch.as_tensor(p).detach().to("cpu", torch.float64).reshape(-1) for p in points]
    return [np.where(np.isfinite(row.numpy()), row.numpy(), np.nan) for row in rows]


def start(problem: Surface) -> Tensor:
    return problem.start(torch.float64, "cpu")


def dimension(problem: Surface) -> int:
    return start(problem).numel()


def evaluate(problem: Surface, points: Array) -> Array:
    """f at each row of `points`: one vectorized call where f allows it, a loop otherwise."""
    shape = start(problem).shape
    batch = torch.as_tensor(points, dtype=torch.float64).reshape(-1, *shape)
    try:
        values = torch.vmap(problem.f)(batch)
    except RuntimeError:  # f does something vmap cannot batch
        values = torch.stack([problem.f(x) for x in batch])
    return values.detach().to(torch.float64).numpy().reshape(-1)


def evaluate_path(problem: Surface, points: Array) -> Array:
    """f along a path, nan where the path is not finite."""
    finite = np.all(np.isfinite(points), axis=1)
    values = np.full(points.shape[0], np.nan)
    if finite.any():
        values[finite] = evaluate(problem, points[finite])
    return values


def view_of(problem: Surface, paths: Sequence[Array]) -> View:
    """A box around the start and minimum, grown to hold the paths but never past one box size.

    Without a known minimum the origin stands in for it (the suite's saddle points sit there).
    The size limit keeps a diverging path from zooming the problem out of sight.
    """
    first = start(problem).reshape(-1).numpy()
    minimum = np.zeros_like(first) if problem.minimum is None else problem.minimum
    corners = np.stack([first, np.asarray(minimum, dtype=np.float64).reshape(-1)])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    size = max(float((hi - lo).max()), float(np.abs(corners).max()), 1.0)
    floor, ceiling = lo - size, hi + size
    for points in paths:
        finite = points[np.all(np.isfinite(points), axis=1)]
        if finite.size:
            clipped = np.clip(finite, floor, ceiling)
            lo, hi = np.minimum(lo, clipped.min(axis=0)), np.maximum(hi, clipped.max(axis=0))
    pad = 0.08 * max(float((hi - lo).max()), 1e-3)
    return View(lo - pad, hi + pad)


def describe_exit(label: str, points: Array, view: View) -> str:
    """The label, with the step where the path leaves the plot when it does."""
    step = view.first_exit(points)
    if step is None:
        return label
    if not np.all(np.isfinite(points[step])):
        return f"{label} (inf/nan at step {step})"
    return f"{label} (leaves the plot at step {step})"


def shown(points: Array, view: View) -> Array:
    """The points up to the first one past the view; the rest would only hide the problem."""
    step = view.first_exit(points)
    return points if step is None else points[: step + 1]


def contour_grid(problem: Surface, view: View) -> tuple[Array, Array, Array]:
    """x1 and x2 of a GRID x GRID grid over a 2-D view, and f on it (rows follow x2)."""
    xs = np.linspace(view.lo[0], view.hi[0], GRID)
    ys = np.linspace(view.lo[1], view.hi[1], GRID)
    grid_x, grid_y = np.meshgrid(xs, ys)
    values = evaluate(problem, np.stack([grid_x.ravel(), grid_y.ravel()], axis=1))
    return grid_x, grid_y, values.reshape(grid_x.shape)


def levels(values: Array) -> Array:
    """Geometric levels above the lowest value for f >= min (bowls, valleys), linear otherwise."""
    if values.size == 0:
        return np.empty(0)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.empty(0)
    if low >= 0.0:
        return low + np.geomspace((high - low) * 1e-4, high - low, CONTOUR_LEVELS)
    return np.linspace(low, high, CONTOUR_LEVELS + 2)[1:-1]


def coordinates(problem: Surface, points: Array) -> tuple[Array, Array]:
    """Plot coordinates of parameter points: (x1, x2) in 2-D, (x, f(x)) in 1-D."""
    if points.shape[1] == 1:
        return points[:, 0], evaluate_path(problem, points)
    return points[:, 0], points[:, 1]


def as_arrays(problem: Surface, paths: Mapping[str, PathLike]) -> dict[str, Array]:
    """Each path as a (steps + 1, dimension) array; a ValueError if a point is not the size of
    the problem's (a student's wrong shape, say), rather than a plot that makes no sense."""
    size = dimension(problem)
    arrays: dict[str, Array] = {}
    for label, path in paths.items():
        rows = _points(path)
        sizes = sorted({row.size for row in rows})
        if sizes != [size]:
            raise ValueError(
                f"path {label!r} has points of {', '.join(map(str, sizes))} coordinates; "
                f"{problem.name} has {size}"
            )
        arrays[label] = np.stack(rows)
    return arrays


def check_mark(mark: Mark | None, labels: Mapping[str, object]) -> None:
    """A KeyError where the mark names none of the plotted paths or runs."""
    if mark is not None and mark.path not in labels:
        raise KeyError(f"the mark names path {mark.path!r}, not one of {list(labels)}")


def finite_series(values: Sequence[float] | Array) -> Array:
    """Per-step values as float64, nan where they are not finite."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array), array, np.nan)


@dataclass(frozen=True)
class Curve:
    """One run's values as drawn: up to where it blows up, its label saying when it did."""

    label: str
    values: Array


@dataclass(frozen=True)
class CurveScale:
    """The y axis of per-step curves: log or linear, and its limits (None: nothing to show)."""

    log: bool
    limits: tuple[float, float] | None


def loss_scale(
    series: Mapping[str, Array], log: bool | None = None
) -> tuple[list[Curve], CurveScale]:
    """The curves of `series` and their y axis. A log scale where asked for, or by default when
    the values are non-negative and span more than two decades (zeros then sit at the bottom
    edge); a run that blows up (past 1e4 times the largest start) is cut where it does."""
    starts = [abs(v[0]) for v in series.values() if v.size and np.isfinite(v[0])]
    bound = 1e4 * max([*starts, 1e-12])
    kept = np.concatenate([v[np.abs(v) <= bound] for v in series.values()] or [np.empty(0)])
    positive = kept[kept > 0]
    loggable = positive.size > 0 and bool(np.all(kept >= 0))
    if log is None:
        log = loggable and float(positive.max()) > 100 * float(positive.min())
    curves = []
    for label, values in series.items():
        beyond = np.flatnonzero(~(np.abs(values) <= bound))
        cut = values if beyond.size == 0 else values[: beyond[0] + 1]
        note = "" if beyond.size == 0 else f" (diverges at step {beyond[0]})"
        curves.append(Curve(label + note, cut))
    if log and loggable:
        low, high = float(positive.min()), float(positive.max())
        return curves, CurveScale(True, (max(low, high * 1e-16) / 2, high * 2))
    if kept.size:
        low, high = float(kept.min()), float(kept.max())
        pad = 0.05 * max(high - low, 1e-12)
        return curves, CurveScale(False, (low - pad, high + pad))
    return curves, CurveScale(False, None)
