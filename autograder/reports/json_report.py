"""The JSON of the command-line contract (docs/design.md §8), and nothing more:
{"assignment", "score", "max_score", "tests": [{"name", "score", "max_score", "status",
"output"}], "errors"}.

Scores keep full precision, so the tests add up to the score. `status` is "passed" or
"failed"; a failed test's output starts with its failure kind: "[diverged] adam: after ...".
The cases this machine could not run (a GPU case without CUDA) are no tests: when there are
some, "skipped" lists them, [{"name", "status": "skipped", "output"}], worth nothing.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.reports.scores import failure_label
from autograder.results import CaseResult, GradeReport


def case_record(check: CaseResult) -> dict[str, Any]:
    """One case as the contract's test object."""
    return {
        "name": check.name,
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.passed else "failed",
        "output": check.message if check.passed else f"[{failure_label(check)}] {check.message}",
    }


def render_json(report: GradeReport) -> str:
    """One JSON object; a ValueError rather than a NaN or an infinity in it."""
    document = {
        "assignment": report.assignment,
        "score": report.score,
        "max_score": report.max_score,
        "tests": [case_record(c) for c in report.checks],
        "errors": list(report.errors),
    }
    if report.skipped:
        document["skipped"] = [
            {"name": c.name, "status": c.status, "output": c.message} for c in report.skipped
        ]
    return json.dumps(document, indent=2, allow_nan=False)
