"""Hostile submissions (tests/fixtures/hostile): each attack earns nothing, costs nothing else,
kills nothing, leaves nothing running and writes nothing outside the worker's scratch folder.

Each fixture is graded by `optim-grader grade` in a subprocess (so that an attack that got
through would fail a test, not kill pytest), from a copy in the test's tmp_path, with HOME
and the working folder there too. Every run is checked for the grader's survival (a JSON
report, exit status 0 or 2) and for processes left behind (any process whose working folder
or command line lies in tmp_path: the worker runs in the scratch copy of the submission,
made in TMPDIR there, and so does every process it starts). Hangs use a case limit of LIMIT
seconds through DRIVER, the real CLI with grading's wall-clock limit shortened. The
guarantees that rest on Landlock or seccomp are skipped, with the reason, where the machine
lacks them (docs/threat-model.md).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder.worker import CaseRequest, run_cases
from autograder.worker.confine.landlock import abi_version
from autograder.worker.confine.sandbox import Limits, plan_confinement
from autograder.worker.host import session
from autograder.worker.host.launch import WorkerProcess, start_worker, stop_worker

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
MODULE = "gradient_descent.py"
FUNCTIONS = ("gd", "momentum", "nesterov", "minibatches")
LIMIT = 2.0
WARNING = "optim-grader: warning: student code runs less confined"
LANDLOCK = abi_version()
needs_landlock = pytest.mark.skipif(LANDLOCK < 1, reason="Landlock is not available here")
needs_seccomp = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "aarch64"),
    reason="the seccomp filter covers Linux on x86-64 and AArch64 only",
)
DRIVER = """
import sys
import autograder.grading as grading

original = grading.run_in_workers


def run_in_workers(module_path, requests, workers, **options):
    limit = float(sys.argv[1])
    return original(module_path, requests, workers, **{**options, "case_time_limit": limit})


grading.run_in_workers = run_in_workers
from autograder.cli import main

raise SystemExit(main(sys.argv[2:]))
"""


@dataclass(frozen=True)
class Graded:
    """What `optim-grader grade --format json` said about one hostile submission."""

    report: dict[str, Any]
    stderr: str
    seconds: float

    def tests(self, function: str) -> list[dict[str, Any]]:
        """The function's tests, but those for a device this machine lacks (not run)."""
        return [
            t
            for t in self.report["tests"]
            if t["name"].split("/")[0] == function and "was not run on" not in t["output"]
        ]

    def full_marks(self, function: str) -> bool:
        tests = self.tests(function)
        return bool(tests) and all(t["status"] == "passed" for t in tests)

    def earned_nothing(self, function: str) -> bool:
        """No case that compares with the reference scored: only checks of a property that a
        wrong function may have (it leaves x alone, it is fast) may pass."""
        tests = self.tests(function)
        matched = [t for t in tests if t["score"] > 0 and "matches the reference" in t["output"]]
        return bool(tests) and not matched

    def failures(self, function: str) -> set[str]:
        return {t["output"] for t in self.tests(function) if t["status"] != "passed"}


