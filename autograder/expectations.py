"""What a case should give, and what each known bug would give: the grader's two sources.

`grade` computes both from `reference/`, each case once per process and kept on disk between
runs (reference_cache.py);
`check` reads them from the public expected values that `release` writes beside the stubs,
so it works where `reference/` does not exist. The engine cannot tell the two apart.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from torch import Tensor

from autograder.results import Diagnosis
from autograder.rubric import Case
from autograder.worker import CaseOutcome, CaseRequest
from autograder.worker.child.calls import base_lr
from autograder.worker.child.efficiency_runner import efficiency_start, measured_steps
from autograder.worker.child.runners import Student, run_case
from autograder.worker.host.replies import outcome_from_reply, sampled_coordinates


class Expectations(Protocol):
    """The expected outcome of a case, and the outcomes of the known bugs of its function."""

    def expected(self, case: Case) -> CaseOutcome: ...

    def variants(self, case: Case) -> Sequence[tuple[Diagnosis, CaseOutcome]]: ...

    def efficiency_last(self, request: CaseRequest) -> Tensor | None:
        """The reference's last x on an efficiency run, at the coordinates the grading process
        samples (replies.sampled_coordinates); None where there is no reference."""
        ...

    def pair(self, case: Case, first: str, second: str) -> tuple[Diagnosis, CaseOutcome] | None:
        """Two known bugs (ids of `variants`) made at once, or None where they cannot be."""
        ...


def run_in_process(function: Callable[..., Any], request: CaseRequest) -> CaseOutcome:
    """Run trusted kit code (the reference, a bug variant) on a case, exactly as the worker
    runs a student's function: the same reshaping, snapshots and checks."""
    module = types.ModuleType("reference_run")
    setattr(module, request.function, function)
    reply = run_case(Student(module, Path("reference.py")), request)
    return outcome_from_reply(request, {**reply.header, "id": 0}, reply.arrays, case_id=0)


class ReferenceExpectations:
    """Outcomes computed from `reference/`, each case once per process."""

    def __init__(self) -> None:
        import reference
        from autograder.reference_cache import DiskCache
        from reference.bugs import known_bugs

        self._functions = reference.FUNCTIONS
        self._known_bugs = known_bugs
        self._disk = {kind: DiskCache(kind) for kind in ("expected", "variants")}
        self._expected: dict[CaseRequest, CaseOutcome] = {}
        self._variants: dict[CaseRequest, list[tuple[Diagnosis, CaseOutcome]]] = {}
        self._last: dict[CaseRequest, Tensor] = {}
        self._pairs: dict[tuple[CaseRequest, str, str], tuple[Diagnosis, CaseOutcome] | None] = {}
        # A batch grades submissions in threads: each case is computed once, under the lock.
        self._filling = threading.Lock()

    def expected(self, case: Case) -> CaseOutcome:
        request = case.reference_request
        if request in self._expected:
            return self._expected[request]
        with self._filling:
            if request not in self._expected:
                outcome = self._computed_expected(request)
                if not outcome.ok:
                    raise RuntimeError(
                        f"the reference fails its own case {case.name}: {outcome.message}"
                    )
                self._expected[request] = outcome
        return self._expected[request]

    def variants(self, case: Case) -> Sequence[tuple[Diagnosis, CaseOutcome]]:
        request = case.reference_request
        if request in self._variants:
            return self._variants[request]
        with self._filling:
            if request not in self._variants:
                self._variants[request] = self._computed_variants(request)
        return self._variants[request]

    def efficiency_last(self, request: CaseRequest) -> Tensor:
        """The reference's last x on the efficiency run of `request`, on the CPU, at the
        sampled coordinates: once per request per process (never on disk: the run's seed
        and the sample are drawn per process)."""
        if request not in self._last:
            with self._filling:
                if request not in self._last:
                    self._last[request] = self._computed_last(request)
        return self._last[request]

    def _computed_last(self, request: CaseRequest) -> Tensor:
        function = self._functions[request.function]
        on_cpu = replace(request, device="cpu")
        state: dict[Any, Any] = {}

        def call(step: int, x: Tensor, grad: Tensor, kwargs: dict[str, Any]) -> Tensor:
            result: Tensor = function(x, grad, state, **kwargs)
            return result

        lr = base_lr(function, request.hyperparameters)
        last = measured_steps(call, on_cpu, efficiency_start(on_cpu), lr)
        return last[sampled_coordinates(request.size)]

    def pair(self, case: Case, first: str, second: str) -> tuple[Diagnosis, CaseOutcome] | None:
        key = (case.reference_request, first, second)
        if key not in self._pairs:
            with self._filling:
                if key not in self._pairs:
                    self._pairs[key] = self._computed_pair(*key)
        return self._pairs[key]

    def _computed_pair(
        self, request: CaseRequest, first: str, second: str
    ) -> tuple[Diagnosis, CaseOutcome] | None:
        """The pair's outcome, from the disk cache or run now; None when they do not compose."""
        from autograder.reference_cache import DiskCache, from_record, record
        from reference.known_bug import combined

        bugs = {bug.id: bug for bug in self._known_bugs(request.function)}
        both = combined(bugs[first], bugs[second])
        if both is None:
            return None
        diagnosis = Diagnosis(both.id, both.misconception, both.hint)
        outcome = DiskCache(f"pair {both.id}").fetch(
            request,
            lambda: run_in_process(both.run, request),
            record,
            lambda data: from_record(request, data),
        )
        return diagnosis, outcome

    def _computed_expected(self, request: CaseRequest) -> CaseOutcome:
        """The reference's outcome, from the disk cache or run now."""
        from autograder.reference_cache import from_record, record

        return self._disk["expected"].fetch(
            request,
            lambda: run_in_process(self._functions[request.function], request),
            record,
            lambda data: from_record(request, data),
        )

    def _computed_variants(self, request: CaseRequest) -> list[tuple[Diagnosis, CaseOutcome]]:
        """Each known bug's outcome, from the disk cache or run now."""
        from autograder.reference_cache import from_record, record

        def compute() -> list[tuple[Diagnosis, CaseOutcome]]:
            return [
                (Diagnosis(bug.id, bug.misconception, bug.hint), run_in_process(bug.run, request))
                for bug in self._known_bugs(request.function)
            ]

        def encode(variants: list[tuple[Diagnosis, CaseOutcome]]) -> list[dict[str, Any]]:
            return [{**asdict(d), "outcome": record(o)} for d, o in variants]

        def decode(data: list[dict[str, Any]]) -> list[tuple[Diagnosis, CaseOutcome]]:
            return [
                (
                    Diagnosis(v["bug"], v["misconception"], v["hint"]),
                    from_record(request, v["outcome"]),
                )
                for v in data
            ]

        return self._disk["variants"].fetch(request, compute, encode, decode)


@cache
def shared_reference() -> ReferenceExpectations:
    """One ReferenceExpectations per process: reference outcomes depend on the case alone, so
    every submission graded in this process reuses them."""
    return ReferenceExpectations()
