"""The JSON of the command-line contract: assignment, score, max_score, tests, errors."""

from __future__ import annotations

import json
from typing import Any

from autograder.results import CheckResult, GradeReport


def test_record(check: CheckResult) -> dict[str, Any]:
    return {
        "name": check.name,
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.passed else "failed",
        "output": check.message,
        "visibility": "visible" if check.visible else "hidden",
        "category": check.category,
    }


def render_json(report: GradeReport) -> str:
    document = {
        "assignment": report.assignment,
        "score": report.score,
        "max_score": report.max_score,
        "tests": [test_record(c) for c in report.checks],
        "errors": list(report.errors),
    }
    return json.dumps(document, indent=2, allow_nan=False)
