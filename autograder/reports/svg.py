"""The SVG the reports write out by hand: a document, its text and the round values of an
axis. Plots and charts are a few lines and boxes; written directly they cost a millisecond or
two where a plotting library takes tens, and the browser draws the text."""

from __future__ import annotations

import html
import math


def document(width: int, height: float, body: str) -> str:
    """A standalone SVG document on a white ground (it may sit in an <img>: ids stay local)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:g}" '
        f'viewBox="0 0 {width} {height:g}" font-family="sans-serif" font-size="10">'
        f'<rect width="100%" height="100%" fill="white"/>{body}</svg>'
    )


def text(x: float, y: float, words: str, anchor: str = "middle", extra: str = "") -> str:
    """`words`, escaped, at x, y (`anchor`: start, middle or end); `extra`: more attributes."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{html.escape(words)}</text>'
    )


def x_tick(x: float, bottom: float, label: str) -> str:
    """A tick at `x` on the bottom edge of the plotted area, its label below it."""
    return f'<path d="M{x:.1f},{bottom:g}v4" stroke="black"/>' + text(x, bottom + 14, label)


def y_tick(left: float, y: float, label: str) -> str:
    """A tick at `y` on the left edge of the plotted area, its label beside it."""
    mark = f'<path d="M{left:g},{y:.1f}h-4" stroke="black"/>'
    return mark + text(left - 6, y + 3.5, label, "end")


def y_title(y: float, words: str) -> str:
    """The y axis's name, read upwards along the left edge of the image."""
    return text(14, y, words, extra=f' transform="rotate(-90 14 {y:.1f})"')


def area(left: float, top: float, right: float, bottom: float) -> str:
    """The attributes of a rectangle from its edges."""
    return f'x="{left:g}" y="{top:g}" width="{right - left:g}" height="{bottom - top:g}"'


def outline(left: float, top: float, right: float, bottom: float) -> str:
    """The outline of the plotted area."""
    box = area(left, top, right, bottom)
    return f'<rect {box} fill="none" stroke="black" stroke-width="0.8"/>'


def ticks(low: float, high: float, *, whole: bool = False) -> list[tuple[float, str]]:
    """About five round values between low and high (1, 2, 2.5 or 5 times a power of ten
    apart), each labelled with the decimals that step needs, in scientific notation where the
    values are very large or very small; `whole`: only the whole numbers among them (counts)."""
    if whole:
        return [(v, f"{v:.0f}") for v, _ in ticks(low, high) if v == round(v)]
    raw = (high - low) / 5
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    extra = int(step / magnitude == 2.5)  # a digit more for 2.5, 7.5
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    values = [0.0 if k == 0 else k * step for k in range(first, last + 1)]
    largest = max(abs(low), abs(high))
    if largest >= 1e6 or largest < 1e-3:
        digits = math.floor(math.log10(largest)) - math.floor(math.log10(step)) + extra
        return [(value, f"{value:.{digits}e}" if value else "0") for value in values]
    decimals = max(0, -math.floor(math.log10(step)) + extra)
    return [(value, f"{value:.{decimals}f}") for value in values]


def log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Powers of ten between 10**low and 10**high (log10 values), at most about six."""
    first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    every = max(1, math.ceil((last - first + 1) / 6))
    return [(float(k), f"1e{k}") for k in range(first, last + 1, every)]
