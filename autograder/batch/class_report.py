"""The class report: what an instructor reads after a batch to decide which misconception to
address next lecture. Scores (a histogram and each function's mean against the rubric's
points), the known mistakes with the students who made each (a table sortable by any column),
the failures no known bug explains grouped by function and first divergence, then, per
function, its bugs as a plot and a table; one self-contained HTML page."""

from __future__ import annotations

import base64
import html
import statistics
from collections.abc import Mapping, Sequence

from autograder.batch.class_charts import bar_chart_svg, histogram_svg
from autograder.batch.gradebook import FunctionFailures, Stored
from autograder.batch.mistakes import Mistake, Unexplained
from autograder.reports.scores import points, rounded
from autograder.rubric import Rubric

TOP_MISCONCEPTIONS = 10
HISTOGRAM_BINS = 10
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left;
         vertical-align: top; }
td.n { text-align: right; white-space: nowrap; }
img { max-width: 100%; }
.errors { background: #fde8e8; padding: .6rem .8rem; border-radius: 4px; }
table.sortable th { cursor: pointer; }
"""
# Click a header of a sortable table to sort by it (numbers by data-value), again to reverse.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((th, column) => th.addEventListener(
  "click", () => {
    const body = th.closest("table").tBodies[0], up = th.dataset.up !== "1";
    th.dataset.up = up ? "1" : "0";
    const key = row => { const cell = row.cells[column];
      return cell.dataset.value !== undefined ? Number(cell.dataset.value) : cell.textContent; };
    [...body.rows].sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (up ? 1 : -1))
      .forEach(row => body.appendChild(row));
  }));
"""


def render_class_report(
    rubric: Rubric,
    stored: Sequence[Stored],
    bugs: Sequence[Mistake],
    unexplained: Sequence[Unexplained],
    failures: Mapping[str, FunctionFailures],
) -> str:
    """The page for the rubric's assignment from the gradebook's submissions, the students of
    each known mistake (counted at its root function), the unexplained failures, and who
    failed each function."""
    assignment = rubric.assignment
    graded = [s for s in stored if s.status == "graded"]
    title = f"{assignment.name}: class report"
    body = [f"<h1>{html.escape(title)}</h1>", _summary(stored, graded)]
    body += _not_graded(stored)
    if bugs:
        body += [
            "<h2>Most common misconceptions</h2>",
            "<p>Known bugs diagnosed in the class, by the number of students they were found "
            "in.</p>",
            _bug_table(bugs[:TOP_MISCONCEPTIONS], len(graded), with_function=True),
            "<h2>Who made each mistake</h2>",
            "<p>Each known mistake and its students (click a header to sort; also in "
            "mistakes.csv). A mistake is counted at its root: a function that shows the bug "
            "of an earlier function it calls (adamw calling adam) does not count it again.</p>",
            _students_table(bugs),
        ]
    if unexplained:
        body += [
            "<h2>Failures no known bug explains</h2>",
            "<p>Grouped by function and first divergence: a large group is a mistake worth "
            "adding as a bug variant (docs/contributing.md).</p>",
            _unexplained_table(unexplained),
        ]
    body += _scores(rubric, stored, graded)
    for graded_function in assignment.functions:
        name = graded_function.name
        mine = [b for b in bugs if b.function == name]
        if name in failures:
            body += _function_section(name, mine, failures[name], len(graded))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}<script>{SORT_SCRIPT}</script></body></html>\n"
    )


def _summary(stored: Sequence[Stored], graded: Sequence[Stored]) -> str:
    scores = [s.score for s in graded if s.score is not None]
    facts = [
        f"{len(stored)} submissions: {len(graded)} graded, "
        f"{len(stored) - len(graded)} could not be graded."
    ]
    if scores:
        top = max(s.max_score for s in graded)
        facts.append(
            f"Among those graded: mean {_number(statistics.fmean(scores))} / {_number(top)}, "
            f"median {_number(statistics.median(scores))}."
        )
    return f"<p>{html.escape(' '.join(facts))}</p>"


def _not_graded(stored: Sequence[Stored]) -> list[str]:
    failed = [s for s in stored if s.status != "graded"]
    if not failed:
        return []
    items = "".join(
        f"<li><strong>{html.escape(s.student)}</strong>: {html.escape(s.error)}</li>"
        for s in failed
    )
    return [f'<div class="errors"><strong>Could not be graded</strong><ul>{items}</ul></div>']


