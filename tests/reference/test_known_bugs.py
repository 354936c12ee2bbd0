"""The known-bug library is useful for diagnosis only if every variant is a well-formed record,
runs, shows on the problem suite, and no two variants of a function leave the same trace there.

These checks cover every family at once; the family modules keep what torch or a hand
computation says of their bugs.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re
from collections.abc import Mapping
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
import torch

import reference
from autograder.catalog import all_functions
from autograder.expectations import run_in_process
from autograder.problems import PROBLEMS
from autograder.trajectory import run_optimizer
from autograder.worker import CaseRequest
from reference.bugs import KNOWN_BUGS
from reference.known_bug import KnownBug

DEPARTURE = 1e-6  # relative; far above float64 reordering noise, far below any real bug
SCHEDULE_STEPS = 60
SAMPLER_PROBES = ((10, 3, 0), (12, 4, 1), (7, 7, 2), (5, 2, 3))  # (n, batch_size, seed)
# Training loops run as the grader runs them: with and without a schedule, over several epochs,
# with a last partial batch; a bug's exposed_with is added to each probe's keywords.
TRAINING_PROBES = (
    CaseRequest(
        "train", "training", hyperparameters={"epochs": 3, "batch_size": 16}, n=64, seed=0,
        optimizer="sgd", optimizer_options={"lr": 0.5},
    ),
    CaseRequest(
        "train", "training", n=30, seed=1, optimizer="adam", optimizer_options={"lr": 0.05},
        hyperparameters={
            "epochs": 2, "batch_size": 8, "schedule": "cosine",
            "schedule_kwargs": {"lr": 0.05, "T_max": 8},
        },
    ),
)  # fmt: skip
KIND = {f.name: f.kind for f in all_functions()}
# lower-case words, or a single capital as in the math's T_max and T_cur
SNAKE_CASE = re.compile(r"(?:[a-z0-9]+|[A-Z])(?:_(?:[a-z0-9]+|[A-Z]))*")

Trace = tuple[list[torch.Tensor], str | None]  # what was observed, and the error raised if any
_traces: dict[tuple[str, str], Trace] = {}


def trace_of(name: str, function: Any, kind: str, options: Mapping[str, Any]) -> Trace:
    """`trace`, computed once per function and options: the pair test reuses every trace.

    A crash is observable too: its trace is the error's name.
    """
    key = (name, repr(sorted(options.items())))
    if key not in _traces:
        try:
            _traces[key] = (trace(function, kind, options), None)
        except Exception as error:
            fingerprint = torch.tensor(list(type(error).__name__.encode()), dtype=torch.float64)
            _traces[key] = ([fingerprint], f"{type(error).__name__}: {error}")
    return _traces[key]


def trace(function: Any, kind: str, options: Mapping[str, Any]) -> list[torch.Tensor]:
    """Everything a grader could observe of `function` on the whole suite under `options`."""
    if kind == "schedule":
        return [torch.tensor([function(step, **options) for step in range(SCHEDULE_STEPS)])]
    observed = []
    if kind == "training":
        for probe in TRAINING_PROBES:
            hyperparameters = {**probe.hyperparameters, **options}
            outcome = run_in_process(function, replace(probe, hyperparameters=hyperparameters))
            if not outcome.ok or outcome.losses is None or outcome.parameters is None:
                raise ValueError(outcome.message)
            observed += [torch.tensor(outcome.losses), outcome.parameters]
        return observed
    if kind == "sampler":
        for n, size, seed in SAMPLER_PROBES:
            batches = function(n, size, generator=torch.Generator().manual_seed(seed))
            observed += [torch.cat(batches), torch.tensor([len(batch) for batch in batches])]
        return observed
    for problem in PROBLEMS:
        with torch.no_grad():
            path = run_optimizer(function, problem, options)
        shapes = sorted({tuple(point.shape) for point in path.points})
        if len(shapes) > 1:
            raise ValueError(f"returned shapes {shapes} on {problem.name}")
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


def families() -> list[ModuleType]:
    """The reference modules that list known bugs."""
    names = (f"reference.{module.name}" for module in pkgutil.iter_modules(reference.__path__))
    return [module for module in map(importlib.import_module, names) if hasattr(module, "BUGS")]


def test_library_has_thirty_unique_variants_and_one_for_every_function() -> None:
    ids = [bug.id for bug in KNOWN_BUGS]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids), "two known bugs share an id"
    assert not set(KIND) - {bug.function for bug in KNOWN_BUGS}, "graded functions without bugs"


def test_each_module_lists_variants_of_its_own_functions() -> None:
    for module in families():
        own = {name for name, f in reference.FUNCTIONS.items() if f.__module__ == module.__name__}
        assert {bug.function for bug in module.BUGS} <= own, module.__name__


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.id)
def test_variant_is_documented_for_students(bug: KnownBug) -> None:
    assert bug.function in KIND, f"{bug.id} corrupts {bug.function!r}, which is not graded"
    assert SNAKE_CASE.fullmatch(bug.name), f"{bug.id}: the name is not snake_case"
    for text in (bug.misconception, bug.hint):
        assert text.strip() and "\n" not in text, f"{bug.id}: one line each"
    assert bug.hint != bug.misconception


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.id)
def test_variant_is_called_like_its_function(bug: KnownBug) -> None:
    """Every parameter of the function with its default; exposed_with names only keywords (all
    of them for a schedule, as KnownBug documents)."""
    expected = inspect.signature(reference.FUNCTIONS[bug.function]).parameters
    got = inspect.signature(bug.run).parameters
    for name, parameter in expected.items():
        assert name in got and got[name].default == parameter.default, f"{bug.id}: {name}"
    keywords = {name for name, p in expected.items() if p.kind is p.KEYWORD_ONLY}
    if KIND[bug.function] == "schedule":
        assert got.keys() - {"bug"} == expected.keys(), f"{bug.id} takes other parameters"
        assert set(bug.exposed_with) == keywords, f"{bug.id}: exposed_with must name every keyword"
    else:
        assert set(bug.exposed_with) <= keywords, f"{bug.id}: exposed_with names a non-keyword"


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.id)
def test_variant_runs_and_departs_from_the_correct_function_on_the_suite(bug: KnownBug) -> None:
    """Neither raises (a schedule's variant may: a crash is observable), and the traces part."""
    kind, options = KIND[bug.function], bug.exposed_with
    expected, error = trace_of(bug.function, reference.FUNCTIONS[bug.function], kind, options)
    assert error is None, f"the correct {bug.function} fails under {dict(options)}: {error}"
    observed, error = trace_of(bug.id, bug.run, kind, options)
    assert error is None or kind == "schedule", f"{bug.id} fails on the suite: {error}"
    assert differs(observed, expected), (
        f"{bug.id} leaves the same trace as the correct {bug.function} on the whole suite"
    )


def pairs_of_the_same_function() -> list[tuple[KnownBug, KnownBug]]:
    return [(a, b) for a, b in itertools.combinations(KNOWN_BUGS, 2) if a.function == b.function]


@pytest.mark.parametrize(
    ("first", "second"), pairs_of_the_same_function(), ids=lambda bug: bug.name
)
def test_no_two_variants_are_indistinguishable(first: KnownBug, second: KnownBug) -> None:
    kind = KIND[first.function]
    for options in (first.exposed_with, second.exposed_with):
        first_trace, _ = trace_of(first.id, first.run, kind, options)
        second_trace, _ = trace_of(second.id, second.run, kind, options)
        if differs(first_trace, second_trace):
            return
    pytest.fail(f"{first.id} and {second.id} leave the same trace on the whole suite")
