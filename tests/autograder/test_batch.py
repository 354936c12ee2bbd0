"""`optim-grader batch`: discovery, the gradebook that loses nothing, the regenerated outputs,
and a class of honest and hostile students graded together."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autograder import expectations as expectations_module
from autograder.batch import discover, open_gradebook
from autograder.batch import run as batch_run
from autograder.batch.class_report import render_class_report
from autograder.batch.discover import content_hash
from autograder.batch.gradebook import Graded, Stored
from autograder.batch.mistakes import rooted_mistakes, unexplained_groups
from autograder.batch.outputs import grades_csv, write_atomically
from autograder.batch.progress import LineReporter
from autograder.catalog import assignment as find_assignment
from autograder.cli import main
from autograder.errors import ClassFolderError, GradebookError
from autograder.expectations import ReferenceExpectations, shared_reference
from autograder.grading import grade_submission
from autograder.results import CaseResult, Diagnosis, FunctionResult, GradeReport
from autograder.rubric import load_rubric
from autograder.worker.host import session

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "class" / "gradient_descent"
GD = "gradient_descent"
MODULE = "gradient_descent.py"
LIMIT = "1"  # seconds per case: dave's momentum never returns


# --- discovery -------------------------------------------------------------------------------


def _module(folder: Path, text: str = "x = 1\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODULE).write_text(text)
    return folder


def test_every_kind_of_entry_is_one_student_and_litter_is_ignored(tmp_path: Path) -> None:
    _module(tmp_path / "alice")
    (tmp_path / "bob.py").write_text("x = 1\n")
    with zipfile.ZipFile(tmp_path / "carol.zip", "w") as bundle:
        bundle.writestr(MODULE, "x = 1\n")
    (tmp_path / "dave.ipynb").write_text('{"cells": []}')
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    _module(tmp_path / "__MACOSX")
    _module(tmp_path / ".git")
    found = discover(tmp_path)
    assert [(s.student, s.source, s.problem) for s in found] == [
        ("alice", "alice/", ""),
        ("bob", "bob.py", ""),
        ("carol", "carol.zip", ""),
        ("dave", "dave.ipynb", ""),
    ]


def test_two_entries_of_one_student_are_recorded_as_an_error_naming_both(tmp_path: Path) -> None:
    _module(tmp_path / "alice")
    (tmp_path / "alice.zip").write_bytes(b"")
    (tmp_path / "bob.rar").write_bytes(b"")
    alice, bob = discover(tmp_path)
    assert alice.path is None and "alice/" in alice.problem and "alice.zip" in alice.problem
    assert bob.path is None and "bob.rar is not a folder, a .py, a .zip" in bob.problem


@pytest.mark.parametrize("layout", ["missing", "a file", "only hidden entries"])
def test_a_class_folder_without_submissions_is_refused_by_name(tmp_path: Path, layout: str) -> None:
    folder = tmp_path / "class"
    if layout == "a file":
        folder.write_text("")
    elif layout == "only hidden entries":
        _module(folder / ".ipynb_checkpoints")
    with pytest.raises(ClassFolderError, match=str(folder)):
        discover(folder)


def test_the_output_folder_inside_the_class_folder_is_no_student(tmp_path: Path) -> None:
    _module(tmp_path / "alice")
    (tmp_path / "grades").mkdir()
    assert [s.student for s in discover(tmp_path, exclude=tmp_path / "grades")] == ["alice"]


def test_the_content_hash_follows_the_files_not_their_place(tmp_path: Path) -> None:
    first = _module(tmp_path / "one" / "alice", "def gd(): pass\n")
    second = tmp_path / "two" / "alice"
    shutil.copytree(first, second)
    (second / ".DS_Store").write_bytes(b"junk")
    assert content_hash(first) == content_hash(second)
    (second / MODULE).write_text("def gd(): pass  # edited\n")
    assert content_hash(first) != content_hash(second)
    (second / MODULE).write_text("def gd(): pass\n")
    (second / MODULE).rename(second / "other.py")
    assert content_hash(first) != content_hash(second)


# --- the gradebook ---------------------------------------------------------------------------


def _check(name: str, score: float, bug: str | None = None, message: Any = "msg") -> CaseResult:
    function = name.split("/")[0]
    diagnosis = None if bug is None else Diagnosis(bug, f"believes {bug}", f"re-read {bug}")
    status = "passed" if score else "diverged"
    return CaseResult(name, function, "convex", True, 5.0, score, status, message, None, diagnosis)


def _graded(student: str, checks: list[CaseResult], errors: tuple[str, ...] = ()) -> Graded:
    functions = tuple(
        FunctionResult(f, tuple(c for c in checks if c.function == f), f"{f} headline")
        for f in dict.fromkeys(c.function for c in checks)
    )
    report = GradeReport(GD, student, functions, errors)
    return Graded(student, f"{student}/", "h-" + student, "rubric", 40.0, report, "", "<html>")


def _rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def test_recording_again_replaces_every_row_of_the_student(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.sqlite"
    with open_gradebook(path, GD) as book:
        book.record(
            _graded("alice", [_check("gd/a", 5), _check("gd/b", 0), _check("momentum/a", 5)])
        )
        book.record(_graded("alice", [_check("gd/a", 5)]))
        assert book.fingerprints() == {"alice": ("h-alice", "rubric", "graded")}
    assert _rows(path, "SELECT name, score FROM checks") == [("gd/a", 5.0)]
    assert _rows(path, "SELECT function, score FROM function_scores") == [("gd", 5.0)]
    assert _rows(path, "PRAGMA journal_mode") == [("wal",)]


def test_a_record_that_fails_half_way_leaves_the_previous_one_whole(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.sqlite"
    with open_gradebook(path, GD) as book:
        book.record(_graded("alice", [_check("gd/a", 5), _check("gd/b", 5)]))
        broken = _graded("alice", [_check("gd/a", 0), _check("gd/b", 0, message=object())])
        with pytest.raises(sqlite3.Error):
            book.record(broken)  # the submission row is written before the bad check
    assert _rows(path, "SELECT score FROM submissions") == [(10.0,)]
    assert _rows(path, "SELECT name, score FROM checks ORDER BY position") == [
        ("gd/a", 5.0),
        ("gd/b", 5.0),
    ]


def test_a_gradebook_of_another_assignment_or_no_gradebook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.sqlite"
    with open_gradebook(path, GD) as book:
        book.record(_graded("alice", [_check("gd/a", 5)]))
    with pytest.raises(GradebookError, match="holds the grades of gradient_descent"):
        open_gradebook(path, "adaptive").__enter__()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(GradebookError, match="not a readable gradebook"):
        open_gradebook(junk, GD).__enter__()


def test_bugs_are_counted_in_students_and_attempts_are_cleared_by_a_record(tmp_path: Path) -> None:
    with open_gradebook(tmp_path / "gradebook.sqlite", GD) as book:
        book.begin_attempt("alice", "h-alice", alone=True)
        book.begin_attempt("bob", "h-bob", alone=False)
        assert book.unfinished_attempts() == {
            ("alice", "h-alice"): (1, 1),
            ("bob", "h-bob"): (0, 1),
        }
        three_cases = [_check(f"momentum/{p}", 0, bug="momentum/ema") for p in "abc"]
        book.record(_graded("alice", three_cases))
        book.record(
            _graded("bob", [_check("momentum/a", 0, "momentum/ema"), _check("gd/a", 0, "gd/sign")])
        )
        book.record(_graded("carol", [_check("gd/a", 5), _check("momentum/a", 0)]))
        assert book.unfinished_attempts() == {}
        order = [f.name for f in find_assignment(GD).functions]
        counts = [(m.function, m.bug, m.students) for m in rooted_mistakes(book.diagnoses(), order)]
        assert counts == [
            ("momentum", "momentum/ema", ("alice", "bob")),
            ("gd", "gd/sign", ("bob",)),
        ]
        failures = book.failures()
        assert (failures["momentum"].students, failures["momentum"].unexplained) == (3, 1)
        assert failures["momentum"].kinds == {"diverged": 3}


# --- outputs ---------------------------------------------------------------------------------


def test_grades_csv_shows_the_feedbacks_cents_in_catalog_order() -> None:
    third = 2 / 3  # 10 points over 15 cases: 0.666... each
    stored = [
        Stored("alice", "graded", 40.0, 40.0, "", {"gd": 10.0, "momentum": 10.0,
               "nesterov": 10.0, "minibatches": 10.0}, ""),
        Stored("bob", "graded", 20 + 2 * third, 40.0, "", {"minibatches": 10.0, "gd": 10.0,
               "momentum": third, "nesterov": third}, ""),
        Stored("mallory", "error", None, 40.0, "two entries", {}, ""),
    ]  # fmt: skip
    # bob: 21.333 -> 21.33; 0.666 + 0.666 floor to 0.66 + 0.66, the spare cent to the first.
    assert grades_csv(find_assignment(GD), stored) == (
        "student,score,max_score,gd,momentum,nesterov,minibatches\n"
        "alice,40,40,10,10,10,10\n"
        "bob,21.33,40,10,0.67,0.66,10\n"
        "mallory,,40,,,,\n"
    )


def test_files_are_replaced_whole_and_no_temporary_file_stays(tmp_path: Path) -> None:
    target = tmp_path / "grades.csv"
    write_atomically(target, "old\n")
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]


def test_the_class_report_ranks_misconceptions_by_students(tmp_path: Path) -> None:
    with open_gradebook(tmp_path / "gradebook.sqlite", GD) as book:
        for student in ("alice", "bob"):
            book.record(_graded(student, [_check("momentum/a", 0, "momentum/ema_dampening")]))
        book.record(_graded("carol", [_check("nesterov/a", 0, "nesterov/plain_momentum")]))
        order = [f.name for f in find_assignment(GD).functions]
        page = render_class_report(
            load_rubric(GD), book.submissions(), rooted_mistakes(book.diagnoses(), order),
            unexplained_groups(book.unexplained_failures()), book.failures(),
        )  # fmt: skip
    top = page.index("Most common misconceptions")
    first, second = page.index("momentum/ema_dampening", top), page.index("nesterov/plain", top)
    assert first < second
    assert "2 (67%)" in page and "1 (33%)" in page  # of the three graded students
    assert page.count("<img") == 3  # the histogram and one chart per function with bugs


def test_plain_progress_lines_carry_the_count_and_no_control_codes() -> None:
    stream = io.StringIO()
    with LineReporter(stream, 2) as progress:
        progress.done("alice: 40 / 40")
        progress.done("bob: 21.33 / 40")
    first, second = stream.getvalue().splitlines()
    assert first.startswith("[1/2, ETA ") and first.endswith("] alice: 40 / 40")
    assert second == "[2/2] bob: 21.33 / 40"
    assert "\x1b" not in stream.getvalue()


def test_threads_filling_the_reference_cache_compute_each_case_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPTIM_GRADER_CACHE", "off")  # the cache in memory alone
    calls: list[str] = []
    real = expectations_module.run_in_process

    def slow(function: Any, request: Any) -> Any:
        calls.append(request.function)
        time.sleep(0.05)  # widens the window in which a second thread would run it again
        return real(function, request)

    monkeypatch.setattr(expectations_module, "run_in_process", slow)
    reference = ReferenceExpectations()
    case = load_rubric(GD).for_function("gd")[0]
    threads = [threading.Thread(target=reference.expected, args=(case,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["gd"]


# --- the command -----------------------------------------------------------------------------


def _batch(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["batch", str(folder), "--assignment", GD, "--out", str(out), "--case-time-limit",
            LIMIT, *extra]  # fmt: skip


def _grade_rows(gradebook: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, timestamps aside."""
    return {
        "submissions": _rows(gradebook, "SELECT student, assignment, source, content_hash, "
                             "rubric_hash, status, score, max_score, error, feedback_html "
                             "FROM submissions ORDER BY student"),
        "function_scores": _rows(gradebook, "SELECT * FROM function_scores "
                                 "ORDER BY student, position"),
        "checks": _rows(gradebook, "SELECT * FROM checks ORDER BY student, position"),
        "attempts": _rows(gradebook, "SELECT student FROM attempts"),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["batch", "{tmp}/nowhere", "--assignment", GD, "--out", "{tmp}/out"], "nowhere"),
        (["batch", "{tmp}/empty", "--assignment", GD, "--out", "{tmp}/out"], "no submission"),
        (["batch", "{tmp}/empty", "--assignment", GD, "--out", "{tmp}/out", "-j", "0"], "-j"),
    ],
    ids=["missing folder", "empty folder", "no jobs"],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    (tmp_path / "empty").mkdir()
    assert main([a.format(tmp=tmp_path) for a in arguments]) == 2
    assert message in capsys.readouterr().err


