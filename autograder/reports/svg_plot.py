"""A failing case's plot for the HTML report, as a small SVG document: the reference path and
the student's on the problem's contour lines (2-D), the iterate against the step (1-D) or the
loss against the step (more coordinates), with the first divergence marked.

Written out directly rather than drawn by matplotlib: a page holds up to three plots per
failing function, and a matplotlib figure took about 80 ms to lay out, rasterise and encode, a
tenth of a submission's grading in a batch; this takes a few. What is in view (the box, the cut
where a path leaves it, the contour levels, the loss scale) comes from plot_geometry, as for the
notebooks' figures, and the browser draws the text.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import contourpy
import numpy as np

from autograder.plot_geometry import (
    Array,
    Mark,
    Surface,
    View,
    as_arrays,
    check_mark,
    contour_grid,
    describe_exit,
    dimension,
    evaluate_path,
    finite_series,
    levels,
    loss_scale,
    shown,
    view_of,
)
from autograder.reports.svg import (
    area,
    document,
    log_ticks,
    outline,
    text,
    ticks,
    x_tick,
    y_tick,
    y_title,
)

WIDTH, PATHS_HEIGHT, CURVES_HEIGHT = 460, 360, 302  # pixels: 6.4 x 5.0 and 6.4 x 4.2 inches
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 26, 40  # the margins around the plotted area
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")  # one per path, in order
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
CHAR_WIDTH = 5.6  # pixels, about, of a character at the legend's font size
FAR = 1e6  # plot sizes: coordinates farther out are pulled in before clipping


@dataclass(frozen=True)
class Series:
    """One path or curve: its points in data coordinates (nan breaks the line)."""

    label: str
    xs: Array
    ys: Array
    color: str
    dots: bool = True


@dataclass(frozen=True)
class Marker:
    """A single highlighted point: the known minimum (a star) or the first divergence (an X)."""

    label: str
    x: float
    y: float
    star: bool


@dataclass(frozen=True)
class Chart:
    """Everything one plot shows, in data coordinates."""

    title: str
    labels: tuple[str, str]  # the x and y axes'
    x_limits: tuple[float, float]
    y_limits: tuple[float, float]
    height: int
    series: list[Series]
    markers: list[Marker] = field(default_factory=list)
    contours: list[tuple[str, list[Array]]] = field(default_factory=list)  # colour, lines
    log_y: bool = False


def paths_svg(
    problem: Surface, paths: Mapping[str, Array], *, title: str, mark: Mark | None
) -> str:
    """Paths on a 2-D problem's contour lines, or their losses where it has more coordinates;
    a ValueError for points not the problem's size, a KeyError for a mark on no path."""
    arrays = as_arrays(problem, paths)
    check_mark(mark, arrays)
    if dimension(problem) > 2:
        return _losses(problem, arrays, title, mark)
    view = view_of(problem, list(arrays.values()))
    series = []
    for color, (label, points) in zip(itertools.cycle(COLORS), arrays.items()):
        drawn = _to_border(shown(points, view), view)
        series.append(Series(describe_exit(label, points, view), drawn[:, 0], drawn[:, 1], color))
    markers = []
    if problem.minimum is not None:
        at = np.asarray(problem.minimum, dtype=np.float64).reshape(-1)
        markers.append(Marker("minimum", float(at[0]), float(at[1]), star=True))
    if mark is not None and mark.step < len(arrays[mark.path]):
        x, y = arrays[mark.path][mark.step]
        markers.append(Marker(mark.label, float(x), float(y), star=False))
    chart = Chart(
        title, ("x1", "x2"), (view.lo[0], view.hi[0]), (view.lo[1], view.hi[1]), PATHS_HEIGHT,
        series, markers, _contours(problem, view),
    )  # fmt: skip
    return render(chart)