def leftovers(folder: Path) -> list[str]:
    """Live processes whose working folder or command line lies in `folder`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                continue
            cwd = os.readlink(entry / "cwd")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        inside = cwd == str(folder) or cwd.startswith(f"{folder}{os.sep}")
        if inside or str(folder) in command:
            found.append(f"{entry.name}: {command} (in {cwd})")
    return found


def grade(
    fixture: str, tmp_path: Path, *, limit: float | None = None, **environment: str
) -> Graded:
    """Grade a copy of the fixture through the CLI; assert that the grader survived, that
    it warned at most once, and that nothing is left running."""
    submission, cwd, home = tmp_path / "submission", tmp_path / "cwd", tmp_path / "home"
    scratch = tmp_path / "tmp"  # the scratch copy the worker runs in, found by `leftovers`
    shutil.copytree(HOSTILE / fixture, submission)
    for folder in (cwd, home, scratch):
        folder.mkdir()
    cli = ["grade", str(submission / MODULE), "--assignment", "gradient_descent", "--format",
           "json"]  # fmt: skip
    command = [sys.executable, "-m", "autograder", *cli]
    if limit is not None:
        command = [sys.executable, "-c", DRIVER, str(limit), *cli]
    start = time.monotonic()
    finished = subprocess.run(
        command,
        cwd=cwd,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOME": str(home),
            "TMPDIR": str(scratch),
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    seconds = time.monotonic() - start
    assert finished.returncode in (0, 2), f"the grader died: {finished.stderr[-2000:]}"
    assert finished.stderr.count(WARNING) <= 1
    left = leftovers(tmp_path)
    assert left == [], f"left running: {left}"
    return Graded(json.loads(finished.stdout), finished.stderr, seconds)


# --- hangs, processes left behind, resources ----------------------------------------------


def test_an_endless_import_costs_one_limit_and_scores_zero(tmp_path: Path) -> None:
    graded = grade("import_loop", tmp_path, limit=LIMIT)
    assert graded.report["score"] == 0
    message = f"gradient_descent.py: importing it did not finish within {LIMIT:g} s"
    assert graded.report["errors"] == [f"{message}; fix it so that the module imports on its own"]
    assert graded.seconds < 25


def test_processes_left_at_import_do_not_outlive_the_grading(tmp_path: Path) -> None:
    # a setsid grandchild that ignores SIGTERM, then os._exit(0); forks allowed
    graded = grade("import_orphans", tmp_path, OPTIM_GRADER_ALLOW_FORK="1")
    assert graded.report["score"] == 0
    assert graded.report["errors"] == [
        "gradient_descent.py: importing it ended the worker process (exit status 0); fix it so "
        "that the module imports on its own"
    ]


def test_by_default_student_code_cannot_start_a_process(tmp_path: Path) -> None:
    graded = grade("import_orphans", tmp_path)
    assert graded.report["score"] == 0
    assert graded.report["errors"] == [
        "gradient_descent.py: importing it raised PermissionError: [Errno 1] Operation not "
        "permitted at line 9 (`if os.fork() == 0:`); fix it so that the module imports on its "
        "own"
    ]


def test_hangs_cost_one_limit_each_and_spare_the_other_functions(tmp_path: Path) -> None:
    graded = grade("hanging", tmp_path, limit=LIMIT, OPTIM_GRADER_ALLOW_FORK="1")
    for function in ("momentum", "nesterov"):  # a busy loop; a sleep that ignores SIGTERM
        assert graded.earned_nothing(function)
        assert graded.failures(function) == {
            f"[timeout{hidden}] gradient_descent.py: {function} did not finish within "
            f"{LIMIT:g} s; look for an endless loop or far too much work per step"
            for hidden in ("", ", hidden case")
        }
    assert graded.full_marks("gd")
    assert graded.full_marks("minibatches")  # its children in their own session are gone
    assert graded.seconds < 25


def test_memory_beyond_the_limit_fails_that_function_and_prints_cost_nothing(
    tmp_path: Path,
) -> None:
    graded = grade("resources", tmp_path)
    assert graded.earned_nothing("momentum") and graded.earned_nothing("nesterov")
    assert all("raised RuntimeError" in o and "can't allocate memory: you tried to allocate "
               "21474836480 bytes" in o for o in graded.failures("momentum"))  # fmt: skip
    assert all("nesterov raised MemoryError at line" in o for o in graded.failures("nesterov"))
    assert graded.full_marks("gd")
    assert graded.full_marks("minibatches")  # after 400 MB of prints to stdout and stderr
    assert "x" * 1000 not in graded.stderr


def test_cpu_time_is_limited(tmp_path: Path) -> None:
    graded = grade("cpu_burner", tmp_path, OPTIM_GRADER_CPU_SECONDS="3")
    assert graded.earned_nothing("gd")
    assert graded.failures("gd") == {
        f"[crashed{hidden}] gradient_descent.py: gd used up the worker's 3 s of CPU time; a "
        "graded function must return, never end the process"
        for hidden in ("", ", hidden case")
    }
    assert graded.full_marks("minibatches")


# --- ending, killing, raising -------------------------------------------------------------


def test_ending_the_process_costs_only_that_function(tmp_path: Path) -> None:
    graded = grade("exits", tmp_path)
    expected = {
        "gd": "gd called sys.exit(0) at line 11 (`sys.exit(0)`)",
        "momentum": "momentum ended the worker process (exit status 0)",
        "nesterov": "nesterov killed the worker process (SIGSEGV)",  # C stack overflow
    }
    for function, fragment in expected.items():
        assert graded.earned_nothing(function)
        assert all(fragment in output for output in graded.failures(function)), function
    assert graded.full_marks("minibatches")


@needs_seccomp
def test_the_worker_cannot_kill_its_guard_nor_the_grader(tmp_path: Path) -> None:
    graded = grade("killer", tmp_path)  # grade() asserts that the grader survived
    assert all("gd raised PermissionError: [Errno 1] Operation not permitted at line" in o
               for o in graded.failures("gd"))  # fmt: skip
    # Landlock hides /proc/<parent>; without it, the kill itself is refused.
    assert all("momentum raised PermissionError: [Errno" in o for o in graded.failures("momentum"))
    assert all("nesterov raised PermissionError: [Errno 1] Operation not permitted at line" in o
               for o in graded.failures("nesterov"))  # fmt: skip
    assert graded.full_marks("minibatches")  # graded after all three attempts


def test_exceptions_of_any_kind_cost_only_their_function(tmp_path: Path) -> None:
    graded = grade("exceptions", tmp_path)
    assert graded.report["score"] == 0
    assert all(" raised KeyboardInterrupt at line " in o for o in graded.failures("gd"))
    # An exception whose __str__ raises breaks the worker's message (execute.py) and so
    # costs the worker; either way it is that function's failure alone.
    assert all("[raised" in o or "[missing_error" in o or "momentum ended the worker process" in o
               for o in graded.failures("momentum"))  # fmt: skip
    assert all(" raised RecursionError: maximum recursion depth exceeded" in o
               for o in graded.failures("nesterov"))  # fmt: skip
    for output in graded.failures("minibatches"):  # a 20 MB message, newlines included
        if output.startswith("[unvouched"):  # its error case: right error, no right values
            continue
        assert " raised ValueError: line line line " in output
        assert "\n" not in output and len(output) < 1200


# --- input, output, comparisons, lies -------------------------------------------------------


def test_stdin_is_empty_and_a_file_cannot_outgrow_its_limit(tmp_path: Path) -> None:
    graded = grade("io", tmp_path)
    assert graded.full_marks("gd")  # it read stdin and found it empty
    assert graded.full_marks("nesterov")
    assert all("momentum raised OSError: [Errno 27] File too large" in o
               for o in graded.failures("momentum"))  # fmt: skip
    assert graded.earned_nothing("minibatches")  # it read the worker's own pipe, in vain


def test_comparisons_patched_in_the_worker_change_nothing(tmp_path: Path) -> None:
    graded = grade("patcher", tmp_path)
    for function in ("gd", "momentum", "minibatches"):
        assert graded.earned_nothing(function), function
        assert all(
            output.startswith(("[diverged", "[unvouched", "[missing_error"))
            for output in graded.failures(function)
        )
    assert graded.full_marks("nesterov")


def test_checks_that_the_worker_reports_count_only_for_functions_that_match(
    tmp_path: Path,
) -> None:
    # runners patched to report device and efficiency checks passed, and gd "ran" with no data
    graded = grade("self_reporter", tmp_path)
    for function in ("gd", "momentum"):
        assert all(t["score"] == 0 for t in graded.tests(function)), function
    assert any("[invalid_reply" in output for output in graded.failures("gd"))
    assert any("[unvouched" in output for output in graded.failures("momentum"))
    # the patched runners ran nothing for nesterov either: its values count, its checks fail
    checks = ("/device", "/efficiency")
    nesterov = graded.tests("nesterov")
    assert all(t["status"] == "passed" for t in nesterov if not t["name"].endswith(checks))
    assert all("without the values it records" in t["output"] and t["score"] == 0
               for t in nesterov if t["name"].endswith(checks))  # fmt: skip


MEASURED = """
import resource
import sys