def test_an_unknown_assignment_is_an_argparse_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(tmp_path), "--assignment", "nope", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2


def test_honest_students_get_their_own_grade_beside_hostile_ones_and_reruns_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(SAMPLE, folder)  # alice, bob (bugs), carol (syntax error), dave (hangs)
    assert main(_batch(folder, out, "-j", "2")) == 1
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "could not grade carol: gradient_descent.py" in printed
    gradebook = out / "gradebook.sqlite"
    rows = _rows(gradebook, "SELECT student, status, score FROM submissions ORDER BY student")
    assert [(s, status) for s, status, _ in rows] == [
        ("alice", "graded"), ("bob", "graded"), ("carol", "error"), ("dave", "graded")
    ]  # fmt: skip
    rubric = load_rubric(GD)
    for student in ("alice", "bob"):
        alone = grade_submission(folder / student, rubric, shared_reference(), case_time_limit=1)
        stored = _rows(gradebook, "SELECT name, score, status, message FROM checks "
                       f"WHERE student = '{student}' ORDER BY position")  # fmt: skip
        assert stored == [(c.name, c.score, c.status, c.message) for c in alone.checks]
    grades = list(csv.DictReader((out / "grades.csv").read_text().splitlines()))
    assert [g["student"] for g in grades] == ["alice", "bob", "carol", "dave"]
    assert grades[0] == {"student": "alice", "score": "40", "max_score": "40", "gd": "10",
                              "momentum": "10", "nesterov": "10", "minibatches": "10"}  # fmt: skip
    assert sorted(p.name for p in (out / "feedback").iterdir()) == [
        "alice.html", "bob.html", "carol.html", "dave.html"
    ]  # fmt: skip
    assert "syntax error" in (out / "feedback" / "carol.html").read_text()
    assert "momentum/ema_dampening" in (out / "class_report.html").read_text()

    before = _rows(gradebook, "SELECT student, graded_at FROM submissions ORDER BY student")
    (folder / "bob" / MODULE).write_text((folder / "bob" / MODULE).read_text() + "\n# edited\n")
    assert main(_batch(folder, out)) == 1
    printed = capsys.readouterr().out
    assert "2 of 4 submissions are graded and unchanged" in printed
    regraded = sorted(line.split("] ")[1].split(":")[0] for line in printed.splitlines()
                      if line.startswith("["))  # fmt: skip
    assert regraded == ["bob", "carol"]  # the edited one, and the one that could not be graded
    after = _rows(gradebook, "SELECT student, graded_at FROM submissions ORDER BY student")
    assert [after[0], after[3]] == [before[0], before[3]]


