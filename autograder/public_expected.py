"""The public expected values: the visible cases of an assignment, as plain JSON data.

`release` writes them beside the stubs: expected/FUNCTION.json holds each visible case's
request and the reference's outcome, expected/known-bugs/FUNCTION.json the outcome of each
known bug of the function on each case (most of the bytes, read only where a case fails).
`check` reads them back as its Expectations, so students get the same verdicts and diagnoses
as the grader on the visible cases, without the reference or the solutions. No pickle: floats are
JSON numbers written with repr (exact round trip), NaN and infinities as JSON's extensions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from autograder.config import dtype_name
from autograder.errors import UsageError
from autograder.expectations import Expectations
from autograder.results import Diagnosis
from autograder.rubric import Case, Rubric
from autograder.trajectory import Trajectory
from autograder.worker import CaseOutcome, CaseRequest

FOLDER = "expected"
KNOWN_BUGS = "known-bugs"  # the subfolder of FOLDER with the known bugs' outcomes
FORMAT_VERSION = 2


def _tensor_json(tensor: torch.Tensor) -> dict[str, Any]:
    return {"dtype": dtype_name(tensor.dtype), "shape": list(tensor.shape),
            "values": tensor.detach().reshape(-1).tolist()}  # fmt: skip


def _tensor(data: Mapping[str, Any]) -> torch.Tensor:
    dtype = getattr(torch, str(data["dtype"]))
    return torch.tensor(data["values"], dtype=dtype).reshape(data["shape"])


def outcome_json(outcome: CaseOutcome) -> dict[str, Any]:
    """What check needs of an outcome: the recorded values (optimizers, schedules, samplers,
    training loops).

    Points are stacked over steps; each state entry is stacked over the steps that hold it.
    """
    data: dict[str, Any] = {}
    if outcome.trajectory is not None:
        path = outcome.trajectory
        data["points"] = _tensor_json(torch.stack(path.points))
        data["losses"] = list(path.losses)
        data["steps"] = len(path.states)
        names = sorted({name for state in path.states for name in state})
        data["states"] = {
            name: {
                "steps": [k for k, s in enumerate(path.states) if name in s],
                **_tensor_json(torch.stack([s[name] for s in path.states if name in s])),
            }
            for name in names
        }
    if outcome.lrs is not None:
        data["lrs"] = list(outcome.lrs)
    if outcome.batches is not None:
        data["batches"] = [b.tolist() for b in outcome.batches]
    if outcome.losses is not None and outcome.parameters is not None:
        data["minibatch_losses"] = list(outcome.losses)
        data["parameters"] = _tensor_json(outcome.parameters)
    return data


def outcome_from_json(request: CaseRequest, data: Mapping[str, Any]) -> CaseOutcome:
    trajectory = None
    if "points" in data:
        states: list[dict[str, torch.Tensor]] = [{} for _ in range(int(data["steps"]))]
        for name, entry in data["states"].items():
            for step, value in zip(entry["steps"], _tensor(entry).unbind(0), strict=True):
                states[step][name] = value
        trajectory = Trajectory(
            _tensor(data["points"]).unbind(0),
            tuple(float(v) for v in data["losses"]),
            tuple(states),
        )
    lrs = tuple(float(v) for v in data["lrs"]) if "lrs" in data else None
    batches = (
        tuple(torch.tensor(b, dtype=torch.int64) for b in data["batches"])
        if "batches" in data
        else None
    )
    training = "minibatch_losses" in data
    return CaseOutcome(
        request,
        "ran",
        "",
        trajectory=trajectory,
        lrs=lrs,
        batches=batches,
        losses=tuple(float(v) for v in data["minibatch_losses"]) if training else None,
        parameters=_tensor(data["parameters"]) if training else None,
    )


def expected_files(rubric: Rubric, expectations: Expectations) -> dict[str, bytes]:
    """expected/FUNCTION.json and expected/known-bugs/FUNCTION.json for every function with
    visible cases, deterministic bytes."""
    files: dict[str, bytes] = {}
    for graded in rubric.assignment.functions:
        cases = [c for c in rubric.for_function(graded.name) if c.visible]
        if not cases:
            continue
        entries = [_entry(case, expectations) for case in cases]
        known_bugs = {case.name: _variants(case, expectations) for case in cases}
        for path, key, value in (
            (f"{FOLDER}/{graded.name}.json", "cases", entries),
            (f"{FOLDER}/{KNOWN_BUGS}/{graded.name}.json", "variants", known_bugs),
        ):
            document = {"format": FORMAT_VERSION, "function": graded.name, key: value}
            files[path] = (json.dumps(document, separators=(",", ":")) + "\n").encode()
    return files


def _entry(case: Case, expectations: Expectations) -> dict[str, Any]:
    """A visible case as JSON: its requests, and the reference's outcome when it compares
    values."""
    entry: dict[str, Any] = {
        "name": case.name, "category": case.category, "points": case.points,
        "request": case.reference_request.to_json(), "expected": {},
    }  # fmt: skip
    if case.student_request != case.reference_request:
        entry["student_request"] = case.student_request.to_json()
    if case.allow_delegation:
        entry["allow_delegation"] = True
    if case.raises is not None:
        entry["raises"] = case.raises
    if case.by_value:
        entry["expected"] = outcome_json(expectations.expected(case))
    return entry


def _variants(case: Case, expectations: Expectations) -> list[dict[str, Any]]:
    """The known bugs' outcomes on a case that compares values, as JSON; none on another."""
    if not case.by_value:
        return []
    return [
        {"bug": d.bug, "misconception": d.misconception, "hint": d.hint,
         "outcome": outcome_json(o)}
        for d, o in expectations.variants(case)
        if o.ok
    ]  # fmt: skip


