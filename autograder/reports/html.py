"""One self-contained HTML page per student: the score table, and for failing cases the
message and, where the problem can be drawn, its contour with both paths and the divergence."""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from autograder.plotting import Mark, plot_paths
from autograder.problems import problem as find_problem
from autograder.reports.scores import shown, status_word
from autograder.results import CheckResult, GradeReport, Plot

MAX_PLOTS_PER_FUNCTION = 3
MAX_CASES_PER_FUNCTION = 8
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left;
         vertical-align: top; }
td.score { text-align: right; white-space: nowrap; }
.passed { color: #17632a; } .failed { color: #a11; } .partial { color: #8a5a00; }
.case { margin: 1rem 0; padding: .6rem .8rem; background: #f7f7f7; border-radius: 4px; }
.case code { font-size: .9em; } img { max-width: 100%; }
.errors { background: #fde8e8; padding: .6rem .8rem; border-radius: 4px; }
"""


def _png(plot: Plot) -> str:
    """The case's paths on its problem, as a base64 PNG."""
    problem = find_problem(plot.problem)
    paths = {
        label: np.array(points, dtype=np.float64)
        for label, points in (("reference", plot.expected), ("yours", plot.got))
        if points
    }
    mark = None
    if plot.divergence_step is not None and plot.divergence_step < len(plot.got):
        mark = Mark("yours", plot.divergence_step, f"first divergence, step {plot.divergence_step}")
    figure = plot_paths(problem, paths, mark=mark, title=problem.name)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _case(check: CheckResult, with_plot: bool) -> str:
    label = html.escape(check.name) + ("" if check.visible else " <em>(hidden case)</em>")
    parts = [f'<div class="case"><code>{label}</code><p>{html.escape(check.message)}</p>']
    if with_plot and check.plot is not None:
        alt = html.escape(f"paths on {check.plot.problem}")
        parts.append(f'<img alt="{alt}" src="data:image/png;base64,{_png(check.plot)}">')
    parts.append("</div>")
    return "".join(parts)


def render_html(report: GradeReport) -> str:
    title = f"{report.assignment}: {shown(report.score)} / {shown(report.max_score)}"
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(report.submission)}</p>"]
    if report.errors:
        errors = "".join(f"<p>{html.escape(e)}</p>" for e in report.errors)
        body.append(f'<div class="errors"><strong>Could not grade</strong>{errors}</div>')
    rows = "".join(
        f"<tr><td><code>{html.escape(r.function)}</code></td>"
        f'<td class="score">{shown(r.score)} / {shown(r.max_score)}</td>'
        f'<td class="{status_word(r)}">{status_word(r)}</td><td>{html.escape(r.headline)}</td></tr>'
        for r in report.functions
    )
    body.append(
        "<table><tr><th>function</th><th>score</th><th>status</th><th>summary</th></tr>"
        f"{rows}</table>"
    )
    for result in report.functions:
        failed = sorted((c for c in result.checks if not c.passed), key=lambda c: not c.visible)
        if not failed or report.errors:
            continue
        body.append(f"<h2>{html.escape(result.function)}: {len(failed)} failing cases</h2>")
        drawn = 0
        for check in failed[:MAX_CASES_PER_FUNCTION]:
            with_plot = check.plot is not None and drawn < MAX_PLOTS_PER_FUNCTION
            drawn += with_plot
            body.append(_case(check, with_plot))
        if len(failed) > MAX_CASES_PER_FUNCTION:
            body.append(f"<p>... and {len(failed) - MAX_CASES_PER_FUNCTION} more.</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