def test_a_batch_runs_at_most_j_workers_at_once_with_as_many_again_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "class"
    for student in ("alice", "bob", "erin", "frank"):
        shutil.copytree(SAMPLE / "alice", folder / student)
    in_flight, workers = _Gauge(), _Gauge()
    grade, start, stop = batch_run.grade_submission, session._start, session.stop_worker

    def counted_grade(*args: Any, **kwargs: Any) -> GradeReport:
        with in_flight.held():
            return grade(*args, **kwargs)

    def counted_start(*args: Any) -> Any:
        worker = start(*args)
        workers.add(worker)
        return worker

    def counted_stop(worker: Any, *args: Any) -> int:
        workers.discard(worker)
        return stop(worker, *args)

    monkeypatch.setattr(batch_run, "grade_submission", counted_grade)
    monkeypatch.setattr(session, "SLOW_CASE", 60.0)  # no case lends its place, however loaded
    monkeypatch.setattr(session, "_start", counted_start)
    monkeypatch.setattr(session, "stop_worker", counted_stop)
    assert main(_batch(folder, tmp_path / "out", "-j", "2")) == 0
    capsys.readouterr()
    assert (in_flight.most, workers.most) == (4, 2)


class _Gauge:
    """How many things are held at once, and the most ever held."""

    def __init__(self) -> None:
        self.now: set[object] = set()
        self.most = 0
        self._lock = threading.Lock()

    def add(self, thing: object) -> None:
        with self._lock:
            self.now.add(thing)
            self.most = max(self.most, len(self.now))

    def discard(self, thing: object) -> None:
        with self._lock:
            self.now.discard(thing)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        token = object()
        self.add(token)
        try:
            yield
        finally:
            self.discard(token)


