"""The known-bug library is useful for diagnosis only if every variant shows on the problem
suite and no two variants of a function leave the same trace there."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest
import torch

import reference
from autograder.catalog import all_functions
from autograder.problems import PROBLEMS
from autograder.trajectory import run_optimizer
from reference.bugs import KNOWN_BUGS
from reference.known_bug import KnownBug

DEPARTURE = 1e-6  # relative; far above float64 reordering noise, far below any real bug
SCHEDULE_STEPS = 60
KIND = {f.name: f.kind for f in all_functions()}


_traces: dict[tuple[str, str], list[torch.Tensor]] = {}


def trace_of(name: str, function: Any, kind: str, options: Mapping[str, Any]) -> list[torch.Tensor]:
    """`trace`, computed once per function and options: the pair test reuses every trace."""
    key = (name, repr(sorted(options.items())))
    if key not in _traces:
        try:
            _traces[key] = trace(function, kind, options)
        except Exception as error:  # a crash is observable too: its trace is the error's name
            _traces[key] = [torch.tensor(list(type(error).__name__.encode()), dtype=torch.float64)]
    return _traces[key]


def trace(function: Any, kind: str, options: Mapping[str, Any]) -> list[torch.Tensor]:
    """Everything a grader could observe of `function` on the whole suite under `options`."""
    if kind == "schedule":
        return [torch.tensor([function(step, **options) for step in range(SCHEDULE_STEPS)])]
    if kind == "sampler":
        return [
            torch.cat(function(n, size, generator=torch.Generator().manual_seed(seed)))
            for n, size, seed in [(10, 3, 0), (12, 4, 1), (7, 7, 2)]
        ]
    observed = []
    for problem in PROBLEMS:
        with torch.no_grad():
            path = run_optimizer(function, problem, options)
        observed.append(torch.stack(path.points).flatten())
        for state in path.states:
            observed.extend(value.flatten() for _, value in sorted(state.items()))
    return observed


def differs(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    if len(a) != len(b):
        return True
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            return True
        both_finite = torch.isfinite(x) & torch.isfinite(y)
        if not torch.equal(both_finite, torch.isfinite(x)) or not torch.equal(
            both_finite, torch.isfinite(y)
        ):
            return True
        scale = max(x[both_finite].abs().max().item() if both_finite.any() else 0.0, 1e-30)
        if ((x - y)[both_finite].abs() > DEPARTURE * scale).any():
            return True
    return False


def test_library_has_at_least_thirty_variants_with_unique_ids():
    ids = [bug.id for bug in KNOWN_BUGS]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids), "two known bugs share an id"


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.id)
def test_variant_is_documented_for_students(bug: KnownBug):
    assert bug.function in KIND, f"{bug.id} corrupts {bug.function!r}, which is not graded"
    for text in (bug.misconception, bug.hint):
        assert text.strip() and "\n" not in text.strip(), f"{bug.id}: one line each"
    assert bug.hint != bug.misconception


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.id)
def test_variant_departs_from_the_correct_function_on_the_suite(bug: KnownBug):
    kind = KIND[bug.function]
    correct = trace_of(bug.function, reference.FUNCTIONS[bug.function], kind, bug.exposed_with)
    assert differs(trace_of(bug.id, bug.run, kind, bug.exposed_with), correct), (
        f"{bug.id} leaves the same trace as the correct {bug.function} on the whole suite"
    )


def pairs_of_the_same_function() -> list[tuple[KnownBug, KnownBug]]:
    return [(a, b) for a, b in itertools.combinations(KNOWN_BUGS, 2) if a.function == b.function]


@pytest.mark.parametrize(
    ("first", "second"), pairs_of_the_same_function(), ids=lambda bug: bug.name
)
def test_no_two_variants_are_indistinguishable(first: KnownBug, second: KnownBug):
    kind = KIND[first.function]
    for options in (first.exposed_with, second.exposed_with):
        if differs(
            trace_of(first.id, first.run, kind, options),
            trace_of(second.id, second.run, kind, options),
        ):
            return
    pytest.fail(f"{first.id} and {second.id} leave the same trace on the whole suite")
