"""Figures for the notebooks: problems, paths, losses and schedules (the HTML report draws
the same views as SVG, reports/svg_plot.py).

Every helper builds its own `Figure` rather than using pyplot's global state, so it works under
any backend, shows in a notebook as a cell's value, saves to PNG, and leaves nothing open
behind it. Paths that diverge (to inf, nan or far away) are drawn up to where they
leave the view, and their label says at which step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from torch import Tensor

from autograder.plot_geometry import (
    GRID,
    Array,
    Mark,
    PathLike,
    Surface,
    View,
    as_arrays,
    check_mark,
    contour_grid,
    coordinates,
    describe_exit,
    dimension,
    evaluate,
    evaluate_path,
    finite_series,
    levels,
    loss_scale,
    shown,
    view_of,
)
from autograder.trajectory import Trajectory

__all__ = [
    "Mark",
    "animate_path",
    "decision_boundaries",
    "iterate_curves",
    "loss_curves",
    "plot_paths",
    "schedule_curves",
    "side_by_side",
]


def _draw_surface(ax: Axes, problem: Surface, view: View) -> None:
    """Contour lines (2-D) or the graph of f (1-D) over the view, and the minimum if known."""
    if view.lo.size == 1:
        xs = np.linspace(view.lo[0], view.hi[0], GRID * 4)
        values = evaluate(problem, xs[:, None])
        ax.plot(xs, values, color="0.3", lw=1.2, label="f")
        finite = values[np.isfinite(values)]
        if finite.size:
            pad = 0.06 * max(float(finite.max() - finite.min()), 1e-9)
            ax.set_ylim(float(finite.min()) - pad, float(finite.max()) + pad)
        ax.set_xlim(view.lo[0], view.hi[0])
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
    else:
        grid_x, grid_y, values = contour_grid(problem, view)
        drawn = levels(values[np.isfinite(values)])
        if drawn.size >= 2:
            ax.contour(
                grid_x, grid_y, values, levels=drawn, cmap="viridis", linewidths=0.8, alpha=0.7
            )
        ax.set_xlim(view.lo[0], view.hi[0])
        ax.set_ylim(view.lo[1], view.hi[1])
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    if problem.minimum is not None:
        at = np.asarray(problem.minimum, dtype=np.float64).reshape(-1)
        y = evaluate(problem, at[None, :])[0] if at.size == 1 else at[1]
        ax.plot([at[0]], [y], "*", color="black", ms=13, ls="none", label="minimum")


def _draw_paths(
    ax: Axes, problem: Surface, paths: Mapping[str, Array], view: View, mark: Mark | None
) -> None:
    """The surface, each path (labelled, with its exit step), the marked step and a legend."""
    _draw_surface(ax, problem, view)
    for label, points in paths.items():
        xs, ys = coordinates(problem, shown(points, view))
        ax.plot(xs, ys, "o-", ms=3.5, lw=1.3, label=describe_exit(label, points, view))
    check_mark(mark, paths)
    if mark is not None:
        points = paths[mark.path][mark.step : mark.step + 1]
        xs, ys = coordinates(problem, points)
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


def plot_paths(
    problem: Surface,
    paths: Mapping[str, PathLike],
    *,
    mark: Mark | None = None,
    title: str | None = None,
) -> Figure:
    """Paths on the problem: on its contour (2-D), on its graph (1-D), as losses otherwise."""
    arrays = as_arrays(problem, paths)
    if dimension(problem) > 2:
        losses = {label: list(evaluate_path(problem, points)) for label, points in arrays.items()}
        return loss_curves(losses, title=title or problem.name, mark=mark)
    figure, ax = _single_axes((6.4, 5.0), title or problem.name)
    _draw_paths(ax, problem, arrays, view_of(problem, list(arrays.values())), mark)
    return figure


def side_by_side(
    problem: Surface,
    paths: Mapping[str, PathLike],
    *,
    columns: int = 3,
    title: str | None = None,
) -> Figure:
    """One panel per path on the same view of the problem, to compare optimizers at a glance."""
    if dimension(problem) > 2:
        raise ValueError(f"{problem.name} has more than 2 coordinates: compare its loss_curves")
    arrays = as_arrays(problem, paths)
    view = view_of(problem, list(arrays.values()))
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
    series = {
        label: finite_series(run.losses if isinstance(run, Trajectory) else run)
        for label, run in runs.items()
    }
    check_mark(mark, series)
    curves, scale = loss_scale(series, log)
    figure, ax = _single_axes((6.4, 4.2), title)
    for curve in curves:
        ax.plot(np.arange(curve.values.size), curve.values, lw=1.4, label=curve.label)
    if mark is not None:
        step = mark.step
        value = series[mark.path][step] if step < series[mark.path].size else np.nan
        ax.plot([step], [value], "X", color="red", ms=12, ls="none", label=mark.label)
    if scale.log:
        ax.set_yscale("log")
    if scale.limits is not None:
        ax.set_ylim(*scale.limits)
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
    points = as_arrays(problem, {label: path})[label]
    view = view_of(problem, [points])
    points = shown(points, view)
    figure = Figure(figsize=(4.5, 3.6), dpi=72, layout="constrained")
    ax = figure.add_subplot()
    _draw_surface(ax, problem, view)
    (line,) = ax.plot([], [], "o-", ms=3.5, lw=1.3, color="tab:red", label=label)
    ax.legend(loc="best", fontsize="small")
    ends = np.unique(np.linspace(1, points.shape[0], min(frames, points.shape[0])).astype(int))

    def draw(end: int) -> tuple[Line2D]:
        xs, ys = coordinates(problem, points[:end])
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
    check_mark(mark, paths)
    figure, ax = _single_axes((6.4, 4.2), title)
    for label, values in paths.items():
        ax.plot(np.arange(len(values)), finite_series(values), "o-", ms=3.5, lw=1.3, label=label)
    if mark is not None and mark.step < len(paths[mark.path]):
        value = paths[mark.path][mark.step]
        ax.plot([mark.step], [value], "X", color="red", ms=12, ls="none", label=mark.label)
    ax.set_xlabel("step")
    ax.set_ylabel("x")
    ax.legend(loc="best", fontsize="small")
    return figure
