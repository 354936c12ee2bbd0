"""The class report's two charts as SVG: the histogram of the scores, and per function the
students of each diagnosed bug as horizontal bars, the most common on top."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autograder.reports.svg import document, outline, text, ticks, x_tick, y_tick, y_title

WIDTH = 512
BAR_COLOR, HISTOGRAM_COLOR = "#a11", "#1f77b4"
CHAR_WIDTH = 5.6  # pixels, about, of a character at the charts' font size
ROW = 22  # pixels per bar of the bar chart


def histogram_svg(scores: Sequence[float], top: float, bins: int, label: str) -> str:
    """How many scores fall in each of `bins` equal bins from 0 to `top`."""
    counts, edges = np.histogram(scores, bins=bins, range=(0.0, max(top, 1e-9)))
    left, right, plot_top, bottom, height = 50, WIDTH - 14, 12, 216, 256
    most = max(int(counts.max()), 1)
    room = most * 1.05  # the tallest bar stops short of the frame

    def x(value: float) -> float:
        return left + value / edges[-1] * (right - left)

    def y(count: float) -> float:
        return bottom - count / room * (bottom - plot_top)

    parts = [
        f'<rect x="{x(a):.1f}" y="{y(n):.1f}" width="{x(b) - x(a):.1f}" '
        f'height="{bottom - y(n):.1f}" fill="{HISTOGRAM_COLOR}" stroke="white"/>'
        for a, b, n in zip(edges[:-1], edges[1:], counts, strict=True)
        if n
    ]
    parts += [x_tick(x(value), bottom, shown) for value, shown in ticks(0.0, float(edges[-1]))]
    parts += [y_tick(left, y(tick), shown) for tick, shown in ticks(0.0, most, whole=True)]
    parts.append(outline(left, plot_top, right, bottom))
    parts.append(text((left + right) / 2, height - 8, label))
    parts.append(y_title((plot_top + bottom) / 2, "students"))
    return document(WIDTH, height, "".join(parts))


def bar_chart_svg(title: str, bars: Sequence[tuple[str, int]]) -> str:
    """One labelled horizontal bar per (label, students), in the order given, top down."""
    left = 16 + CHAR_WIDTH * max((len(label) for label, _ in bars), default=0)
    right, plot_top = WIDTH - 14, 28
    bottom = plot_top + ROW * len(bars)
    most = max([count for _, count in bars] + [1])

    def x(count: float) -> float:
        return left + count / most * (right - left)

    parts = [text((left + right) / 2, 16, title, extra=' font-size="12"')]
    for row, (label, count) in enumerate(bars):
        top = plot_top + ROW * row + 4
        parts.append(
            f'<rect x="{left:.1f}" y="{top}" width="{x(count) - left:.1f}" height="{ROW - 8}" '
            f'fill="{BAR_COLOR}"/>'
        )
        parts.append(text(left - 6, top + ROW / 2, label, "end"))
    parts += [x_tick(x(tick), bottom, shown) for tick, shown in ticks(0.0, most, whole=True)]
    parts.append(outline(left, plot_top, right, bottom))
    parts.append(text((left + right) / 2, bottom + 32, "students"))
    return document(WIDTH, bottom + 40, "".join(parts))