from autograder.cli import main

status = main(sys.argv[1:])
sys.stderr.write(f"peak={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
raise SystemExit(status)
"""


def graded_with_peak(
    fixture: str, tmp_path: Path, statuses: tuple[int, ...], *options: str
) -> tuple[Graded, int]:
    """Grade a copy of the fixture through the CLI, its exit status one of `statuses`; the
    report and the grading process's peak memory in MiB."""
    submission = tmp_path / "submission"
    shutil.copytree(HOSTILE / fixture, submission)
    finished = subprocess.run(
        [sys.executable, "-c", MEASURED, "grade", str(submission / MODULE), "--assignment",
         "gradient_descent", "--format", "json", *options],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert finished.returncode in statuses, finished.stderr[-2000:]
    peak_mib = int(finished.stderr.rpartition("peak=")[2]) // 1024
    return Graded(json.loads(finished.stdout), finished.stderr, 0.0), peak_mib


@pytest.mark.slow
@pytest.mark.timeout(600)  # the junk state is copied at every step, up to the memory limit
def test_the_grading_process_stays_under_a_gigabyte_whatever_the_worker_sends(
    tmp_path: Path,
) -> None:
    # gd keeps 100 MB of junk in its state; momentum's replies are padded with 200 MB each
    graded, peak_mib = graded_with_peak("hoarder", tmp_path, (0, 2), "--time-budget", "600")
    assert peak_mib < 1024, f"the grading process reached {peak_mib} MiB"
    assert not graded.full_marks("gd") and not graded.full_marks("momentum")
    assert graded.full_marks("nesterov")


@needs_seccomp
def test_keyrings_ipc_namespaces_and_the_graders_scheduling_are_out_of_reach(
    tmp_path: Path,
) -> None:
    # gd goes wrong if any of keyctl, SysV IPC, mq_open, unshare, setns, memfd_create or a
    # change of the grading process's priority, affinity or scheduler did not get EPERM
    graded = grade("kernel_objects", tmp_path)
    for function in FUNCTIONS:
        assert graded.full_marks(function), (function, graded.failures(function))


def test_lying_objects_are_refused_and_nothing_is_unpickled(tmp_path: Path) -> None:
    marker = Path("/tmp/optim_grader_hostile_unpickled")
    marker.unlink(missing_ok=True)
    graded = grade("liar", tmp_path)
    assert all(graded.earned_nothing(function) for function in FUNCTIONS)
    assert all("gd returned a gradient_descent.Always (a subclass of torch.Tensor)" in o
               for o in graded.failures("gd"))  # fmt: skip
    assert all("momentum returned a gradient_descent.Payload" in o
               for o in graded.failures("momentum"))  # fmt: skip
    assert any("[diverged" in output for output in graded.failures("nesterov"))
    assert all("batch 0 is a gradient_descent.Always" in o for o in graded.failures("minibatches"))
    assert not marker.exists()


# --- instructor files ------------------------------------------------------------------------


@needs_landlock
def test_the_solutions_and_the_reference_cannot_be_found_nor_used(tmp_path: Path) -> None:
    graded = grade("thief", tmp_path)
    for function in ("gd", "momentum", "nesterov"):
        assert graded.earned_nothing(function), function
    assert graded.full_marks("minibatches")


FORGED = ("results.json", "grades.csv", "gradebook.sqlite")


def test_forged_result_files_are_not_written_and_change_no_grade(tmp_path: Path) -> None:
    places = [tmp_path, tmp_path / "cwd", tmp_path / "home", tmp_path / "submission", ROOT,
              ROOT / "solutions", ROOT / "reference", Path("/tmp"), Path.home()]  # fmt: skip
    before = {place / name for place in places for name in FORGED if (place / name).exists()}
    graded = grade("forger", tmp_path)
    for function in ("gd", "momentum", "nesterov"):
        assert graded.earned_nothing(function), function
    assert graded.full_marks("minibatches")
    written = {place / name for place in places for name in FORGED} - before
    written = {path for path in written if path.exists()}
    for path in written:  # never leave a forged file in the project
        path.unlink()
    if LANDLOCK >= 1:
        assert written == set()


# --- the worker's own view of its sandbox --------------------------------------------------


PROBE = HOSTILE / "probe" / MODULE


def probe(limits: Limits) -> dict[str, float]:
    """What the probe fixture saw from inside a worker confined by `limits`."""
    request = CaseRequest("gd", "optimizer", "quadratic_2d", {"lr": 0.1}, steps=1)
    (outcome,) = run_cases(PROBE, [request], limits=limits)
    assert outcome.status == "ran" and outcome.trajectory is not None, outcome.message
    return {name: value.item() for name, value in outcome.trajectory.states[0].items()}


def test_the_worker_runs_under_its_limits_with_nothing_inherited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPTIM_GRADER_TEST_SECRET", "a token the worker must not see")
    seen = probe(Limits(cpu_seconds=77, address_space=3 * 2**30, file_size=4096))
    assert seen["cpu_seconds"] == 77
    assert seen["address_space_mib"] == 3 * 1024
    assert (seen["file_size"], seen["core_size"]) == (4096, 0)
    assert seen["threads"] == 1  # so that Landlock, set on one thread, covers the process
    assert seen["open_fds"] == 6  # 0, 1 and 2 on /dev/null, the two pipes, listdir's own
    assert seen["stdin_is_devnull"] == 1
    assert seen["secret_seen"] == 0
    assert seen["opens_sockets"] == 0
    assert seen["home_is_tmpdir"] == 1 and seen["writes_tmpdir"] == 1
    if os.geteuid() == 0:
        assert seen["effective_capabilities"] == 0


@needs_landlock
def test_landlock_hides_the_reference_and_makes_the_students_folder_read_only() -> None:
    seen = probe(Limits())
    assert seen["no_new_privileges"] == 1
    assert (seen["reads_kit"], seen["reads_reference"], seen["reads_rubric"]) == (1, 0, 0)
    assert (seen["writes_tmpdir"], seen["writes_cwd"]) == (1, 0)


@pytest.mark.parametrize("forks", [False, True], ids=["by default", "when allowed"])
def test_forks_are_refused_unless_allowed(forks: bool) -> None:
    assert probe(Limits(forks=forks))["forks"] == forks


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, Limits(cpu_seconds=60, address_space=4 * 2**30, file_size=2**20, user="nobody",
                    forks=False)),
        ({"OPTIM_GRADER_CPU_SECONDS": "5", "OPTIM_GRADER_MEMORY_MIB": "2048"},
         Limits(cpu_seconds=5, address_space=2 * 2**30)),
        ({"OPTIM_GRADER_CPU_SECONDS": "0", "OPTIM_GRADER_MEMORY_MIB": "0",
          "OPTIM_GRADER_WORKER_USER": "", "OPTIM_GRADER_ALLOW_FORK": "1"},
         Limits(cpu_seconds=None, address_space=None, user=None, forks=True)),
    ],
    ids=["defaults", "set", "lifted"],
)  # fmt: skip
def test_limits_come_from_the_environment(environment: dict[str, str], expected: Limits) -> None:
    assert Limits.from_environment(environment) == expected


