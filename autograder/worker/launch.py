"""Start and stop the worker process, and talk to it through its pipes with deadlines.

`start_worker` is the one place that decides how student code is confined: the interpreter,
its environment, its file descriptors, its session. Resource limits, privilege dropping or a
Landlock ruleset belong there and nowhere else; `stop_worker` kills the worker's whole process
group.
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import autograder
from autograder.worker.protocol import ChannelClosed, ChannelTimeout

KIT_ROOT = Path(autograder.__file__).resolve().parent.parent
STDERR_TAIL_CHUNKS = 16
CHUNK = 1 << 20


@dataclass
class WorkerProcess:
    """A running worker: its process, its pipes, and the last few KiB it wrote to stderr."""

    process: subprocess.Popen[bytes]
    stderr_tail: collections.deque[bytes] = field(
        default_factory=lambda: collections.deque(maxlen=STDERR_TAIL_CHUNKS)
    )
    stopped: bool = False

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


def worker_environment() -> dict[str, str]:
    """The parent's environment without its Python settings, plus the worker's own."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment.update(
        PYTHONPATH=str(KIT_ROOT),  # the child removes it from sys.path once the kit is imported
        PYTHONSAFEPATH="1",  # the working folder (the student's) is not put on sys.path
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ in the student's folder
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return environment


def start_worker(working_folder: Path) -> WorkerProcess:
    """Start one worker in its own session; it inherits no file descriptor but its pipes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "autograder.worker.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        cwd=working_folder,
        env=worker_environment(),
        close_fds=True,
        start_new_session=True,
    )
    worker = WorkerProcess(process)
    if process.stdin is not None:
        os.set_blocking(process.stdin.fileno(), False)
    threading.Thread(target=_drain, args=(process.stderr, worker.stderr_tail), daemon=True).start()
    return worker


def _drain(stream: IO[bytes] | None, tail: collections.deque[bytes]) -> None:
    """Read the worker's stderr to its end, keeping only the last chunks (a bounded buffer)."""
    if stream is None:
        return
    with stream:
        while chunk := stream.read(4096):
            tail.append(chunk)


def stop_worker(worker: WorkerProcess, grace: float = 0.0) -> int:
    """Kill the worker's process group (after `grace` seconds to exit on its own), close its
    pipes and reap it; its exit status (negative: the signal that ended it). Idempotent."""
    process = worker.process
    if worker.stopped:
        return process.wait()
    worker.stopped = True
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    # ProcessLookupError: the group is gone, the worker and all it started have exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    return process.wait()
