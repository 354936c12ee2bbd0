"""A GitHub job summary: the score, a table of functions, failing cases folded away."""

from __future__ import annotations

from autograder.reports.scores import shown, status_word
from autograder.results import GradeReport

MAX_CASES_PER_FUNCTION = 5


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: GradeReport) -> str:
    lines = [f"## {report.assignment}: {shown(report.score)} / {shown(report.max_score)}", ""]
    lines += [f"> **Could not grade:** {_cell(e)}" for e in report.errors]
    lines += ["| function | score | status | summary |", "| --- | ---: | --- | --- |"]
    for result in report.functions:
        score = f"{shown(result.score)} / {shown(result.max_score)}"
        lines.append(
            f"| `{result.function}` | {score} | {status_word(result)} | {_cell(result.headline)} |"
        )
    for result in report.functions:
        failed = sorted((c for c in result.checks if not c.passed), key=lambda c: not c.visible)
        if not failed or report.errors:
            continue
        lines += [
            "",
            f"<details><summary>{result.function}: {len(failed)} failing cases</summary>",
            "",
        ]
        for check in failed[:MAX_CASES_PER_FUNCTION]:
            hidden = "" if check.visible else " (hidden case)"
            lines.append(f"- `{check.name}`{hidden}: {_cell(check.message)}")
        if len(failed) > MAX_CASES_PER_FUNCTION:
            lines.append(f"- ... and {len(failed) - MAX_CASES_PER_FUNCTION} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
