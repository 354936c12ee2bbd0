"""Start and stop the worker process, and talk to it through its pipes with deadlines.

`start_worker` is the one place that decides how student code is confined. The worker
(child.py) runs under a guard (reaper.py) that adopts every process the worker abandons
and kills them all when the worker ends; the worker's environment holds no secret of the
grading process; its HOME and TMPDIR are a fresh scratch folder; and the sandbox plan
(sandbox.py: limits, Landlock, privileges), which the worker applies to itself before it
imports student code, is drawn up here. `stop_worker` has the guard end everything, kills
whatever is left itself, and removes the scratch folder.
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autograder.config import KIT_ROOT
from autograder.errors import ChannelClosed, ChannelTimeout
from autograder.worker.confine import reaper
from autograder.worker.confine.sandbox import Confinement, Limits, plan_confinement

REAPER = Path(reaper.__file__).resolve()
STDERR_TAIL_CHUNKS = 16
CHUNK = 1 << 20
GUARD_GRACE = 5.0
KEPT_VARIABLES = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "SYSTEMROOT"})
KEPT_PREFIXES = ("LC_", "CUDA_", "NVIDIA_", "OMP_", "MKL_", "KMP_", "OPENBLAS_")


@dataclass
class WorkerProcess:
    """A running worker: its guard's process and pipes, its sandbox plan, the last few KiB
    written to stderr, and (once it said hello) a pidfd of the worker process itself."""

    process: subprocess.Popen[bytes]
    plan: Confinement
    stderr_tail: collections.deque[bytes] = field(
        default_factory=lambda: collections.deque(maxlen=STDERR_TAIL_CHUNKS)
    )
    stopped: bool = False
    worker_pid: int = 0
    worker_pidfd: int | None = None

    def send(self, data: bytes, deadline: float) -> None:
        """Write all of `data` to the worker's stdin before `deadline` (time.monotonic())."""
        stdin = self._pipe(self.process.stdin)
        view = memoryview(data)
        while view:
            _wait(stdin.fileno(), select.POLLOUT, deadline)
            try:
                view = view[os.write(stdin.fileno(), view[:CHUNK]) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise ChannelClosed("the worker closed its stdin") from None

    def read_exact(self, size: int, deadline: float) -> bytes:
        """Exactly `size` bytes from the worker's stdout, before `deadline`."""
        stdout = self._pipe(self.process.stdout)
        data = bytearray()
        while len(data) < size:
            _wait(stdout.fileno(), select.POLLIN, deadline)
            chunk = os.read(stdout.fileno(), min(size - len(data), CHUNK))
            if not chunk:
                raise ChannelClosed("the worker closed its stdout")
            data += chunk
        return bytes(data)

    @property
    def stderr_text(self) -> str:
        return b"".join(self.stderr_tail).decode(errors="replace")

    @staticmethod
    def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
        if pipe is None:
            raise ChannelClosed("the worker's pipe is closed")
        return pipe


def _wait(fd: int, event: int, deadline: float) -> None:
    """Block until `fd` is ready for `event` (or hung up), or raise ChannelTimeout."""
    poller = select.poll()
    poller.register(fd, event)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelTimeout("the worker did not answer in time")
        if poller.poll(max(1, int(remaining * 1000))):
            return


def worker_environment(scratch: Path) -> dict[str, str]:
    """The few variables of the parent that Python and torch need (no tokens, no secrets),
    the worker's own Python settings, and HOME and TMPDIR in its scratch folder."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name in KEPT_VARIABLES or name.startswith(KEPT_PREFIXES)
    }
    environment.update(
        PYTHONPATH=str(KIT_ROOT),  # the child removes it from sys.path once the kit is imported
        PYTHONSAFEPATH="1",  # the working folder (the student's) is not put on sys.path
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ in the student's folder
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        HOME=str(scratch),
        TMPDIR=str(scratch),
    )
    return environment


def start_worker(
    module_folder: Path, limits: Limits | None = None, *, gpu: bool = False
) -> WorkerProcess:
    """Start one guarded worker in its own session, for a module in `module_folder` (`gpu`:
    for cases on a GPU); it inherits no file descriptor but its pipes. The plan travels with
    the module's path."""
    scratch = Path(tempfile.mkdtemp(prefix="optim-grader-scratch-"))
    plan = plan_confinement(module_folder, scratch, Limits() if limits is None else limits, gpu=gpu)
    command = [sys.executable, "-m", "autograder.worker.child.main"]
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(REAPER), str(os.getpid()), "--", *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            cwd=module_folder,
            env=worker_environment(scratch),
            close_fds=True,
            start_new_session=True,
        )
    except BaseException:
        _remove(scratch)
        raise
    worker = WorkerProcess(process, plan)
    if process.stdin is not None:
        os.set_blocking(process.stdin.fileno(), False)
    threading.Thread(target=_drain, args=(process.stderr, worker.stderr_tail), daemon=True).start()
    return worker


def watch(worker: WorkerProcess, pid: int) -> None:
    """Keep a pidfd of the worker process (`pid`, from its hello), so that it can be killed
    even if its guard is gone."""
    with contextlib.suppress(AttributeError, OSError):  # pidfd_open: Linux 5.3 and later
        worker.worker_pid, worker.worker_pidfd = pid, os.pidfd_open(pid)


def _drain(stream: IO[bytes] | None, tail: collections.deque[bytes]) -> None:
    """Read the worker's stderr to its end, keeping only the last chunks (a bounded buffer)."""
    if stream is None:
        return
    with stream:
        while chunk := stream.read(65536):
            tail.append(chunk)


def stop_worker(worker: WorkerProcess, grace: float = 0.0) -> int:
    """End the worker and every process it started (after `grace` seconds to exit on its own),
    close its pipes, remove its scratch folder; its exit status (negative: the signal that
    ended it), as its guard reports it. Idempotent."""
    process = worker.process
    if worker.stopped:
        return process.wait()
    worker.stopped = True
    try:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
        if process.poll() is None:
            process.terminate()  # the guard kills everything it guards, then exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=GUARD_GRACE)
    finally:  # even when interrupted: no process, pipe nor folder is left behind
        if process.poll() is None:  # the guard did not answer: do its work
            reaper.kill_tree(process.pid)
            process.kill()
        _kill_stragglers(worker)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        status = process.wait()
        _remove(worker.plan.scratch)
    return status


def _kill_stragglers(worker: WorkerProcess) -> None:
    """Kill what may survive a guard killed early: its process group, and the worker with
    its descendants (through the pidfd, so that a recycled pid is never hit)."""
    # ProcessLookupError: the group is gone, the worker and all it started have exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(worker.process.pid, signal.SIGKILL)
    pidfd, worker.worker_pidfd = worker.worker_pidfd, None
    if pidfd is None:
        return
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGSTOP)  # fails once the worker has exited
        reaper.kill_tree(worker.worker_pid)
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # it has exited: the guard did its work
    finally:
        os.close(pidfd)


def _remove(folder: Path) -> None:
    """Remove a scratch folder, whatever permissions its content was given."""
    for path, folders, _ in os.walk(folder):
        for name in folders:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(path, name), 0o700)
    shutil.rmtree(folder, ignore_errors=True)
