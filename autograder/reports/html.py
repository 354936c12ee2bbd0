"""One self-contained HTML page per student: the score table, then each function's failing
cases with their messages and, for the first few that can be drawn, the problem's contour (or
curve) with the reference path, the student's path and the first divergence, as inline PNGs.

Nothing is fetched from elsewhere (no external CSS, script, font or image) and every string
from the grading run is escaped: messages quote student exceptions.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from autograder.reports.scores import (
    failure_label,
    failures,
    shown_scores,
    skipped_note,
    status_word,
)
from autograder.results import CaseResult, FunctionResult, GradeReport, Plot

if TYPE_CHECKING:
    from autograder.plotting import Mark

MAX_PLOTS_PER_FUNCTION = 3
MAX_CASES_PER_FUNCTION = 10
PLOT_DPI = 72
REFERENCE, STUDENT = "reference", "your code"
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left;
         vertical-align: top; }
td.score { text-align: right; white-space: nowrap; }
.passed { color: #17632a; } .failed { color: #a11; } .partial { color: #8a5a00; }
.case { margin: 1rem 0; padding: .6rem .8rem; background: #f6f6f6; border-radius: 4px; }
.kind { font-weight: 600; color: #a11; } img { max-width: 100%; display: block; }
.errors { background: #fde8e8; padding: .6rem .8rem; border-radius: 4px; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _paths(plot: Plot, visible: bool) -> dict[str, tuple[tuple[float, ...], ...]]:
    """The reference path (a hidden case's only up to the divergence) and the student's."""
    expected = plot.expected
    if not visible and plot.divergence_step is not None:
        expected = expected[: plot.divergence_step + 1]
    paths = {REFERENCE: expected, STUDENT: plot.got}
    return {label: points for label, points in paths.items() if points}


def _mark(plot: Plot, paths: dict[str, tuple[tuple[float, ...], ...]]) -> Mark | None:
    """The first divergence, on the student's path, or on the reference's where the
    student's stops before it; None when neither reaches it."""
    from autograder.plotting import Mark

    step = plot.divergence_step
    for label in (STUDENT, REFERENCE):
        if step is not None and step < len(paths.get(label, ())):
            return Mark(label, step, f"first divergence (step {step})")
    return None


def plot_png(plot: Plot, visible: bool) -> bytes | None:
    """The case's paths on its problem as a PNG; None where they cannot be drawn (an unknown
    problem, or points of the wrong size for it)."""
    # Imported here, where a page is drawn, so that the other formats never load matplotlib.
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from autograder.plotting import plot_paths
    from autograder.problems import problem as find_problem

    paths = _paths(plot, visible)
    arrays = {k: [np.asarray(p, dtype=np.float64) for p in v] for k, v in paths.items()}
    try:
        figure = plot_paths(
            find_problem(plot.problem), arrays, mark=_mark(plot, paths), title=plot.problem
        )
    except (KeyError, ValueError):
        return None
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PLOT_DPI)
    return buffer.getvalue()


def _image(check: CaseResult) -> str:
    """The case's plot as an <img> with the PNG inline, or '' when there is none."""
    png = None if check.plot is None else plot_png(check.plot, check.visible)
    if png is None or check.plot is None:
        return ""
    step = check.plot.divergence_step
    alt = f"{check.plot.problem}: the reference path and yours" + (
        "" if step is None else f", first divergence at step {step}"
    )
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _case(check: CaseResult, image: str) -> str:
    return (
        f'<div class="case"><p><span class="kind">{_e(failure_label(check))}</span> '
        f"<code>{_e(check.name)}</code></p><p>{_e(check.message)}</p>{image}</div>"
    )


def _function_section(result: FunctionResult, errors: tuple[str, ...]) -> str:
    """The failing cases of one function: the first few with plots drawn, then a count."""
    failing = failures(result, errors)
    if not failing:
        return ""
    parts = [f"<h2>{_e(result.function)}: {len(failing)} of {len(result.checks)} cases fail</h2>"]
    drawn = 0
    for check in failing[:MAX_CASES_PER_FUNCTION]:
        image = _image(check) if drawn < MAX_PLOTS_PER_FUNCTION else ""
        drawn += bool(image)
        parts.append(_case(check, image))
    if len(failing) > MAX_CASES_PER_FUNCTION:
        parts.append(f"<p>... and {len(failing) - MAX_CASES_PER_FUNCTION} more failing cases.</p>")
    return f"<section>{''.join(parts)}</section>"


def _score_table(report: GradeReport) -> str:
    rows = []
    for result, shown in zip(report.functions, shown_scores(report).functions, strict=True):
        word = status_word(result)
        rows.append(
            f"<tr><td><code>{_e(result.function)}</code></td>"
            f'<td class="score">{_e(str(shown))}</td><td class="{word}">{word}</td>'
            f"<td>{_e(result.headline)}</td></tr>"
        )
    header = "<tr><th>function</th><th>score</th><th>status</th><th>summary</th></tr>"
    return f"<table>{header}{''.join(rows)}</table>"


def render_html(report: GradeReport) -> str:
    """The page, with its style inline."""
    title = f"{report.assignment}: {shown_scores(report).total}"
    body = [f"<h1>{_e(title)}</h1>", f"<p>Submission: <code>{_e(report.submission)}</code></p>"]
    if report.errors:
        errors = "".join(f"<p>{_e(error)}</p>" for error in report.errors)
        body.append(f'<div class="errors"><strong>Could not grade</strong>{errors}</div>')
    body.append(_score_table(report))
    body += [_function_section(result, report.errors) for result in report.functions]
    notes = [note for note in map(skipped_note, report.functions) if note is not None]
    if notes:
        body.append("<h2>Skipped, not counted</h2>" + "".join(f"<p>{_e(n)}</p>" for n in notes))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