# --- the plan and the worker's lifetime ----------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "hidden", "visible"),
    [
        ("submission", ("reference", "solutions", "tests", "autograder/rubrics"), ()),
        ("solutions", ("reference", "tests", "autograder/rubrics"), ("solutions",)),
    ],
    ids=["a student's folder", "the solutions, graded by the instructor"],
)
def test_the_plan_hides_the_instructors_folders_but_the_graded_one(
    tmp_path: Path, folder: str, hidden: tuple[str, ...], visible: tuple[str, ...]
) -> None:
    module_folder = tmp_path / folder if folder == "submission" else ROOT / folder
    plan = plan_confinement(module_folder, tmp_path / "scratch", Limits())
    assert {ROOT / name for name in hidden} <= set(plan.hidden)
    assert not {ROOT / name for name in visible} & set(plan.hidden)
    assert module_folder.resolve() in plan.read and ROOT not in plan.read
    assert (plan.landlock, plan.limits.address_space) == (True, 4 * 2**30)


def test_a_plan_for_a_gpu_lifts_the_address_space_limit_and_landlock(tmp_path: Path) -> None:
    plan = plan_confinement(tmp_path, tmp_path / "scratch", Limits(), gpu=True)
    assert (plan.landlock, plan.limits.address_space) == (False, None)
    assert plan.limits.cpu_seconds == 60


