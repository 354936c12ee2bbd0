"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

One test per case, its output in Markdown. Hidden cases get `hidden_visibility` (default
"after_published": shown once the grades are published) and say no more than their message;
the top-level output, which students see at once, holds only facts of the visible cases.
Scores are the display's whole cents, so the tests add up to the score exactly. Gradescope
shows results.json in a browser, so each output is cut at MAX_OUTPUT characters: a few hundred
KB for the largest assignment.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.reports.markdown import code, escape
from autograder.reports.scores import Shown, shown_scores
from autograder.results import CaseResult, GradeReport

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
HIDDEN_VISIBILITY = "after_published"
MAX_OUTPUT = 600  # characters of one test's output, or of one error in the summary
_SHOWN_WHEN = {
    "hidden": "not shown to students",
    "after_due_date": "shown after the due date",
    "after_published": "shown once grades are published",
    "visible": "shown below",
}


def _cut(text: str) -> str:
    """`text`, cut to MAX_OUTPUT characters with a note saying so."""
    if len(text) <= MAX_OUTPUT:
        return text
    return f"{text[:MAX_OUTPUT]} … (cut: {len(text) - MAX_OUTPUT} more characters)"


def _test(check: CaseResult, shown: Shown, hidden_visibility: str) -> dict[str, Any]:
    output = _cut(escape(check.message))
    return {
        "name": check.name,
        "score": float(shown.score),
        "max_score": float(shown.max_score),
        "status": "passed" if check.passed else "failed",
        "output": output if check.passed else f"**{escape(check.status)}**: {output}",
        "output_format": "md",
        "tags": [check.function, check.category],
        "visibility": "visible" if check.visible else hidden_visibility,
    }


def _summary(report: GradeReport, hidden_visibility: str) -> str:
    """What students see at once: errors, visible cases passed per function, hidden count."""
    lines = [f"> **Could not grade:** {_cut(escape(error))}\n" for error in report.errors]
    lines += ["| function | visible cases passed |", "| --- | ---: |"]
    for result in report.functions:
        visible = [c for c in result.checks if c.visible]
        passed = sum(c.passed for c in visible)
        lines.append(f"| {code(result.function)} | {passed} / {len(visible)} |")
    hidden = sum(not c.visible for c in report.checks)
    if hidden:
        cases = "1 hidden case is" if hidden == 1 else f"{hidden} hidden cases are"
        lines += ["", f"{cases} graded too: results {_SHOWN_WHEN[hidden_visibility]}."]
    if report.skipped:
        count = len(report.skipped)
        cases = "1 case was" if count == 1 else f"{count} cases were"
        lines += ["", f"{cases} skipped, not counted: this machine cannot run them."]
    return "\n".join(lines) + "\n"


def render_gradescope(report: GradeReport, *, hidden_visibility: str = HIDDEN_VISIBILITY) -> str:
    """results.json for `report`; a ValueError for a visibility Gradescope does not know."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(
            f"unknown Gradescope visibility {hidden_visibility!r}; "
            f"choose from {', '.join(VISIBILITIES)}"
        )
    scores = shown_scores(report)
    tests = [
        _test(check, shown, hidden_visibility)
        for result, per_check in zip(report.functions, scores.checks, strict=True)
        for check, shown in zip(result.checks, per_check, strict=True)
    ]
    document = {
        "score": float(scores.total.score),
        "output": _summary(report, hidden_visibility),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return json.dumps(document, indent=2, allow_nan=False)


def fallback_results(reason: str, execution_time: int) -> str:
    """results.json for a submission the grader could not finish: no point, the reason for the
    instructor in the summary (students see it too, so it names no hidden case)."""
    document = {
        "score": 0.0,
        "execution_time": execution_time,
        "output": (
            f"> **Could not grade:** {_cut(escape(reason))}\n\nThis submission scores 0 until "
            "it is graded again: resubmit it, or ask your instructor to regrade it.\n"
        ),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }
    return json.dumps(document, indent=2)
