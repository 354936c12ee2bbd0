"""Which known mistake, if any, a failing run shows: right or silent.

A known bug (or, when no single one does, a pair of them made at once) is named only when it
reproduces the student's run, explains it clearly better than the reference does (its distance
to the run is under MARGIN times the reference's) and agrees with every other case of the
function compared by value: it leaves the cases the student passed unchanged and reproduces
the ones the student failed. A bug that explains much of the run but not all of it, or that the
other cases contradict, is reported as more than one mistake; otherwise nothing is named. A
float64 run that agrees with the reference to float32's precision only has the rule right and
computes something in float32: it is told so, not sent back to the update rule.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from autograder.compare import QUIET, Divergence, first_difference, first_divergence
from autograder.expectations import Expectations
from autograder.results import FLOAT32_PRECISION, SEVERAL_MISTAKES, Diagnosis
from autograder.rubric import Case
from autograder.trajectory import Array, float64_array
from autograder.worker import CaseOutcome

MARGIN = 0.1  # a bug's distance to the run, at most this fraction of the reference's
PAIR_BASIS = 4  # with no single near the run, pairs among the 4 nearest: 6 pairs
MAX_PAIRS = 30  # pairs tried for one case, at most

Differs = Callable[[Case, CaseOutcome, CaseOutcome], "Divergence | None"]
Candidate = tuple[Diagnosis, CaseOutcome]
Other = tuple[Case, "CaseOutcome | None"]  # another case, and the student's run if it failed


def diagnose(
    case: Case,
    got: CaseOutcome,
    expectations: Expectations,
    others: Sequence[Other],
    differs: Differs,
) -> Diagnosis:
    """The known bug, or pair of them, that this run shows (see the module docstring);
    `others` are the function's other cases compared by value, each with the student's run
    there when it failed (None when it passed)."""
    expected = expectations.expected(case)
    baseline = distance(expected, got)
    singles = list(expectations.variants(case))
    near = [c for c in singles if distance(c[1], got) < MARGIN * baseline]
    for candidate in near:
        if _named(case, candidate, got, expectations, others, differs, ()):
            return candidate[0]
    for first, second in _pairs(singles, near, got):
        pair = expectations.pair(case, str(first[0].bug), str(second[0].bug))
        if pair is None or not distance(pair[1], got) < MARGIN * baseline:
            continue
        if _named(case, pair, got, expectations, others, differs, (first, second)):
            return pair[0]
        near.append(pair)
    if _float32_precision_only(case, expected, got):
        return Diagnosis(None, FLOAT32_PRECISION)
    return Diagnosis(None, SEVERAL_MISTAKES) if near else Diagnosis(None)


def _float32_precision_only(case: Case, expected: CaseOutcome, got: CaseOutcome) -> bool:
    """Whether a float64 run on the CPU leaves the reference by float32's rounding only."""
    request = case.student_request
    if request.dtype != "float64" or request.device != "cpu" or got.status != "ran":
        return False
    if expected.trajectory is not None and got.trajectory is not None:
        found = first_divergence(
            expected.trajectory, got.trajectory, torch.float32, with_state=case.compares_state
        )
        return found is None
    if expected.lrs is not None and got.lrs is not None:
        wanted, seen = (torch.tensor(v, dtype=torch.float64) for v in (expected.lrs, got.lrs))
        return first_difference(wanted, seen, "lr", torch.float32) is None
    return False


def _pairs(
    singles: Sequence[Candidate], near: Sequence[Candidate], got: CaseOutcome
) -> list[tuple[Candidate, Candidate]]:
    """The pairs worth trying: each bug near the run with every other one (the second mistake
    may not show on this case at all), else pairs of the bugs nearest the run."""
    if near:
        found = [(a, b) for a in near for b in singles if b[0].bug != a[0].bug]
    else:
        basis = sorted(singles, key=lambda c: distance(c[1], got))[:PAIR_BASIS]
        found = list(itertools.combinations(basis, 2))
    unique = {frozenset((a[0].bug, b[0].bug)): (a, b) for a, b in reversed(found)}
    return list(reversed(unique.values()))[:MAX_PAIRS]


