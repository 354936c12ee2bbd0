"""The terminal report: errors first, a table with one row per function, then the failing
cases of each function with their one-line messages (visible cases first).

ANSI colours only when asked for (`color=True`, for a terminal): a file or a pipe gets plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

from autograder.reports.scores import (
    failure_label,
    failures,
    shown_scores,
    skipped_note,
    status_word,
)
from autograder.results import FunctionResult, GradeReport

MAX_CASES_PER_FUNCTION = 10
COLORS = {"passed": "32", "partial": "33", "failed": "31", "error": "31", "bold": "1"}
HEADER = ("function", "score", "status", "summary")


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{COLORS[style]}m{text}\x1b[0m" if color else text


def _table(report: GradeReport, color: bool) -> list[str]:
    """Columns padded to their widest cell; the status word coloured after padding."""
    scores = shown_scores(report)
    rows = [
        (r.function, str(shown), status_word(r), r.headline)
        for r, shown in zip(report.functions, scores.functions, strict=True)
    ]
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(3)]

    def line(row: tuple[str, str, str, str], style: str | None) -> str:
        status = row[2].ljust(widths[2])
        status = _paint(status, style, color) if style else status
        return f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {status}  {row[3]}"

    rule = "  ".join("-" * w for w in widths) + "  " + "-" * len(HEADER[3])
    return [line(HEADER, None), rule, *(line(row, row[2]) for row in rows)]


def _cases(result: FunctionResult, errors: Sequence[str], color: bool) -> list[str]:
    """The function's failing cases, name and kind on one line, the message below it."""
    failing = failures(result, errors)
    if not failing:
        return []
    heading = f"{result.function}: {len(failing)} of {len(result.checks)} cases fail"
    lines = ["", _paint(heading, "bold", color)]
    for check in failing[:MAX_CASES_PER_FUNCTION]:
        lines += [f"  {check.name}  [{failure_label(check)}]", f"      {check.message}"]
    if len(failing) > MAX_CASES_PER_FUNCTION:
        lines.append(f"  ... and {len(failing) - MAX_CASES_PER_FUNCTION} more")
    return lines


def render_text(report: GradeReport, *, color: bool = False) -> str:
    """The whole report as lines for a terminal."""
    title = f"{report.assignment}: {shown_scores(report).total}"
    lines = [f"{_paint(title, 'bold', color)}  ({report.submission})"]
    lines += [_paint(f"error: {error}", "error", color) for error in report.errors]
    lines += ["", *_table(report, color)]
    for result in report.functions:
        lines += _cases(result, report.errors, color)
    notes = [note for note in map(skipped_note, report.functions) if note is not None]
    lines += ["", "skipped, not counted:", *(f"  {note}" for note in notes)] if notes else []
    return "\n".join(lines) + "\n"
