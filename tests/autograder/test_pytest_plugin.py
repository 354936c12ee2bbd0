"""`pytest` in an assignment folder: the kit's plugin runs its visible cases, one test each.

Every run is a real `pytest` process in a copy of the released gradient_descent folder, read
back through pytest's own JUnit XML report, and held against `grade` and `optim-grader check`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.catalog import assignment
from autograder.expectations import shared_reference
from autograder.grading import grade_submission
from autograder.public_expected import PublicExpectations
from autograder.rubric import load_rubric
from tests.fixtures.students.apply_mutation import student_module
from tests.fixtures.students.gradient_descent_mutations import MUTATIONS

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = assignment("gradient_descent")
MODULE = ASSIGNMENT.module
BUG = "momentum/ema_dampening"
STAND_IN_ERROR = "the grading worker did not start (a test's stand-in)"
# Records the worker runs of a session (and, with FAIL, stands in for a worker that cannot
# start): a conftest a student never needs, here to watch the plugin.
WORKER_RUNS = """
import json
from pathlib import Path

import autograder.grading as grading
from autograder.errors import WorkerError

FAIL = {fail}
RUNS = []
run_in_workers = grading.run_in_workers


def watched(module, requests, workers, **options):
    RUNS.append([r.function for r in requests])
    if FAIL:
        raise WorkerError({error!r})
    return run_in_workers(module, requests, workers, **options)


grading.run_in_workers = watched


def pytest_sessionfinish(session):
    Path("worker_runs.json").write_text(json.dumps(RUNS))
"""


def watch_worker(folder: Path, *, fail: bool = False) -> None:
    (folder / "conftest.py").write_text(WORKER_RUNS.format(fail=fail, error=STAND_IN_ERROR))


def worker_runs(folder: Path) -> list[list[str]]:
    """The functions of the requests of each run of workers the session made."""
    return list(json.loads((folder / "worker_runs.json").read_text()))


def released_folder(tmp_path: Path, module_source: str | None = None) -> Path:
    """A copy of the released assignment folder, its module replaced by `module_source`."""
    folder = tmp_path / ASSIGNMENT.name
    shutil.copytree(ROOT / "assignments" / ASSIGNMENT.name, folder)
    if module_source is not None:
        (folder / MODULE).write_text(module_source)
    return folder


def run_pytest(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """`python -m pytest ARGS` in `folder`, and each test's outcome: "passed", or the failure
    text pytest's JUnit XML holds for it (what it prints under the test's name)."""
    report = folder / "report.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider",
         f"--junitxml={report}", *args],
        cwd=folder, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        outcomes[case.attrib["name"]] = "passed" if failure is None else str(failure.text)
    return result, outcomes


def misconception_of(folder: Path, bug: str) -> str:
    """The misconception the released expected values give for `bug`."""
    function = bug.split("/")[0]
    document = json.loads((folder / "expected" / "known-bugs" / f"{function}.json").read_text())
    return next(
        v["misconception"] for vs in document["variants"].values() for v in vs if v["bug"] == bug
    )


def test_collect_only_lists_each_visible_case_under_its_function_without_torch(tmp_path: Path):
    folder = released_folder(tmp_path)
    code = (
        "import sys, pytest; code = pytest.main(['--collect-only', '-q']);"
        " sys.exit(3 if 'torch' in sys.modules else code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    cases = PublicExpectations(folder).cases
    assert sorted(collected) == sorted(f"{MODULE}::{c.function}::{c.name}" for c in cases)
    in_order = list(dict.fromkeys(line.split("::")[1] for line in collected))
    assert in_order == [f.name for f in ASSIGNMENT.functions]


def test_the_plugin_collects_nothing_outside_an_assignment_folder(tmp_path: Path):
    folder = tmp_path / "not_an_assignment"
    shutil.copytree(ROOT / "tests" / "fixtures" / "submissions" / "correct", folder)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=folder, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout


def test_stubs_fail_not_implemented_in_one_worker_run_without_traceback(tmp_path: Path):
    folder = released_folder(tmp_path)
    watch_worker(folder)
    result, outcomes = run_pytest(folder)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    cases = PublicExpectations(folder).cases
    assert sorted(outcomes) == sorted(c.name for c in cases)
    for case in cases:
        assert outcomes[case.name] == f"{MODULE}: {case.function} is not implemented yet"
    assert worker_runs(folder) == [[c.function for c in cases]]
    assert "Traceback" not in result.stdout
    assert "autograder" not in result.stdout


def test_a_worker_that_cannot_start_fails_every_case_with_one_line_once(tmp_path: Path):
    folder = released_folder(tmp_path, (ROOT / "solutions" / MODULE).read_text())
    watch_worker(folder, fail=True)
    result, outcomes = run_pytest(folder)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert len(outcomes) == len(PublicExpectations(folder).cases)
    assert set(outcomes.values()) == {STAND_IN_ERROR}
    assert len(worker_runs(folder)) == 1
    assert "Traceback" not in result.stdout


def test_the_solution_passes_every_case(tmp_path: Path):
    folder = released_folder(tmp_path, (ROOT / "solutions" / MODULE).read_text())
    result, outcomes = run_pytest(folder)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert sorted(outcomes) == sorted(c.name for c in PublicExpectations(folder).cases)
    assert set(outcomes.values()) == {"passed"}


@pytest.mark.slow
def test_a_known_bug_fails_its_cases_as_grade_and_check_say(tmp_path: Path):
    """Case by case the plugin's verdicts and messages are grade's on the visible cases, and
    per function check's; MODULE::FUNCTION runs one function's cases in one worker run."""
    function = BUG.split("/")[0]
    source = student_module(ROOT / "solutions" / MODULE, {function: MUTATIONS[BUG]})
    folder = released_folder(tmp_path, source)
    result, outcomes = run_pytest(folder)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    rubric = load_rubric(ASSIGNMENT.name)
    graded = grade_submission(folder, rubric, shared_reference(), cases=rubric.visible)
    assert sorted(outcomes) == sorted(c.name for c in graded.checks)
    for case in graded.checks:
        assert outcomes[case.name] == ("passed" if case.passed else case.message), case.name
    failing = {name.split("/")[0] for name, outcome in outcomes.items() if outcome != "passed"}
    assert failing == {function}
    misconception = misconception_of(folder, BUG).rstrip(".")
    checks = ("purity", "device", "efficiency", "errors")  # count once values are right
    wrong_values = [
        o
        for n, o in outcomes.items()
        if n.startswith(f"{function}/") and n.rsplit("/", 1)[1] not in checks and o != "passed"
    ]
    assert wrong_values and all(f"likely mistake: {misconception}" in o for o in wrong_values)

    checked = subprocess.run(
        [sys.executable, "-m", "autograder", "check"],
        cwd=folder, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = checked.stdout.splitlines()
    failing_in_check = {line.split()[1].rstrip(":") for line in lines if line.startswith("FAIL")}
    assert failing_in_check == failing

    watch_worker(folder)
    result, selected = run_pytest(folder, f"{MODULE}::{function}")
    assert selected == {n: o for n, o in outcomes.items() if n.startswith(f"{function}/")}
    assert worker_runs(folder) == [[function] * len(selected)]