def iterate_svg(paths: Mapping[str, Sequence[float]], *, title: str, mark: Mark | None) -> str:
    """A 1-D problem's paths as the iterate against the step."""
    check_mark(mark, paths)
    series = [
        _against_step(label, finite_series(values), color)
        for color, (label, values) in zip(itertools.cycle(COLORS), paths.items())
    ]
    finite = np.concatenate([s.ys[np.isfinite(s.ys)] for s in series] or [np.empty(0)])
    markers = _divergence(mark, {label: finite_series(v) for label, v in paths.items()})
    limits = _padded(finite) if finite.size else (0.0, 1.0)
    chart = Chart(title, ("step", "x"), _steps(series), limits, CURVES_HEIGHT, series, markers)
    return render(chart)


def _losses(problem: Surface, arrays: Mapping[str, Array], title: str, mark: Mark | None) -> str:
    series = {label: evaluate_path(problem, points) for label, points in arrays.items()}
    curves, scale = loss_scale(series)
    drawn = [
        _against_step(curve.label, curve.values, color, dots=False)
        for color, curve in zip(itertools.cycle(COLORS), curves)
    ]
    limits = (0.0, 1.0) if scale.limits is None else scale.limits
    chart = Chart(
        title, ("step", "loss"), _steps(drawn), limits, CURVES_HEIGHT, drawn,
        _divergence(mark, series), log_y=scale.log,
    )  # fmt: skip
    return render(chart)


def _against_step(label: str, values: Array, color: str, *, dots: bool = True) -> Series:
    return Series(label, np.arange(values.size, dtype=np.float64), values, color, dots)


def _divergence(mark: Mark | None, series: Mapping[str, Array]) -> list[Marker]:
    """The mark on its run at its step (drawn where that value is finite, named either way)."""
    if mark is None or mark.step >= series[mark.path].size:
        return []
    return [Marker(mark.label, mark.step, float(series[mark.path][mark.step]), star=False)]


def _steps(series: Sequence[Series]) -> tuple[float, float]:
    last = max([s.xs.size - 1 for s in series] + [1])
    return -0.05 * last, 1.05 * last


def _padded(values: Array) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.05 * max(high - low, 1e-12)
    return low - pad, high + pad


def _to_border(points: Array, view: View) -> Array:
    """A shown path whose last point lies past the view ends where it crosses the border, so
    that no far-away coordinate is written out."""
    if len(points) < 2 or view.first_exit(points[-1:]) is None:
        return points
    inside, outside = points[-2], points[-1]
    if not np.all(np.isfinite(outside)):
        return points[:-1]
    step = outside - inside
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(step > 0, (view.hi - inside) / step, (view.lo - inside) / step)
    fraction = float(np.nanmin(np.where(step == 0, np.inf, room)))
    return np.vstack([points[:-1], inside + step * min(max(fraction, 0.0), 1.0)])


def _contours(problem: Surface, view: View) -> list[tuple[str, list[Array]]]:
    grid_x, grid_y, values = contour_grid(problem, view)
    drawn = levels(values[np.isfinite(values)])
    if drawn.size < 2:
        return []
    generator = contourpy.contour_generator(
        grid_x, grid_y, np.ma.masked_invalid(values), line_type=contourpy.LineType.Separate
    )
    shades = np.linspace(0.0, 1.0, drawn.size)
    lines = [cast(list[Array], generator.lines(level)) for level in drawn]
    return [(_viridis(t), drawn_lines) for t, drawn_lines in zip(shades, lines, strict=True)]


def _viridis(t: float) -> str:
    """matplotlib's viridis at t in [0, 1], from five of its colours."""
    position = t * (len(VIRIDIS) - 1)
    low = min(int(position), len(VIRIDIS) - 2)
    a, b, weight = VIRIDIS[low], VIRIDIS[low + 1], position - low
    return "#" + "".join(f"{round(x + (y - x) * weight):02x}" for x, y in zip(a, b, strict=True))


# --- drawing ------------------------------------------------------------------------------


