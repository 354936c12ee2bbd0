"""A submission graded alone (`grade`, `check`) spreads its cases over a worker per spare core,
each function's cases in one worker: the report is the one a single worker gives."""

from __future__ import annotations

import collections
import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autograder.expectations import shared_reference
from autograder.grading import grade_submission
from autograder.measured_checks import with_secret_seed
from autograder.rubric import load_rubric
from autograder.worker import CaseRequest
from autograder.worker.host import session
from autograder.worker.host.session import _whole_functions
from tests.fixtures.students.apply_mutation import mutate
from tests.fixtures.students.gradient_descent_mutations import MUTATIONS

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "gradient_descent.py"
EXITS = ROOT / "tests" / "fixtures" / "hostile" / "exits" / "gradient_descent.py"


def test_groups_hold_whole_functions_about_even_in_cases() -> None:
    requests = [case.student_request for case in load_rubric("gradient_descent").cases]
    groups = _whole_functions(requests, 2)
    assert len(groups) == 2
    assert sorted(index for group in groups for index in group) == list(range(len(requests)))
    first, second = ({requests[index].function for index in group} for group in groups)
    assert first.isdisjoint(second)
    largest = max(collections.Counter(request.function for request in requests).values())
    assert abs(len(groups[0]) - len(groups[1])) <= largest
    assert _whole_functions(requests, 1) == [list(range(len(requests)))]
    one_function = [request for request in requests if request.function == "gd"]
    assert _whole_functions(one_function, 2) == [list(range(len(one_function)))]


def _buggy(tmp_path: Path) -> Path:
    bug, edits = next(iter(MUTATIONS.items()))
    module = tmp_path / "gradient_descent.py"
    module.write_text(mutate(SOLUTION.read_text(), bug.split("/")[0], edits))
    return module


@pytest.mark.slow
@pytest.mark.parametrize("submission", ["buggy", "exits"])
def test_two_workers_grade_as_one(submission: str, tmp_path: Path) -> None:
    module = _buggy(tmp_path) if submission == "buggy" else EXITS
    rubric, reference = load_rubric("gradient_descent"), shared_reference()
    reports = [
        grade_submission(module, rubric, reference, workers=workers, case_time_limit=5)
        for workers in (1, 2)
    ]
    one, two = (  # efficiency cases are timed by the wall clock: the machine's load decides
        [
            (c.name, c.status, c.score)
            for f in report.functions
            for c in f.checks
            if c.category != "efficiency"
        ]
        for report in reports
    )
    assert one == two
    assert any(score < 1e-9 for _, _, score in one)  # the submission loses points somewhere


Run = tuple[list[CaseRequest], float, float]  # one run_cases: its requests, start and end


def _record_runs(monkeypatch: pytest.MonkeyPatch) -> list[Run]:
    """Each run_cases of what follows (a worker and those replacing it), as it ends."""
    runs: list[Run] = []
    real = session.run_cases

    def spanned(module_path: Path, requests: list[CaseRequest], **options: Any) -> Any:
        start = time.monotonic()
        try:
            return real(module_path, requests, **options)
        finally:
            runs.append((list(requests), start, time.monotonic()))

    monkeypatch.setattr(session, "run_cases", spanned)
    return runs


@pytest.mark.slow
def test_efficiency_cases_run_last_with_no_other_worker_beside_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """They are timed by the wall clock: another worker of the same grade would slow them."""
    runs = _record_runs(monkeypatch)
    grade_submission(SOLUTION, load_rubric("gradient_descent"), shared_reference(), workers=2)
    measured = [({r.measure for r in requests}, start, end) for requests, start, end in runs]
    timed = [run for run in measured if "efficiency" in run[0]]
    others = [run for run in measured if "efficiency" not in run[0]]
    assert timed
    assert all(measures == {"efficiency"} for measures, _, _ in timed)
    for _, start, end in timed:
        assert all(other_end <= start or end <= other_start for _, other_start, other_end in others)
    assert any(  # the other cases did share the time: two workers ran at once
        a_start < b_end and b_start < a_end
        for (_, a_start, a_end), (_, b_start, b_end) in itertools.combinations(others, 2)
    )


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_every_visible_case_is_reported_before_a_worker_sees_a_hidden_one(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a visible case reports (a student's exception text) must tell nothing of a hidden
    case: one worker runs them all, visible first; several finish the visible ones first."""
    rubric = load_rubric("gradient_descent")
    requests = {visible: {with_secret_seed(c.student_request) for c in rubric.cases
                          if c.visible == visible} for visible in (True, False)}  # fmt: skip
    hidden_only = requests[False] - requests[True]
    runs = _record_runs(monkeypatch)
    grade_submission(SOLUTION, rubric, shared_reference(), workers=workers)
    for chosen, _, _ in runs:  # within a worker, in the order it gets them
        first = next((k for k, r in enumerate(chosen) if r in hidden_only), len(chosen))
        assert not any(r in requests[True] for r in chosen[first:])
    sees_hidden = [(start, end) for chosen, start, end in runs if set(chosen) & hidden_only]
    reports_visible = [(start, end) for chosen, start, end in runs if set(chosen) & requests[True]]
    if workers == 1:
        assert len(runs) == 1  # the second worker's start is saved
    else:
        assert all(end <= start for _, end in reports_visible for start, _ in sees_hidden)


HANGS = "def gd(x, grad, state, **options):\n    while True:\n        pass\n\n\nmomentum = gd\n"


@pytest.mark.slow
def test_ctrl_c_ends_every_worker_of_a_grade_at_once(tmp_path: Path) -> None:
    """Two workers each wait on a case that never ends (limit 60 s): Ctrl-C ends both."""
    module = tmp_path / "gradient_descent.py"
    module.write_text(HANGS)
    command = [sys.executable, "-m", "autograder", "grade", str(module), "--assignment",
               "gradient_descent", "--case-time-limit", "60", "--time-budget", "600"]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    ) as process:  # fmt: skip
        time.sleep(8)  # the fork server is up and both workers are in their first case
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        process.wait(timeout=60)
    assert time.monotonic() - interrupted < 20
    assert process.returncode != 0
