"""Render a GradeReport: a terminal table, the JSON of the command-line contract, Gradescope's
results.json, a GitHub job summary in Markdown, or a self-contained HTML page.

    text        reports/text.py         errors, a table of functions, failing cases
    json        reports/json_report.py  docs/design.md §8's object, full precision
    gradescope  reports/gradescope.py   results.json, outputs in Markdown
    markdown    reports/markdown.py     heading, table, failing cases in <details>
    html        reports/html.py         one page: table, messages, inline PNG plots
"""

from __future__ import annotations

from dataclasses import replace

from autograder.config import REPORT_FORMATS
from autograder.reports.gradescope import render_gradescope
from autograder.reports.html import render_html
from autograder.reports.json_report import render_json
from autograder.reports.markdown import render_markdown
from autograder.reports.text import render_text
from autograder.results import CaseResult, GradeReport
from autograder.safe_text import printable


def render(report: GradeReport, fmt: str, *, color: bool = False, for_student: bool = False) -> str:
    """`report` in format `fmt`; `color` (ANSI colours) applies to text only, for a terminal;
    `for_student` to html only, whose hidden cases then show no problem, options or values.
    A ValueError naming the formats for an unknown one. Every format renders the report's
    strings escaped (`printable_report`), whatever they came from."""
    report = printable_report(report)
    if fmt == "text":
        return render_text(report, color=color)
    if fmt == "html":
        return render_html(report, for_student=for_student)
    renderers = {
        "json": render_json,
        "gradescope": render_gradescope,
        "markdown": render_markdown,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(REPORT_FORMATS)}")
    return renderers[fmt](report)


def printable_report(report: GradeReport) -> GradeReport:
    """`report` with control and format characters escaped in every text a submission can
    reach (its path, errors, messages and headlines): the last line of defence, after the
    messages were flattened with messages.one_line."""
    functions = tuple(
        replace(
            result,
            headline=printable(result.headline),
            checks=tuple(_with_printable_message(check) for check in result.checks),
            skipped=tuple(_with_printable_message(check) for check in result.skipped),
        )
        for result in report.functions
    )
    return replace(
        report,
        submission=printable(report.submission),
        functions=functions,
        errors=tuple(printable(error) for error in report.errors),
    )


def _with_printable_message(check: CaseResult) -> CaseResult:
    """`check` with its message escaped; itself when nothing needed it (nearly always)."""
    message = printable(check.message)
    return check if message is check.message else replace(check, message=message)


__all__ = [
    "printable_report",
    "render",
    "render_gradescope",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
]
