"""A GitHub job summary: the score as a heading, a table of functions, failing cases folded.

Every string from the grading run (messages quote student exceptions) is escaped, so that it
reads as text: no HTML, no emphasis, no link or @mention, no table cell broken by a '|'.
"""

from __future__ import annotations

import html
import re

from autograder.reports.scores import (
    failure_label,
    failures,
    shown_scores,
    skipped_note,
    status_word,
)
from autograder.results import GradeReport

MAX_CASES_PER_FUNCTION = 10
STATUS_ICONS = {"passed": "✅", "partial": "⚠️", "failed": "❌"}
_MARKDOWN_PUNCTUATION = str.maketrans({c: "\\" + c for c in "\\`*_[]~"})
_LINK_STARTS = (
    (re.compile(r":(?=//)"), ":&#8203;"),
    (re.compile(r"(?i)\b(www)\."), r"\1&#8203;."),
    (re.compile(r"@"), "@&#8203;"),
)


def escape(text: str) -> str:
    """`text` as literal Markdown on one line: HTML entities, backslash-escaped punctuation,
    and no link nor @mention (a zero-width space breaks `://`, `www.` and `@`)."""
    escaped = html.escape(" ".join(text.split()), quote=False).replace("|", "&#124;")
    return _unlinked(escaped.translate(_MARKDOWN_PUNCTUATION))


def _unlinked(text: str) -> str:
    for pattern, broken in _LINK_STARTS:
        text = pattern.sub(broken, text)
    return text


def code(text: str) -> str:
    """`text` in a code span that neither HTML, backticks nor a table's '|' can break."""
    return f"<code>{html.escape(text, quote=False).replace('|', '&#124;')}</code>"


def function_table(report: GradeReport) -> list[str]:
    """The table of functions: score, status and headline, one row each."""
    scores = shown_scores(report)
    lines = ["| function | score | status | summary |", "| --- | ---: | --- | --- |"]
    for result, shown in zip(report.functions, scores.functions, strict=True):
        word = status_word(result)
        lines.append(
            f"| {code(result.function)} | {shown} | {STATUS_ICONS[word]} {word} "
            f"| {escape(result.headline)} |"
        )
    return lines


def _failing_cases(report: GradeReport) -> list[str]:
    """One folded block per function with failing cases, visible cases first."""
    lines: list[str] = []
    for result in report.functions:
        failing = failures(result, report.errors)
        if not failing:
            continue
        summary = (
            f"{html.escape(result.function)}: {len(failing)} of {len(result.checks)} cases fail"
        )
        lines += ["", f"<details><summary>{summary}</summary>", ""]
        lines += [
            f"- **{escape(failure_label(c))}** {code(c.name)}: {escape(c.message)}"
            for c in failing[:MAX_CASES_PER_FUNCTION]
        ]
        if len(failing) > MAX_CASES_PER_FUNCTION:
            lines.append(f"- ... and {len(failing) - MAX_CASES_PER_FUNCTION} more")
        lines += ["", "</details>"]
    return lines


def render_markdown(report: GradeReport) -> str:
    """The job summary: heading, errors, the table, then the failing cases in <details>."""
    lines = [
        f"## {escape(report.assignment)}: {shown_scores(report).total}",
        "",
        f"Submission: {code(report.submission)}",
        "",
    ]
    lines += [f"> **Could not grade:** {escape(error)}\n" for error in report.errors]
    lines += function_table(report)
    lines += _failing_cases(report)
    notes = [note for note in map(skipped_note, report.functions) if note is not None]
    if notes:
        lines += ["", "Skipped, not counted:", "", *(f"- {escape(note)}" for note in notes)]
    return "\n".join(lines) + "\n"
