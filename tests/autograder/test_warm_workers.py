"""Warm workers: a worker forked by the fork server is confined exactly as one started cold,
cannot reach the server, runs torch on one thread, and nothing outlives the grading process;
when the server cannot serve, workers start cold and grades do not change.

Each test drives a grading process of its own (a script through the kit's `run_cases`, or
the CLI), so that its fork server starts fresh and dies with it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.autograder.test_adversarial import HOSTILE, MODULE, grade, needs_landlock, needs_seccomp
from tests.autograder.test_architecture import FORBIDDEN, imports_of, reachable

ROOT = Path(__file__).resolve().parents[2]
SERVER = "autograder.worker.child.forkserver"
SWITCH = "OPTIM_GRADER_WARM_WORKERS"
SOLUTION = ROOT / "solutions" / "gradient_descent.py"

# Records how each worker of a grading process starts: "ForkedGuard" or "Popen" (cold).
RECORDER = """
from autograder.worker.host import session

started = []
original = session.start_worker

def recorded(*args, **options):
    worker = original(*args, **options)
    started.append(type(worker.process).__name__)
    return worker

session.start_worker = recorded
"""

# A grading process that runs gd's first step on each module given, and prints what each
# worker's gd recorded in its state and how each worker was started (forked or cold).
# "kill-server" kills its fork server; "attack:PATH" writes $ATTACK there, the server's pid
# filled in, and runs it.
GRADER = (
    RECORDER
    + """
import json, os, sys
from pathlib import Path
from autograder.worker import CaseRequest, run_cases
from autograder.worker.host import forks

request = CaseRequest("gd", "optimizer", "quadratic_2d", {"lr": 0.1}, steps=1)
seen = []
for module in sys.argv[1:]:
    if module == "kill-server":
        os.kill(forks.server_pid(), 9)
        continue
    if module.startswith("attack:"):
        module = module.removeprefix("attack:")
        Path(module).write_text(os.environ["ATTACK"].format(pid=forks.server_pid()))
    (outcome,) = run_cases(Path(module), [request])
    assert outcome.status == "ran" and outcome.trajectory is not None, outcome.message
    seen.append({k: v.item() for k, v in outcome.trajectory.states[0].items()})
print(json.dumps({"started": started, "seen": seen, "server": forks.server_pid()}))
"""
)

THREADS = """
import torch

_probe = gd


def gd(x, grad, state, **hyperparameters):
    state["torch_threads"] = float(torch.get_num_threads())
    return _probe(x, grad, state, **hyperparameters)
"""

REACH_SERVER = """
import ctypes, os, resource, signal

SERVER = {pid}


def _errno(action):
    try:
        action()
    except OSError as error:
        return float(error.errno)
    return 0.0


def _ptrace():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, SERVER, 0, 0) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), "ptrace")


def gd(x, grad, state, *, lr=1e-3, weight_decay=0.0, maximize=False):
    state["kill"] = _errno(lambda: os.kill(SERVER, signal.SIGKILL))
    state["ptrace"] = _errno(_ptrace)
    state["pidfd"] = _errno(lambda: os.pidfd_open(SERVER))
    state["prlimit"] = _errno(lambda: resource.prlimit(SERVER, resource.RLIMIT_AS, (1, 1)))
    return x - lr * (-grad if maximize else grad)