def test_a_function_that_kills_its_worker_twice_is_not_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starts: list[Path] = []

    def counted(folder: Path, *args: Any, **options: Any) -> WorkerProcess:
        starts.append(folder)
        return start_worker(folder, *args, **options)

    monkeypatch.setattr(session, "start_worker", counted)
    momentum = CaseRequest("momentum", "optimizer", "quadratic_2d", {"lr": 0.1})  # os._exit(0)
    sampler = CaseRequest("minibatches", "sampler", n=10, batch_size=3)
    outcomes = run_cases(HOSTILE / "exits" / MODULE, [momentum] * 4 + [sampler])
    assert [o.status for o in outcomes] == ["crashed"] * 4 + ["ran"]
    assert len(starts) == 3  # two for momentum, then a fresh one for minibatches


def test_stopping_a_worker_kills_it_and_removes_its_scratch_folder(tmp_path: Path) -> None:
    worker = start_worker(tmp_path)
    scratch = worker.plan.scratch
    assert scratch.is_dir() and leftovers(tmp_path) != []  # the guard and its worker
    assert stop_worker(worker) < 0
    assert not scratch.exists()
    assert leftovers(tmp_path) == []


SWITCH = """
import os, sys
from pathlib import Path
from autograder.worker.confine import sandbox

missing = sandbox.drop_privileges("nobody", Path(sys.argv[1]), [Path(sys.argv[2])])
print(os.getuid(), os.stat(sys.argv[1]).st_uid, missing)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="only root switches to another user")
@pytest.mark.parametrize("readable", [True, False], ids=["readable", "unreadable"])
def test_root_switches_to_nobody_only_when_nobody_can_read_what_it_needs(readable: bool) -> None:
    # Both folders in /tmp, which anyone may search; the scratch folder as launch.py makes it.
    scratch, needed = (Path(tempfile.mkdtemp(prefix="optim-grader-test-")) for _ in range(2))
    try:
        needed.chmod(0o755 if readable else 0o700)
        finished = subprocess.run(
            [sys.executable, "-c", SWITCH, str(scratch), str(needed)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        scratch.rmdir()
        needed.rmdir()
    uid, owner, missing = finished.stdout.split(" ", 2)
    if readable:
        assert (uid, owner, missing.strip()) == ("65534", "65534", "[]")
    else:
        assert (uid, owner) == ("0", "0")
        assert f"nobody cannot read {needed}" in missing