class _Frame:
    """From data coordinates to pixels of the plotted area (y grows downwards)."""

    def __init__(self, chart: Chart) -> None:
        self.left, self.right = LEFT, WIDTH - RIGHT
        self.top, self.bottom = TOP, chart.height - BOTTOM
        self.log = chart.log_y
        self.x_limits = _widened(chart.x_limits)
        self.y_limits = _widened(tuple(map(self._y, chart.y_limits)))

    def _y(self, value: float) -> float:
        if not self.log:
            return value
        return math.log10(value) if value > 0 else -math.inf

    def pixels(self, xs: Array, ys: Array) -> tuple[Array, Array]:
        with np.errstate(all="ignore"):
            if self.log:  # zeros and below sit at the bottom edge
                ys = np.where(ys > 0, np.log10(np.where(ys > 0, ys, 1.0)), self.y_limits[0])
            px = self.left + (xs - self.x_limits[0]) / _span(self.x_limits) * self.width
            py = self.bottom - (ys - self.y_limits[0]) / _span(self.y_limits) * self.height
        return np.clip(px, -FAR, FAR), np.clip(py, -FAR, FAR)

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def inside(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom


def _span(limits: tuple[float, float]) -> float:
    return limits[1] - limits[0]


def _widened(limits: tuple[float, ...]) -> tuple[float, float]:
    """Limits with room between them, whatever came in (one value, or non-finite or extreme
    ones: past 1e300 the span between them would overflow)."""
    low, high = (min(max(float(v), -1e300), 1e300) if math.isfinite(v) else 0.0 for v in limits)
    if high - low <= 1e-9 * max(abs(low), abs(high), 1.0):
        pad = max(abs(low) * 0.05, 0.5)
        return low - pad, high + pad
    return low, high


def render(chart: Chart) -> str:
    """The chart as an SVG document of its own (ids need not be unique across a page)."""
    frame = _Frame(chart)
    inner = [_polyline(xs, ys, color, 0.8, 0.7) for color, lines in chart.contours
             for xs, ys in (frame.pixels(line[:, 0], line[:, 1]) for line in lines)]  # fmt: skip
    for series in chart.series:
        inner += _series(frame, series)
    inner += [_marker(frame, marker) for marker in chart.markers]
    edges = (frame.left, frame.top, frame.right, frame.bottom)
    return document(
        WIDTH,
        chart.height,
        f'<clipPath id="area"><rect {area(*edges)}/></clipPath>'
        f'<g clip-path="url(#area)" fill="none">{"".join(inner)}</g>'
        f"{outline(*edges)}{_axes(frame, chart)}{_legend(frame, chart)}",
    )


def _polyline(xs: Array, ys: Array, color: str, width: float, opacity: float = 1.0) -> str:
    """One polyline per unbroken run of finite points."""
    lines = []
    finite = (np.isfinite(xs) & np.isfinite(ys)).tolist()
    across, up = xs.tolist(), ys.tolist()  # Python floats: formatted far faster than numpy's
    for keep, run in itertools.groupby(range(len(across)), key=finite.__getitem__):
        indices = list(run)
        if keep and len(indices) > 1:
            points = " ".join(f"{across[i]:.1f},{up[i]:.1f}" for i in indices)
            lines.append(
                f'<polyline points="{points}" stroke="{color}" stroke-width="{width}" '
                f'stroke-opacity="{opacity}"/>'
            )
    return "".join(lines)


def _series(frame: _Frame, series: Series) -> list[str]:
    xs, ys = frame.pixels(series.xs, series.ys)
    parts = [_polyline(xs, ys, series.color, 1.4)]
    if series.dots:
        dots = [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2"/>'
            for x, y in zip(xs, ys, strict=True)
            if math.isfinite(x) and math.isfinite(y) and frame.inside(x, y)
        ]
        parts.append(f'<g fill="{series.color}">{"".join(dots)}</g>')
    return parts


def _marker(frame: _Frame, marker: Marker) -> str:
    """The marker's symbol; none for a mark on a NaN or infinite value (the legend names it)."""
    (x,), (y,) = frame.pixels(np.array([marker.x]), np.array([marker.y]))
    return _symbol(x, y, marker.star) if math.isfinite(x) and math.isfinite(y) else ""


def _symbol(x: float, y: float, star: bool) -> str:
    """A black star (the minimum) or a red X on white (the divergence) centred on x, y."""
    if star:
        corners = [
            (x + r * math.sin(k * math.pi / 5), y - r * math.cos(k * math.pi / 5))
            for k, r in zip(range(10), itertools.cycle((7.0, 2.8)), strict=False)
        ]
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in corners)
        return f'<polygon points="{points}" fill="black"/>'
    cross = f"M{x - 5:.1f},{y - 5:.1f}l10,10m-10,0l10,-10"
    return (
        f'<path d="{cross}" stroke="white" stroke-width="5.5"/>'
        f'<path d="{cross}" stroke="red" stroke-width="3"/>'
    )


