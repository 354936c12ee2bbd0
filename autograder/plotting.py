"""Figures for the notebooks and the HTML report: problems, paths, losses and schedules.

Every helper builds its own `Figure` rather than using pyplot's global state, so it works under
any backend, shows in a notebook as a cell's value, saves to PNG for the report, and leaves
nothing open behind it. Paths that diverge (to inf, nan or far away) are drawn up to where they
leave the view, and their label says at which step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
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
class _View:
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


def _start(problem: Surface) -> Tensor:
    return problem.start(torch.float64, "cpu")


def _evaluate(problem: Surface, points: Array) -> Array:
    """f at each row of `points`: one vectorized call where f allows it, a loop otherwise."""
    shape = _start(problem).shape
    batch = torch.as_tensor(points, dtype=torch.float64).reshape(-1, *shape)
    try:
        values = torch.vmap(problem.f)(batch)
    except RuntimeError:  # f does something vmap cannot batch
        values = torch.stack([problem.f(x) for x in batch])
    return values.detach().to(torch.float64).numpy().reshape(-1)


def _view(problem: Surface, paths: Sequence[Array]) -> _View:
    """A box around the start and minimum, grown to hold the paths but never past one box size.

    Without a known minimum the origin stands in for it (the suite's saddle points sit there).
    The size limit keeps a diverging path from zooming the problem out of sight.
    """
    start = _start(problem).reshape(-1).numpy()
    minimum = np.zeros_like(start) if problem.minimum is None else problem.minimum
    corners = np.stack([start, np.asarray(minimum, dtype=np.float64).reshape(-1)])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    size = max(float((hi - lo).max()), float(np.abs(corners).max()), 1.0)
    floor, ceiling = lo - size, hi + size
    for points in paths:
        finite = points[np.all(np.isfinite(points), axis=1)]
        if finite.size:
            clipped = np.clip(finite, floor, ceiling)
            lo, hi = np.minimum(lo, clipped.min(axis=0)), np.maximum(hi, clipped.max(axis=0))
    pad = 0.08 * max(float((hi - lo).max()), 1e-3)
    return _View(lo - pad, hi + pad)


def _describe_exit(label: str, points: Array, view: _View) -> str:
    """The label, with the step where the path leaves the plot when it does."""
    step = view.first_exit(points)
    if step is None:
        return label
    if not np.all(np.isfinite(points[step])):
        return f"{label} (inf/nan at step {step})"
    return f"{label} (leaves the plot at step {step})"


def _shown(points: Array, view: _View) -> Array:
    """The points up to the first one past the view; the rest would only hide the problem."""
    step = view.first_exit(points)
    return points if step is None else points[: step + 1]


def _draw_surface(ax: Axes, problem: Surface, view: _View) -> None:
    """Contour lines (2-D) or the graph of f (1-D) over the view, and the minimum if known."""
    if view.lo.size == 1:
        xs = np.linspace(view.lo[0], view.hi[0], GRID * 4)
        values = _evaluate(problem, xs[:, None])
        ax.plot(xs, values, color="0.3", lw=1.2, label="f")
        finite = values[np.isfinite(values)]
        if finite.size:
            pad = 0.06 * max(float(finite.max() - finite.min()), 1e-9)
            ax.set_ylim(float(finite.min()) - pad, float(finite.max()) + pad)
        ax.set_xlim(view.lo[0], view.hi[0])
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
    else:
        xs = np.linspace(view.lo[0], view.hi[0], GRID)
        ys = np.linspace(view.lo[1], view.hi[1], GRID)
        grid_x, grid_y = np.meshgrid(xs, ys)
        values = _evaluate(problem, np.stack([grid_x.ravel(), grid_y.ravel()], axis=1))
        levels = _levels(values[np.isfinite(values)])
        if levels.size >= 2:
            ax.contour(
                grid_x,
                grid_y,
                values.reshape(grid_x.shape),
                levels=levels,
                cmap="viridis",
                linewidths=0.8,
                alpha=0.7,
            )
        ax.set_xlim(view.lo[0], view.hi[0])
        ax.set_ylim(view.lo[1], view.hi[1])
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    if problem.minimum is not None:
        at = np.asarray(problem.minimum, dtype=np.float64).reshape(-1)
        y = _evaluate(problem, at[None, :])[0] if at.size == 1 else at[1]
        ax.plot([at[0]], [y], "*", color="black", ms=13, ls="none", label="minimum")


def _levels(values: Array) -> Array:
    """Geometric levels above the lowest value for f >= min (bowls, valleys), linear otherwise."""
    if values.size == 0:
        return np.empty(0)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.empty(0)
    if low >= 0.0:
        return low + np.geomspace((high - low) * 1e-4, high - low, CONTOUR_LEVELS)
    return np.linspace(low, high, CONTOUR_LEVELS + 2)[1:-1]


def _evaluate_path(problem: Surface, points: Array) -> Array:
    """f along a path, nan where the path is not finite."""
    finite = np.all(np.isfinite(points), axis=1)
    values = np.full(points.shape[0], np.nan)
    if finite.any():
        values[finite] = _evaluate(problem, points[finite])
    return values


def _coordinates(problem: Surface, points: Array) -> tuple[Array, Array]:
    """Plot coordinates of parameter points: (x1, x2) in 2-D, (x, f(x)) in 1-D."""
    if points.shape[1] == 1:
        return points[:, 0], _evaluate_path(problem, points)
    return points[:, 0], points[:, 1]


def _draw_paths(
    ax: Axes, problem: Surface, paths: Mapping[str, Array], view: _View, mark: Mark | None
) -> None:
    """The surface, each path (labelled, with its exit step), the marked step and a legend."""
    _draw_surface(ax, problem, view)
    for label, points in paths.items():
        xs, ys = _coordinates(problem, _shown(points, view))
        ax.plot(xs, ys, "o-", ms=3.5, lw=1.3, label=_describe_exit(label, points, view))
    if mark is not None:
        if mark.path not in paths:
            raise KeyError(f"the mark names path {mark.path!r}, not one of {list(paths)}")
        points = paths[mark.path][mark.step : mark.step + 1]
        xs, ys = _coordinates(problem, points)
        ax.plot(xs, ys, "X", color="red", ms=13, mec="white", ls="none", label=mark.label)
    ax.legend(loc="best", fontsize="small")


def _single_axes(size: tuple[float, float], title: str) -> tuple[Figure, Axes]:
    """A figure of `size` inches with one axes, fixed margins, `title` at a fixed height and
    at most about five ticks an axis: a feedback page draws one per failing function, and a
    layout engine would double the time to draw it, a title moved clear of tick labels (none
    sit on top here) or a tick every centimetre add a tenth or more each."""
    figure = Figure(figsize=size)
    figure.subplots_adjust(left=0.13, right=0.97, bottom=0.11, top=0.93)
    ax = figure.add_subplot()
    ax.set_title(title, y=1.0)
    ax.locator_params(nbins=5)
    return figure, ax


def _dimension(problem: Surface) -> int:
    return _start(problem).numel()


def _as_arrays(problem: Surface, paths: Mapping[str, PathLike]) -> dict[str, Array]:
    """Each path as a (steps + 1, dimension) array; a ValueError if a point is not the size of
    the problem's (a student's wrong shape, say), rather than a plot that makes no sense."""
    dimension = _dimension(problem)
    arrays: dict[str, Array] = {}
    for label, path in paths.items():
        rows = _points(path)
        sizes = sorted({row.size for row in rows})
        if sizes != [dimension]:
            raise ValueError(
                f"path {label!r} has points of {', '.join(map(str, sizes))} coordinates; "
                f"{problem.name} has {dimension}"
            )
        arrays[label] = np.stack(rows)
    return arrays


def plot_paths(
    problem: Surface,
    paths: Mapping[str, PathLike],
    *,
    mark: Mark | None = None,
    title: str | None = None,
) -> Figure:
    """Paths on the problem: on its contour (2-D), on its graph (1-D), as losses otherwise."""
    arrays = _as_arrays(problem, paths)
    if _dimension(problem) > 2:
        losses = {label: list(_evaluate_path(problem, points)) for label, points in arrays.items()}
        return loss_curves(losses, title=title or problem.name, mark=mark)
    figure, ax = _single_axes((6.4, 5.0), title or problem.name)
    _draw_paths(ax, problem, arrays, _view(problem, list(arrays.values())), mark)
    return figure


def side_by_side(
    problem: Surface,
    paths: Mapping[str, PathLike],
    *,
    columns: int = 3,
    title: str | None = None,
) -> Figure:
    """One panel per path on the same view of the problem, to compare optimizers at a glance."""
    if _dimension(problem) > 2:
        raise ValueError(f"{problem.name} has more than 2 coordinates: compare its loss_curves")
    arrays = _as_arrays(problem, paths)
    view = _view(problem, list(arrays.values()))
    columns = max(1, min(columns, len(arrays)))
    rows = math.ceil(len(arrays) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (label, points) in zip(axes, arrays.items(), strict=False):
        _draw_paths(ax, problem, {label: points}, view, None)
        ax.set_title(label)
    for ax in axes[len(arrays) :]:
        ax.set_visible(False)
    figure.suptitle(title or problem.name)
    return figure


def _series(run: Trajectory | Sequence[float]) -> Array:
    values = np.asarray(run.losses if isinstance(run, Trajectory) else run, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def loss_curves(
    runs: Mapping[str, Trajectory | Sequence[float]],
    *,
    log: bool | None = None,
    title: str = "loss",
    ylabel: str = "loss",
    mark: Mark | None = None,
) -> Figure:
    """Loss (or any per-step quantity) against step for several runs.

    A log scale (asked for, or by default when the values are non-negative and span more than
    two decades; zeros then sit at the bottom edge); a run that blows up is cut where it leaves
    the view, and its label says at which step.
    """
    series = {label: _series(run) for label, run in runs.items()}
    if mark is not None and mark.path not in series:
        raise KeyError(f"the mark names run {mark.path!r}, not one of {list(series)}")
    starts = [abs(v[0]) for v in series.values() if v.size and np.isfinite(v[0])]
    bound = 1e4 * max([*starts, 1e-12])
    kept = np.concatenate([v[np.abs(v) <= bound] for v in series.values()] or [np.empty(0)])
    positive = kept[kept > 0]
    loggable = positive.size > 0 and bool(np.all(kept >= 0))
    if log is None:
        log = loggable and float(positive.max()) > 100 * float(positive.min())
    figure, ax = _single_axes((6.4, 4.2), title)
    for label, values in series.items():
        beyond = np.flatnonzero(~(np.abs(values) <= bound))
        shown = values if beyond.size == 0 else values[: beyond[0] + 1]
        note = "" if beyond.size == 0 else f" (diverges at step {beyond[0]})"
        ax.plot(np.arange(shown.size), shown, lw=1.4, label=label + note)
    if mark is not None:
        step = mark.step
        value = series[mark.path][step] if step < series[mark.path].size else np.nan
        ax.plot([step], [value], "X", color="red", ms=12, ls="none", label=mark.label)
    if log and loggable:
        low, high = float(positive.min()), float(positive.max())
        ax.set_yscale("log")
        ax.set_ylim(max(low, high * 1e-16) / 2, high * 2)
    elif kept.size:
        low, high = float(kept.min()), float(kept.max())
        pad = 0.05 * max(high - low, 1e-12)
        ax.set_ylim(low - pad, high + pad)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    return figure


def schedule_curves(
    schedules: Mapping[str, Sequence[float]],
    *,
    log: bool = False,
    title: str = "learning rate",
) -> Figure:
    """Learning rate against step (counted from 0) for several schedules."""
    figure, ax = _single_axes((7.0, 4.2), title)
    for label, values in schedules.items():
        ax.plot(np.arange(len(values)), np.asarray(values, dtype=np.float64), lw=1.5, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.legend(loc="best", fontsize="small")
    return figure


def animate_path(
    problem: Surface,
    path: PathLike,
    *,
    label: str = "path",
    frames: int = 20,
    interval: int = 150,
) -> FuncAnimation:
    """The path drawn step by step on the problem; show it with `HTML(anim.to_jshtml())`.

    At most `frames` frames: long paths advance several steps per frame to stay small.
    """
    points = _as_arrays(problem, {label: path})[label]
    view = _view(problem, [points])
    points = _shown(points, view)
    figure = Figure(figsize=(4.5, 3.6), dpi=72, layout="constrained")
    ax = figure.add_subplot()
    _draw_surface(ax, problem, view)
    (line,) = ax.plot([], [], "o-", ms=3.5, lw=1.3, color="tab:red", label=label)
    ax.legend(loc="best", fontsize="small")
    ends = np.unique(np.linspace(1, points.shape[0], min(frames, points.shape[0])).astype(int))

    def draw(end: int) -> tuple[Line2D]:
        xs, ys = _coordinates(problem, points[:end])
        line.set_data(xs, ys)
        ax.set_title(f"{problem.name}: step {end - 1}")
        return (line,)

    return FuncAnimation(figure, draw, frames=list(ends), interval=interval, blit=False)


def decision_boundaries(
    models: Mapping[str, Callable[[Tensor], Tensor]],
    data: tuple[Tensor, Tensor],
    *,
    title: str = "decision boundaries",
) -> Figure:
    """One panel per trained binary classifier (a logit per row of 2-D features): the
    probability σ(logit) over the plane, its 0.5 contour, and the points coloured by label."""
    features = data[0].detach().to("cpu", torch.float64).numpy()
    labels = data[1].detach().to("cpu", torch.float64).numpy()
    lo, hi = features.min(axis=0) - 0.5, features.max(axis=0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)
    grid = torch.from_numpy(np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2))
    figure = Figure(figsize=(4.2 * len(models), 3.8), layout="constrained")
    axes = figure.subplots(1, len(models), squeeze=False)[0]
    for ax, (label, model) in zip(axes, models.items(), strict=True):
        with torch.no_grad():
            logits = model(grid.to(data[0].dtype)).to(torch.float64).reshape(GRID, GRID)
        probability = torch.sigmoid(logits).numpy()
        ax.contourf(xs, ys, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(xs, ys, probability, levels=[0.5], colors="black", linewidths=1.2)
        ax.scatter(
            features[:, 0], features[:, 1], c=labels, cmap="RdBu_r", s=14, ec="white", lw=0.5
        )
        ax.set_title(label)
    figure.suptitle(title)
    return figure


def iterate_curves(
    paths: Mapping[str, Sequence[float]], *, title: str, mark: Mark | None = None
) -> Figure:
    """A 1-D problem's paths as the iterate against the step: two paths that walk the same
    curve f(x) (one overshooting where the other creeps) stay apart here."""
    if mark is not None and mark.path not in paths:
        raise KeyError(f"the mark names path {mark.path!r}, not one of {list(paths)}")
    figure, ax = _single_axes((6.4, 4.2), title)
    for label, values in paths.items():
        shown = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(shown.size), np.where(np.isfinite(shown), shown, np.nan), "o-",
                ms=3.5, lw=1.3, label=label)  # fmt: skip
    if mark is not None and mark.step < len(paths[mark.path]):
        value = paths[mark.path][mark.step]
        ax.plot([mark.step], [value], "X", color="red", ms=12, ls="none", label=mark.label)
    ax.set_xlabel("step")
    ax.set_ylabel("x")
    ax.legend(loc="best", fontsize="small")
    return figure