def _students_table(bugs: Sequence[Mistake]) -> str:
    rows = "".join(
        f'<tr data-function="{html.escape(b.function)}" data-bug="{html.escape(b.bug)}">'
        f"<td><code>{html.escape(b.function)}</code></td><td><code>{html.escape(b.bug)}</code></td>"
        f'<td class="n" data-value="{len(b.students)}">{len(b.students)}</td>'
        f"<td>{html.escape(', '.join(b.students))}</td></tr>"
        for b in bugs
    )
    return (
        '<table class="sortable"><thead><tr><th>function</th><th>bug</th><th>students</th>'
        f"<th>who</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _unexplained_table(groups: Sequence[Unexplained]) -> str:
    rows = "".join(
        f'<tr data-function="{html.escape(g.function)}">'
        f"<td><code>{html.escape(g.function)}</code></td><td>{html.escape(g.failure)}</td>"
        f'<td class="n" data-value="{len(g.students)}">{len(g.students)}</td>'
        f"<td>{html.escape(', '.join(g.students))}</td><td>{html.escape(g.example)}</td></tr>"
        for g in groups
    )
    return (
        '<table class="sortable"><thead><tr><th>function</th><th>first divergence</th>'
        f"<th>students</th><th>who</th><th>example</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _scores(rubric: Rubric, stored: Sequence[Stored], graded: Sequence[Stored]) -> list[str]:
    scored = [s for s in stored if s.score is not None]
    if not scored:
        return []
    top = max(s.max_score for s in scored)
    histogram = _histogram([s.score for s in scored if s.score is not None], top)
    rows = []
    for name, worth in rubric.points.items():
        points = [s.function_scores[name] for s in graded if name in s.function_scores]
        if not points:
            continue
        full = sum(1 for s in graded if _full_marks(s, name, worth))
        rows.append(
            f"<tr><td><code>{html.escape(name)}</code></td>"
            f'<td class="n">{_number(statistics.fmean(points))} / {_number(worth)}</td>'
            f'<td class="n">{full} of {len(points)}</td></tr>'
        )
    return [
        "<h2>Scores</h2>",
        _image("histogram of the scores", histogram),
        "<table><tr><th>function</th><th>mean score</th><th>full marks</th></tr>",
        *rows,
        "</table>",
    ]


def _full_marks(submission: Stored, function: str, points: float) -> bool:
    return submission.function_scores.get(function, 0.0) >= points - 1e-9


def _function_section(
    function: str, bugs: Sequence[Mistake], failures: FunctionFailures, graded: int
) -> list[str]:
    kinds = ", ".join(f"{kind} {students}" for kind, students in failures.kinds.items())
    parts = [
        f"<h2><code>{html.escape(function)}</code></h2>",
        f"<p>{failures.students} of {graded} graded students failed some of its cases "
        f"(students per failure: {html.escape(kinds)}); for {failures.unexplained} of them "
        "no known bug explains the failures.</p>",
    ]
    if bugs:
        bars = [(b.bug, len(b.students)) for b in bugs]  # the most common first
        chart = bar_chart_svg(f"{function}: diagnosed bugs", bars)
        parts += [
            _image(f"students per diagnosed bug of {function}", chart),
            _bug_table(bugs, graded, with_function=False),
        ]
    return parts


def _bug_table(bugs: Sequence[Mistake], graded: int, *, with_function: bool) -> str:
    head = "<th>function</th>" if with_function else ""
    rows = "".join(
        "<tr>"
        + (f"<td><code>{html.escape(b.function)}</code></td>" if with_function else "")
        + f"<td><code>{html.escape(b.bug)}</code></td>"
        f'<td class="n">{len(b.students)} ({_share(len(b.students), graded)})</td>'
        f"<td>{html.escape(b.misconception)}</td><td>{html.escape(b.hint)}</td></tr>"
        for b in bugs
    )
    return (
        f"<table><tr>{head}<th>bug</th><th>students</th><th>misconception</th>"
        f"<th>hint given</th></tr>{rows}</table>"
    )


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.0f}%" if total else "-"


def _histogram(scores: Sequence[float], top: float) -> str:
    return histogram_svg(scores, top, HISTOGRAM_BINS, f"score (out of {_number(top)})")


def _image(alt: str, svg: str) -> str:
    data = base64.b64encode(svg.encode()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def _number(value: float) -> str:
    return points(rounded(value))