"""


def run_grader(
    code: str, *arguments: str, warm: bool = True, **environment: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *arguments],
        env={**os.environ, "PYTHONPATH": str(ROOT), SWITCH: "1" if warm else "0", **environment},
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )


def graded(*modules: Path | str, warm: bool = True, **environment: str) -> dict[str, Any]:
    finished = run_grader(GRADER, *map(str, modules), warm=warm, **environment)
    result: dict[str, Any] = json.loads(finished.stdout)
    result["stderr"] = finished.stderr
    return result


def test_a_forked_worker_sees_what_a_cold_one_sees_and_runs_torch_on_one_thread(
    tmp_path: Path,
) -> None:
    module = tmp_path / MODULE
    module.write_text((HOSTILE / "probe" / MODULE).read_text() + THREADS)
    secret = {"OPTIM_GRADER_TEST_SECRET": "a token no worker may see"}
    forked = graded(module, module, **secret)
    cold = graded(module, warm=False, **secret)
    assert forked["started"] == ["ForkedGuard", "ForkedGuard"]
    assert cold["started"] == ["Popen"]
    assert forked["seen"][0] == forked["seen"][1] == cold["seen"][0]
    seen = forked["seen"][0]
    assert seen["torch_threads"] == 1 and seen["threads"] == 1
    assert (seen["secret_seen"], seen["opens_sockets"], seen["forks"]) == (0, 0, 0)
    assert seen["home_is_tmpdir"] == 1 and seen["open_fds"] == 6


@needs_seccomp
def test_a_forked_worker_cannot_signal_trace_or_limit_the_fork_server(tmp_path: Path) -> None:
    module = tmp_path / MODULE
    result = graded(SOLUTION, f"attack:{module}", SOLUTION, ATTACK=REACH_SERVER)
    attempts = result["seen"][1]
    assert attempts == {"kill": 1.0, "ptrace": 1.0, "pidfd": 1.0, "prlimit": 1.0}  # EPERM
    assert result["started"] == ["ForkedGuard"] * 3  # the server served on after the attack
    assert result["server"] is not None


def test_a_server_that_dies_means_cold_workers_and_nothing_said() -> None:
    result = graded(SOLUTION, "kill-server", SOLUTION)
    assert result["started"] == ["ForkedGuard", "Popen"]
    assert result["seen"][0] == result["seen"][1] == {}
    assert result["server"] is None
    assert "fork" not in result["stderr"].lower()


HOLD = """
import json, os, sys, time
from pathlib import Path
from autograder.worker.confine import reaper
from autograder.worker.host.launch import start_worker

worker = start_worker(Path(sys.argv[1]))
deadline = time.monotonic() + 120
while len(reaper.descendants(os.getpid()) or []) < 4:  # guard, server, guard, worker
    assert time.monotonic() < deadline
    time.sleep(0.05)
print(json.dumps(reaper.descendants(os.getpid())), flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waits only for its parent to read its status)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork servers need Linux")
def test_nothing_outlives_a_grading_process_killed_with_sigkill(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT), SWITCH: "1"},
        stdout=subprocess.PIPE,
        text=True,
    ) as grader:
        try:
            assert grader.stdout is not None
            pids = json.loads(grader.stdout.readline())
        finally:
            grader.send_signal(signal.SIGKILL)
    assert len(pids) == 4  # the server's guard, the server, a worker's guard, the worker
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if alive(pid)] == []


def test_the_fork_server_imports_no_answer_key() -> None:
    modules = reachable(SERVER)
    assert "autograder.worker.child.main" in modules
    assert not {m for m in modules if {n.split(".")[0] for n in imports_of(m)} & set(FORBIDDEN)}
    loaded = f"sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})"
    code = f"import sys, {SERVER}; print({loaded})"
    assert run_grader(code).stdout.strip() == "[]"


def without_pids(report: dict[str, Any]) -> str:
    """The report as JSON, the pids that the killer fixture reads (which differ per run) out."""
    return re.sub(r"/proc/\d+/", "/proc/PID/", json.dumps(report))


@pytest.mark.slow
@needs_landlock
@needs_seccomp
@pytest.mark.parametrize("fixture", ["killer", "thief"])
def test_hostile_submissions_get_the_same_report_forked_or_cold(
    fixture: str, tmp_path: Path
) -> None:
    forked = grade(fixture, tmp_path / "forked", **{SWITCH: "1"})
    cold = grade(fixture, tmp_path / "cold", **{SWITCH: "0"})
    assert without_pids(forked.report) == without_pids(cold.report)


TRAINER = (
    RECORDER
    + """
import json, sys
from pathlib import Path
from autograder.rubric import load_rubric
from autograder.worker import run_cases

request = load_rubric("schedules").for_function("train")[0].student_request
statuses = [run_cases(Path(sys.argv[1]), [request])[0].status for _ in range(2)]
print(json.dumps({"started": started, "statuses": statuses}))
"""
)


def test_a_server_warmed_for_training_still_forks_its_workers() -> None:
    # the server runs an optimizer step first (its imports), and must stay single-threaded
    finished = run_grader(TRAINER, str(ROOT / "solutions" / "schedules.py"))
    result = json.loads(finished.stdout)
    assert result == {"started": ["ForkedGuard"] * 2, "statuses": ["ran", "ran"]}
