"""Scores as the display formats show them, and the failing cases they list.

Scores are shown in whole cents, and every column adds up to the total above it. The total is
the report's score and maximum rounded half-even. Below it, each part (a function, then a
case) first gets its maximum to the nearest cent (largest remainders take the spare cents),
then its score: the full maximum if it passed, none if it scored none, the nearest cents below
its maximum otherwise. Where that cannot add up (maxima such as 10/3 whose shown cents depend
on which parts passed), earned and lost points are apportioned apart and each maximum is their
sum: three passed cases of 10/3 show 3.34, 3.33 and 3.33, never 9.99 in all. The JSON report
keeps full precision instead.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from autograder.results import CaseResult, FunctionResult, GradeReport

CENT = Decimal("0.01")
Parts = Sequence[tuple[float, float]]  # (score, max_score) of each part


def rounded(value: float) -> Decimal:
    """Half-even to whole cents, from the shortest repr: 0.125 -> 0.12, 2.675 -> 2.68."""
    return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _exact(value: float) -> Decimal:
    """`value` in cents, with its fraction."""
    return Decimal(repr(value)) / CENT


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _ceiling(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _fill(
    exact: Sequence[Decimal], total: int, low: list[int], high: list[int]
) -> list[int] | None:
    """Whole cents within [low, high] adding up to `total`, each spare cent given where the
    exact value lies furthest above its cents (ties: the larger value, then the earlier one);
    None when the bounds do not allow `total`."""
    if not sum(low) <= total <= sum(high):
        return None
    cents = list(low)
    # the parts with room, most deserving first: heapq's smallest of (-(exact - cents), -exact, i)
    waiting = [(cents[i] - e, -e, i) for i, e in enumerate(exact) if cents[i] < high[i]]
    heapq.heapify(waiting)
    for _ in range(total - sum(low)):
        _, _, i = heapq.heappop(waiting)
        cents[i] += 1
        if cents[i] < high[i]:
            heapq.heappush(waiting, (cents[i] - exact[i], -exact[i], i))
    return cents


def _nearest(exact: Sequence[Decimal], total: int) -> list[int]:
    """Whole cents adding up to `total`, each its exact value's floor or ceiling where the
    total allows it (largest remainder), stretched just as far as it must be otherwise."""
    floors, ceilings = [_floor(e) for e in exact], [_ceiling(e) for e in exact]
    shortfall, excess = max(sum(floors) - total, 0), max(total - sum(ceilings), 0)
    cents = _fill(
        exact,
        total,
        [max(f - shortfall, 0) for f in floors],
        [c + excess for c in ceilings],
    )
    if cents is None:
        raise ValueError(f"cannot share {total} cents among {len(exact)} parts")
    return cents


def apportion(values: Sequence[float], total: Decimal) -> list[Decimal]:
    """`values` in whole cents adding up to `total` (whole cents) by largest remainder."""
    return [c * CENT for c in _nearest([_exact(v) for v in values], int(total / CENT))]


def points(value: Decimal) -> str:
    """At most two decimals, none when they are zero: '20', '3.5', '13.33'."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Shown:
    """A score out of a maximum, both in whole cents."""

    score: Decimal
    max_score: Decimal

    def __str__(self) -> str:
        return f"{points(self.score)} / {points(self.max_score)}"


@dataclass(frozen=True)
class ShownScores:
    """The shown total, one Shown per function and one per case, in the report's order."""

    total: Shown
    functions: tuple[Shown, ...]
    checks: tuple[tuple[Shown, ...], ...]


def _maximum_first(whole: Shown, parts: Parts) -> tuple[Shown, ...] | None:
    """Maxima to the nearest cent, then scores bound by them; None where that cannot add up."""
    maxima = _nearest([_exact(top) for _, top in parts], int(whole.max_score / CENT))
    low, high = [], []
    for (score, top), shown_top in zip(parts, maxima, strict=True):
        if score == top or score == 0:
            low.append(shown_top if score == top else 0)
            high.append(low[-1])
        else:
            low.append(min(_floor(_exact(score)), shown_top))
            high.append(min(_ceiling(_exact(score)), shown_top))
    scores = [_exact(score) for score, _ in parts]
    earned = _fill(scores, int(whole.score / CENT), low, high)
    if earned is None:
        return None
    return tuple(Shown(e * CENT, m * CENT) for e, m in zip(earned, maxima, strict=True))


def _apart(whole: Shown, parts: Parts) -> tuple[Shown, ...]:
    """Earned and lost points apportioned apart; each maximum is their sum."""
    earned = _nearest([_exact(score) for score, _ in parts], int(whole.score / CENT))
    lost_total = int((whole.max_score - whole.score) / CENT)
    lost = _nearest([_exact(top - score) for score, top in parts], lost_total)
    return tuple(Shown(e * CENT, (e + m) * CENT) for e, m in zip(earned, lost, strict=True))


def _share(whole: Shown, parts: Parts) -> tuple[Shown, ...]:
    """`whole` split among parts of (score, max_score) as the module docstring says."""
    return _maximum_first(whole, parts) or _apart(whole, parts)


def shown_scores(report: GradeReport) -> ShownScores:
    """The scores every display format shows for `report`."""
    total = Shown(rounded(report.score), rounded(report.max_score))
    functions = _share(total, [(f.score, f.max_score) for f in report.functions])
    checks = tuple(
        _share(shown, [(c.score, c.max_score) for c in result.checks])
        for shown, result in zip(functions, report.functions, strict=True)
    )
    return ShownScores(total, functions, checks)


def status_word(result: FunctionResult) -> str:
    """'passed', 'partial' (some points) or 'failed' (none)."""
    if result.passed:
        return "passed"
    return "partial" if result.score > 0 else "failed"


def skipped_note(result: FunctionResult) -> str | None:
    """'adam: 4 cases skipped (adaptive.py: adam was not run on cuda: ...)' for the checks
    this machine could not run, neither passed nor failed and worth nothing; None if none."""
    if not result.skipped:
        return None
    count = len(result.skipped)
    cases = "1 case" if count == 1 else f"{count} cases"
    return f"{result.function}: {cases} skipped ({result.skipped[0].message})"


def failure_label(check: CaseResult) -> str:
    """The failure kind, and 'hidden case' for a hidden one: 'diverged, hidden case'."""
    return check.status if check.visible else f"{check.status}, hidden case"


def failures(result: FunctionResult, errors: Sequence[str]) -> list[CaseResult]:
    """The failing checks to list, visible ones first; those that only repeat one of the
    report's errors (a module that does not load fails every case the same way) are left out."""
    failing = [c for c in result.checks if not c.passed and c.message not in errors]
    return sorted(failing, key=lambda c: not c.visible)
