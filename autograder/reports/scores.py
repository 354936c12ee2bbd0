"""Scores as reports show them: two decimals, and rows that add up to the shown total."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from autograder.results import CheckResult, FunctionResult, GradeReport


def rounded(value: float) -> float:
    """Half-even to two decimals, without float artefacts such as 9.999999."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def shown(value: float) -> str:
    return (
        f"{rounded(value):g}" if rounded(value) == int(rounded(value)) else f"{rounded(value):.2f}"
    )


def status_word(result: FunctionResult) -> str:
    if result.passed:
        return "passed"
    return "failed" if result.score == 0 else "partial"


def failing(report: GradeReport) -> list[CheckResult]:
    """The failing checks, visible ones first, in rubric order otherwise."""
    checks = [c for c in report.checks if not c.passed]
    return sorted(checks, key=lambda c: not c.visible)
