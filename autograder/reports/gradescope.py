"""Gradescope's results.json: the score, one test per case, outputs as Markdown.

Hidden cases get the visibility "after_published": students see them once grades are out.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.reports.markdown import render_markdown
from autograder.results import CheckResult, GradeReport

HIDDEN_VISIBILITY = "after_published"


def _test(check: CheckResult) -> dict[str, Any]:
    return {
        "name": check.name,
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.passed else "failed",
        "output": check.message,
        "output_format": "md",
        "visibility": "visible" if check.visible else HIDDEN_VISIBILITY,
        "tags": [check.function, check.category],
    }


def render_gradescope(report: GradeReport) -> str:
    document = {
        "score": report.score,
        "output": render_markdown(report),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_test(c) for c in report.checks],
    }
    return json.dumps(document, indent=2, allow_nan=False)
