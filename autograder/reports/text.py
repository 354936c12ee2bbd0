"""The terminal table: one row per function, then each failing case on one line."""

from __future__ import annotations

from autograder.reports.scores import shown, status_word
from autograder.results import GradeReport

MAX_CASES_PER_FUNCTION = 5


def render_text(report: GradeReport) -> str:
    lines = [f"{report.assignment}: {shown(report.score)} / {shown(report.max_score)}"]
    lines += [f"error: {error}" for error in report.errors]
    width = max((len(f.function) for f in report.functions), default=8) + 2
    lines.append("")
    lines.append(f"{'function':<{width}}{'score':>12}  {'status':<8} summary")
    for result in report.functions:
        score = f"{shown(result.score)}/{shown(result.max_score)}"
        lines.append(
            f"{result.function:<{width}}{score:>12}  {status_word(result):<8} {result.headline}"
        )
    for result in report.functions:
        failed = sorted((c for c in result.checks if not c.passed), key=lambda c: not c.visible)
        if not failed or report.errors:
            continue
        lines.append(f"\n{result.function}: {len(failed)} of {len(result.checks)} cases fail")
        for check in failed[:MAX_CASES_PER_FUNCTION]:
            label = check.name if check.visible else f"{check.name} (hidden case)"
            lines.append(f"  {label}\n    {check.message}")
        if len(failed) > MAX_CASES_PER_FUNCTION:
            lines.append(f"  ... and {len(failed) - MAX_CASES_PER_FUNCTION} more")
    return "\n".join(lines) + "\n"