def _named(
    case: Case,
    candidate: Candidate,
    got: CaseOutcome,
    expectations: Expectations,
    others: Sequence[Other],
    differs: Differs,
    pair: tuple[Candidate, ...],
) -> bool:
    """Whether the candidate reproduces the run and every other case agrees with it."""
    if not reproduces(case, candidate[1], got, differs):
        return False
    for other, failed in others:
        variant = _outcome_on(other, candidate[0], expectations, pair)
        if variant is None:
            return False
        if failed is not None and not reproduces(other, variant, failed, differs):
            return False
        if failed is None and (
            not variant.ok or differs(other, expectations.expected(other), variant) is not None
        ):
            return False  # it would have failed a case the student passed
    return True


def _outcome_on(
    case: Case, diagnosis: Diagnosis, expectations: Expectations, pair: tuple[Candidate, ...]
) -> CaseOutcome | None:
    """What the candidate gives on another case; None when that is not known."""
    if pair:
        found = expectations.pair(case, str(pair[0][0].bug), str(pair[1][0].bug))
        return None if found is None else found[1]
    return next((o for d, o in expectations.variants(case) if d.bug == diagnosis.bug), None)


def reproduces(case: Case, variant: CaseOutcome, got: CaseOutcome, differs: Differs) -> bool:
    """Whether a bug's run is the student's: the same values within the tolerance, or the same
    bad value (a NaN, say) at the same step after the same path."""
    if variant.status != got.status or variant.step != got.step:
        return False
    if variant.status not in ("ran", "bad_return"):
        return False
    recorded = ("trajectory", "lrs", "batches", "losses")
    if any((getattr(variant, r) is None) != (getattr(got, r) is None) for r in recorded):
        return False
    if not any(getattr(got, r) is not None for r in recorded):
        return True
    return differs(case, variant, got) is None


def distance(a: CaseOutcome, b: CaseOutcome) -> float:
    """How far apart two runs are: the largest difference of any value both recorded (points,
    the state entries both keep, learning rates, losses, batches), relative to its scale;
    infinite when they differ in kind (status, length, shape, NaNs)."""
    if a.status != b.status or a.step != b.step:
        return math.inf
    first, second = _series(a), _series(b)
    shared = first.keys() & second.keys()
    if {k for k in first.keys() ^ second.keys() if not k.startswith("state ")}:
        return math.inf
    return max((_gap(first[k], second[k]) for k in shared), default=0.0)


def _series(outcome: CaseOutcome) -> dict[str, Array]:
    """Every recorded value of a run, by quantity, flattened over its steps (a trajectory's
    are made once: the reference's and each bug's are read for every student)."""
    found: dict[str, Array] = {}
    if outcome.trajectory is not None:
        path = outcome.trajectory.numeric
        found["x"] = path.flat_points
        found.update({f"state {name}": values for name, values in path.flat_states.items()})
    for name in ("lrs", "losses"):
        values = getattr(outcome, name)
        if values is not None:
            found[name] = np.asarray(values, dtype=np.float64)
    if outcome.parameters is not None:
        found["parameters"] = float64_array(outcome.parameters).reshape(-1)
    if outcome.batches is not None:
        found["batches"] = np.concatenate(
            [float64_array(b).reshape(-1) for b in outcome.batches] or [np.zeros(0)]
        )
    return found


@QUIET
def _gap(x: Array, y: Array) -> float:
    """The largest difference of two runs' values relative to their scale; infinite unless
    their non-finite values are the same, in the same places."""
    if x.shape != y.shape:
        return math.inf
    finite = np.isfinite(x)
    if finite.all():  # nearly always: nothing else to match
        if not np.isfinite(y).all():
            return math.inf
        ours, theirs = x, y
    else:
        if not np.array_equal(finite, np.isfinite(y)):
            return math.inf
        if not np.array_equal(np.nan_to_num(x[~finite]), np.nan_to_num(y[~finite])):
            return math.inf
        ours, theirs = x[finite], y[finite]
    if not ours.size:
        return 0.0
    scale = max(float(np.abs(ours).max()), float(np.abs(theirs).max()), 1e-300)
    return float(np.abs(ours - theirs).max()) / scale
