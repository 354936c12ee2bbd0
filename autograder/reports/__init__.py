"""Render a GradeReport: a terminal table, the JSON of the command-line contract, Gradescope's
results.json, a GitHub job summary in Markdown, or a self-contained HTML page."""

from __future__ import annotations

from collections.abc import Callable

from autograder.reports.gradescope import render_gradescope
from autograder.reports.html import render_html
from autograder.reports.json_report import render_json
from autograder.reports.markdown import render_markdown
from autograder.reports.text import render_text
from autograder.results import GradeReport

RENDERERS: dict[str, Callable[[GradeReport], str]] = {
    "text": render_text,
    "json": render_json,
    "gradescope": render_gradescope,
    "markdown": render_markdown,
    "html": render_html,
}
FORMATS = tuple(RENDERERS)


def render(report: GradeReport, fmt: str) -> str:
    """`report` in format `fmt`; a ValueError naming the formats for an unknown one."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    return RENDERERS[fmt](report)


__all__ = ["FORMATS", "render"]