class PublicExpectations:
    """Expectations read from an assignment folder's expected/ (what `check` uses). Outcomes
    are made from their JSON when first asked for: the known bugs' only for a case that fails
    (their file is read then), and a passing solution asks for none of them."""

    def __init__(self, folder: Path) -> None:
        self.cases: list[Case] = []
        self._folder = folder / FOLDER
        self._entries: dict[str, Mapping[str, Any]] = {}
        self._expected: dict[str, CaseOutcome] = {}
        self._variants: dict[str, list[tuple[Diagnosis, CaseOutcome]]] = {}
        self._known_bugs: dict[str, Mapping[str, Any]] = {}  # by function: by case name
        for path in sorted(self._folder.glob("*.json")):
            document = _document(path)
            for entry in document["cases"]:
                request = CaseRequest.from_json(entry["request"])
                student = CaseRequest.from_json(entry.get("student_request", entry["request"]))
                case = Case(request, student, entry["category"], True, float(entry["points"]),
                            allow_delegation=entry.get("allow_delegation", False),
                            raises=entry.get("raises"))  # fmt: skip
                self.cases.append(case)
                self._entries[case.name] = entry

    def expected(self, case: Case) -> CaseOutcome:
        if case.name not in self._expected:
            entry = self._entries[case.name]
            self._expected[case.name] = outcome_from_json(case.reference_request, entry["expected"])
        return self._expected[case.name]

    def variants(self, case: Case) -> Sequence[tuple[Diagnosis, CaseOutcome]]:
        if case.function not in self._known_bugs:
            path = self._folder / KNOWN_BUGS / f"{case.function}.json"
            self._known_bugs[case.function] = _document(path)["variants"]
        if case.name not in self._variants:
            self._variants[case.name] = [
                (Diagnosis(v["bug"], v["misconception"], v["hint"]),
                 outcome_from_json(case.reference_request, v["outcome"]))
                for v in self._known_bugs[case.function][case.name]
            ]  # fmt: skip
        return self._variants[case.name]

    def efficiency_last(self, request: CaseRequest) -> None:
        """None: without the reference, `check` times an efficiency run but cannot check its
        values (grade does)."""
        return None

    def pair(self, case: Case, first: str, second: str) -> tuple[Diagnosis, CaseOutcome] | None:
        """None: expected/ holds single known bugs only, so `check` names no pair."""
        return None


def _document(path: Path) -> Mapping[str, Any]:
    """The JSON document of an expected/ file written by this version of the kit."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not JSON
        document = None
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION:
        raise UsageError(
            f"{path}: missing, unreadable, or written by another version of optim-grader; get "
            "the assignment folder again from your course (its expected/ goes with the kit)"
        )
    return document