HANGS = {  # a gd whose cases wait out their limit, and the seconds into a case it lends after
    "asleep": ("import time\n\n\ndef gd(x, grad, state, **h):\n    time.sleep(60)\n", 60.0),
    "spinning": ("def gd(x, grad, state, **h):\n    while True:\n        pass\n", None),
}


SCHEDSTAT = pytest.mark.skipif(
    not Path("/proc/self/schedstat").is_file(), reason="no /proc/PID/schedstat to see a sleep by"
)


@pytest.mark.slow
@pytest.mark.parametrize("hang", [pytest.param("asleep", marks=SCHEDSTAT), "spinning"])
def test_a_worker_that_waits_out_its_limit_lends_its_place_to_the_next_submission(
    hang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # asleep, it lends as soon as it is seen to use no CPU, long before SLOW_CASE
    source, slow_case = HANGS[hang]
    if slow_case is not None:
        monkeypatch.setattr(session, "SLOW_CASE", slow_case)
    folder = tmp_path / "class"
    for student in ("hana", "hiro"):  # a place each, for the whole limit
        _module(folder / student, source)
    shutil.copytree(SAMPLE / "alice", folder / "zoe")
    command = ["batch", str(folder), "--assignment", GD, "--out", str(tmp_path / "out"),
               "--case-time-limit", "6", "-j", "2"]  # fmt: skip
    assert main(command) == 0
    progress = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert "zoe: 40 / 40" in progress[0], progress  # graded while both others still hung


def _sigkill_class(folder: Path) -> None:
    """Three students, one per kind of entry: a folder, a module, a zip."""
    shutil.copytree(SAMPLE / "alice", folder / "alice")
    shutil.copy(SAMPLE / "bob" / MODULE, folder / "bob.py")
    with zipfile.ZipFile(folder / "erin.zip", "w") as bundle:
        bundle.write(SAMPLE / "alice" / MODULE, MODULE)


def test_a_batch_killed_after_its_first_commit_resumes_to_the_same_gradebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "class"
    _sigkill_class(folder)
    assert main(_batch(folder, tmp_path / "whole")) == 0
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder", *_batch(folder, killed)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        while not _committed(killed / "gradebook.sqlite") and time.monotonic() < deadline:
            assert process.poll() is None, "the batch ended before it was killed"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert 1 <= len(_rows(killed / "gradebook.sqlite", "SELECT * FROM submissions")) < 3
    assert main(_batch(folder, killed)) == 0
    capsys.readouterr()
    assert _grade_rows(killed / "gradebook.sqlite") == _grade_rows(
        tmp_path / "whole" / "gradebook.sqlite"
    )
    for name in ("grades.csv", "class_report.html", "feedback/bob.html", "feedback/erin.html"):
        assert (killed / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def _committed(gradebook: Path) -> bool:
    if not gradebook.exists():
        return False
    try:
        return bool(_rows(gradebook, "SELECT count(*) FROM submissions")[0][0])
    except sqlite3.OperationalError:  # not created yet, or locked for a moment
        return False


def _kill_while_grading(command: list[str], gradebook: Path, student: str) -> str:
    """Run the batch and SIGKILL it once it has begun grading `student`; what it printed."""
    before = _attempts(gradebook, student)
    with subprocess.Popen(
        [sys.executable, "-m", "autograder", *command],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, text=True,
    ) as process:  # fmt: skip
        deadline = time.monotonic() + 40
        while _attempts(gradebook, student) == before and time.monotonic() < deadline:
            assert process.poll() is None, "the batch ended before it was killed"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        printed, _ = process.communicate()
    return printed


def _attempts(gradebook: Path, student: str) -> int:
    """How many gradings of `student` have begun and not been recorded."""
    try:
        query = f"SELECT count(*) FROM attempts WHERE student = '{student}'"
        return int(_rows(gradebook, query)[0][0])
    except sqlite3.OperationalError:  # not created yet, or locked for a moment
        return 0


def test_a_submission_the_grader_dies_on_is_isolated_then_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(SAMPLE / "alice", folder / "alice")
    shutil.copytree(SAMPLE / "dave", folder / "mallory")  # hangs: a wide window to die in
    gradebook = out / "gradebook.sqlite"
    _kill_while_grading(_batch(folder, out), gradebook, "mallory")
    printed = _kill_while_grading(_batch(folder, out), gradebook, "mallory")
    assert "the last run stopped while grading mallory" in printed
    assert main(_batch(folder, out)) == 1
    assert "could not grade mallory: the grader died 2 times" in capsys.readouterr().out
    rows = _rows(gradebook, "SELECT student, status, score FROM submissions ORDER BY student")
    assert rows == [("alice", "graded", 40.0), ("mallory", "error", None)]
    assert "died 2 times" in (out / "feedback" / "mallory.html").read_text()


def test_a_submission_graded_beside_one_the_grader_died_on_is_regraded_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(SAMPLE / "alice", folder / "alice")
    out.mkdir()
    with open_gradebook(out / "gradebook.sqlite", GD) as book:
        book.begin_attempt("alice", content_hash(folder / "alice"), alone=False)
    assert main(_batch(folder, out, "-j", "2")) == 0
    assert "the last run stopped while grading alice: grading them one at a time first" in (
        capsys.readouterr().out
    )
    assert _rows(out / "gradebook.sqlite", "SELECT student, score FROM submissions") == [
        ("alice", 40.0)
    ]
    assert _rows(out / "gradebook.sqlite", "SELECT * FROM attempts") == []


def test_an_interrupted_batch_records_what_was_running_and_exits_130(tmp_path: Path) -> None:
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(SAMPLE / "alice", folder / "alice")
    shutil.copytree(SAMPLE / "dave", folder / "dave")  # hangs: still running when interrupted
    with subprocess.Popen(
        [sys.executable, "-m", "autograder", *_batch(folder, out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    ) as process:  # fmt: skip
        deadline = time.monotonic() + 40
        while not _attempts(out / "gradebook.sqlite", "dave") and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate()
    assert process.returncode == 130
    assert "interrupted; what was graded is in" in errors
    gradebook = out / "gradebook.sqlite"
    assert _rows(gradebook, "SELECT student FROM submissions ORDER BY student") == [
        ("alice",), ("dave",)
    ]  # fmt: skip
    assert _rows(gradebook, "SELECT * FROM attempts") == []
