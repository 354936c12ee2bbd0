"""One self-contained HTML page per student: the score table, then each function's failing
cases with their messages and, for the first few that can be drawn, the problem's contour (or
curve) with the reference path, the student's path and the first divergence, as inline SVG.

Nothing is fetched from elsewhere (no external CSS, script, font or image) and every string
from the grading run is escaped: messages quote student exceptions.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from autograder.reports.scores import failures, shown_scores, status_word
from autograder.results import CaseResult, FunctionResult, GradeReport, Plot

if TYPE_CHECKING:
    from autograder.plot_geometry import Mark

STATUS_WORDS = {
    "diverged": "wrong values",
    "modified_input": "changed its input in place",
    "not_implemented": "not written yet",
    "missing_function": "function missing",
    "wrong_signature": "wrong signature",
    "raised": "raised an exception",
    "bad_return": "returned the wrong thing",
    "timeout": "too slow to finish",
    "host_sync": "reads values back to the CPU",
    "wrong_device": "tensor on the wrong device",
    "slow": "loops over elements",
    "delegated": "calls a library optimizer",
    "missing_error": "accepts invalid hyperparameters",
}
MAX_PLOTS_PER_FUNCTION = 3
MAX_CASES_PER_FUNCTION = 10
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
    from autograder.plot_geometry import Mark

    step = plot.divergence_step
    for label in (STUDENT, REFERENCE):
        if step is not None and step < len(paths.get(label, ())):
            return Mark(label, step, f"first divergence (step {step})")
    return None


def plot_svg(plot: Plot, visible: bool) -> str | None:
    """The case's paths as an SVG document: on the problem's contours in 2-D, as the iterate
    against the step in 1-D, as losses with more coordinates; None where they cannot be drawn
    (an unknown problem, points of the wrong size for it)."""
    # Imported here, where a page is drawn, so that the other formats never load them.
    import numpy as np

    from autograder.problems import problem as find_problem
    from autograder.reports.svg_plot import iterate_svg, paths_svg

    paths = _paths(plot, visible)
    mark = _mark(plot, paths)
    try:
        drawn_on = find_problem(plot.problem)
        if all(len(point) == 1 for points in paths.values() for point in points):
            steps = {label: [point[0] for point in points] for label, points in paths.items()}
            return iterate_svg(steps, title=plot.problem, mark=mark)
        arrays = {k: np.asarray(v, dtype=np.float64) for k, v in paths.items()}
        return paths_svg(drawn_on, arrays, mark=mark, title=plot.problem)
    except (KeyError, ValueError):
        return None


def _image(check: CaseResult) -> str:
    """The case's plot as an <img> with the SVG inline, or '' when there is none."""
    svg = None if check.plot is None else plot_svg(check.plot, check.visible)
    if svg is None or check.plot is None:
        return ""
    step = check.plot.divergence_step
    drawn = "the reference path and yours"
    if all(len(point) == 1 for point in check.plot.expected):
        drawn = "the reference's iterate and yours against the step"
    alt = f"{check.plot.problem}: {drawn}" + (
        "" if step is None else f", first divergence at step {step}"
    )
    data = base64.b64encode(svg.encode()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/svg+xml;base64,{data}">'


def _case(group: list[CaseResult], image: str) -> str:
    """One box for the cases that failed with the same message: the first named, the others
    counted (their names follow in small print)."""
    check = group[0]
    label = STATUS_WORDS.get(check.status, check.status.replace("_", " "))
    label += "" if check.visible else ", hidden case"
    others = ""
    if len(group) > 1:
        names = ", ".join(c.name for c in group[1:])
        others = f"<p><small>The same in {len(group) - 1} more: {_e(names)}</small></p>"
    return (
        f'<div class="case"><p><span class="kind">{_e(label)}</span> '
        f"<code>{_e(check.name)}</code></p><p>{_e(check.message)}</p>{others}{image}</div>"
    )


def _hidden(result: FunctionResult, check: CaseResult) -> str:
    """A hidden case as a student sees it: its number among the function's hidden cases."""
    number = [c for c in result.checks if not c.visible].index(check) + 1
    return f'<div class="case"><p>hidden case {number} of {_e(result.function)}: failed</p></div>'


def _function_section(
    result: FunctionResult, errors: tuple[str, ...], for_student: bool = False
) -> str:
    """The failing cases of one function, those with the same message in one box, the first
    few with plots drawn, then a count; a student's page names no hidden case's values."""
    failing = failures(result, errors)
    if not failing:
        return ""
    parts = [f"<h2>{_e(result.function)}: {len(failing)} of {len(result.checks)} cases fail</h2>"]
    shown = [c for c in failing if c.visible or not for_student]
    groups: dict[tuple[str, str, bool], list[CaseResult]] = {}
    for check in shown:
        groups.setdefault((check.status, check.message, check.visible), []).append(check)
    drawn = 0
    for group in list(groups.values())[:MAX_CASES_PER_FUNCTION]:
        image = _image(group[0]) if drawn < MAX_PLOTS_PER_FUNCTION else ""
        drawn += bool(image)
        parts.append(_case(group, image))
    if len(groups) > MAX_CASES_PER_FUNCTION:
        more = len(groups) - MAX_CASES_PER_FUNCTION
        parts.append(f"<p>... and {more} more kinds of failure.</p>")
    if for_student:
        parts += [_hidden(result, c) for c in failing if not c.visible]
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


def render_html(report: GradeReport, *, for_student: bool = False) -> str:
    """The page, with its style inline; `for_student` shows hidden cases only by number."""
    title = f"{report.assignment}: {shown_scores(report).total}"
    body = [f"<h1>{_e(title)}</h1>", f"<p>Submission: <code>{_e(report.submission)}</code></p>"]
    if report.errors:
        errors = "".join(f"<p>{_e(error)}</p>" for error in report.errors)
        body.append(f'<div class="errors"><strong>Could not grade</strong>{errors}</div>')
    body.append(_score_table(report))
    body += [_function_section(r, report.errors, for_student) for r in report.functions]
    skipped = [c for r in report.functions for c in r.skipped]
    if skipped:
        functions = sorted({c.function for c in skipped})
        body.append(
            f"<h2>Not run on this machine: needs CUDA</h2><p>{len(skipped)} GPU cases of "
            f"{_e(', '.join(functions))} were not run here and count for nothing.</p>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
