"""Start and stop the worker process, and talk to it through its pipes with deadlines.

`start_worker` is the one place that decides how student code is confined. The worker
(child/main.py) runs under a guard (reaper.py) that adopts every process the worker abandons
and kills them all when the worker ends; the worker's environment holds no secret of the
grading process; its HOME and TMPDIR are a fresh scratch folder; and the sandbox plan
(sandbox.py: limits, Landlock, privileges), which the worker applies to itself before it
imports student code, is drawn up here. The guard and worker are forked by the fork server
(forks.py) where it can, else started cold (spawn.py): the same process tree, environment,
pipes and plan either way. `stop_worker` has the guard end everything, kills whatever is
left itself, and removes the scratch folder.
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from autograder.errors import ChannelClosed, ChannelTimeout
from autograder.worker.confine import reaper
from autograder.worker.confine.sandbox import Confinement, Limits, plan_confinement
from autograder.worker.host import forks
from autograder.worker.host.spawn import (
    drain,
    guarded,
    new_scratch,
    remove_scratch,
    worker_environment,
)

CHILD = "autograder.worker.child.main"
STDERR_TAIL_CHUNKS = 16
CHUNK = 1 << 20
GUARD_GRACE = 5.0


class GuardProcess(Protocol):
    """The worker's guard as the grading process drives it: `subprocess.Popen` for a guard
    started cold, `forks.ForkedGuard` for one the fork server forked."""

    pid: int
    stdin: IO[bytes] | None
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


@dataclass(eq=False)  # a handle on one process: equal to itself alone, so it can be in a set
class WorkerProcess:
    """A running worker: its guard's process and pipes, its sandbox plan, the last few KiB
    written to stderr, and (once it said hello) a pidfd of the worker process itself."""

    process: GuardProcess
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

    def cpu_ns(self) -> int | None:
        """The nanoseconds the worker's threads have run on a CPU (/proc's schedstat), or None
        where that cannot be read (not Linux, /proc hidden, the worker gone)."""
        try:
            tasks = os.listdir(f"/proc/{self.worker_pid}/task")
            return sum(_first_number(f"/proc/{self.worker_pid}/task/{t}/schedstat") for t in tasks)
        except (OSError, ValueError, IndexError):
            return None

    def replied_by(self, deadline: float) -> bool:
        """Whether the worker's stdout has something to read (or hung up) before `deadline`."""
        try:
            _wait(self._pipe(self.process.stdout).fileno(), select.POLLIN, deadline)
        except ChannelTimeout:
            return False
        return True

    @property
    def stderr_text(self) -> str:
        return b"".join(self.stderr_tail).decode(errors="replace")

    @staticmethod
    def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
        if pipe is None:
            raise ChannelClosed("the worker's pipe is closed")
        return pipe


def _first_number(path: str) -> int:
    """The first field of a /proc file, a whole number."""
    with open(path, "rb") as file:
        return int(file.read().split(maxsplit=1)[0])


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


def start_worker(
    module_folder: Path, limits: Limits | None = None, *, gpu: bool = False
) -> WorkerProcess:
    """Start one guarded worker in its own session, for a module in `module_folder` (`gpu`:
    for cases on a GPU); it inherits no file descriptor but its pipes. The plan travels with
    the module's path. It is forked by the fork server where it can (never for a GPU: a
    driver does not survive a fork), else started cold; confined the same either way."""
    scratch = new_scratch()
    plan = plan_confinement(module_folder, scratch, Limits() if limits is None else limits, gpu=gpu)
    environment = worker_environment(scratch)
    try:
        process: GuardProcess | None = None
        if not gpu:
            process = forks.fork_guard(module_folder, environment)
        if process is None:
            process = guarded(CHILD, module_folder, environment, subprocess.PIPE, subprocess.PIPE)
    except BaseException:
        remove_scratch(scratch)
        raise
    worker = WorkerProcess(process, plan)
    if process.stdin is not None:
        os.set_blocking(process.stdin.fileno(), False)
    threading.Thread(target=drain, args=(process.stderr, worker.stderr_tail), daemon=True).start()
    return worker


def watch(worker: WorkerProcess, pid: int) -> None:
    """Keep a pidfd of the worker process (`pid`, from its hello), so that it can be killed
    even if its guard is gone."""
    with contextlib.suppress(AttributeError, OSError):  # pidfd_open: Linux 5.3 and later
        worker.worker_pid, worker.worker_pidfd = pid, os.pidfd_open(pid)


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
        remove_scratch(worker.plan.scratch)
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