def _axes(frame: _Frame, chart: Chart) -> str:
    parts = []
    for value, label in ticks(*frame.x_limits):
        (x,), _ = frame.pixels(np.array([value]), np.array([frame.y_limits[0]]))
        parts.append(x_tick(x, frame.bottom, label))
    y_ticks = log_ticks(*frame.y_limits) if frame.log else ticks(*frame.y_limits)
    for value, label in y_ticks:
        y = frame.bottom - (value - frame.y_limits[0]) / _span(frame.y_limits) * frame.height
        parts.append(y_tick(frame.left, y, label))
    middle_x, middle_y = (frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2
    x_label, y_label = chart.labels
    parts.append(text(middle_x, chart.height - 8, x_label))
    parts.append(y_title(middle_y, y_label))
    parts.append(text(middle_x, TOP - 9, chart.title, extra=' font-size="12"'))
    return "".join(parts)


def _legend(frame: _Frame, chart: Chart) -> str:
    """A box of the labels, in the corner of the plot that covers the fewest drawn points."""
    entries: list[tuple[str, str]] = [
        (m.label, _symbol(0, 0, m.star)) for m in chart.markers if m.star
    ]
    entries += [(s.label, _legend_line(s)) for s in chart.series]
    entries += [(m.label, _symbol(0, 0, m.star)) for m in chart.markers if not m.star]
    width = 34 + CHAR_WIDTH * max((len(label) for label, _ in entries), default=0)
    height = 15 * len(entries) + 6
    x, y = _corner(frame, chart, width, height)
    rows = [
        f'<g transform="translate({x + 15:.1f} {y + 11 + 15 * row:.1f})">{sample}</g>'
        + text(x + 30, y + 14.5 + 15 * row, label, "start")
        for row, (label, sample) in enumerate(entries)
    ]
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height}" fill="white" '
        f'fill-opacity="0.8" stroke="#ccc"/>{"".join(rows)}'
    )


def _legend_line(series: Series) -> str:
    dot = f'<circle r="2" fill="{series.color}"/>' if series.dots else ""
    return f'<path d="M-10,0h20" stroke="{series.color}" stroke-width="1.4"/>{dot}'


def _corner(frame: _Frame, chart: Chart, width: float, height: float) -> tuple[float, float]:
    """Upper right, upper left, lower left or lower right: the first that covers the fewest
    points of the paths and markers."""
    drawn = [(s.xs, s.ys) for s in chart.series]
    drawn += [(np.array([m.x]), np.array([m.y])) for m in chart.markers]
    pixels = [frame.pixels(xs, ys) for xs, ys in drawn]
    all_x = np.concatenate([px for px, _ in pixels] or [np.empty(0)])
    all_y = np.concatenate([py for _, py in pixels] or [np.empty(0)])
    margin = 6
    corners = [
        (frame.right - margin - width, frame.top + margin),
        (frame.left + margin, frame.top + margin),
        (frame.left + margin, frame.bottom - margin - height),
        (frame.right - margin - width, frame.bottom - margin - height),
    ]

    def covered(corner: tuple[float, float]) -> int:
        x, y = corner
        inside = (all_x >= x) & (all_x <= x + width) & (all_y >= y) & (all_y <= y + height)
        return int(np.count_nonzero(inside))

    return min(corners, key=covered)
