"""The grading side of the fork server (child/forkserver.py): start it early, ask it for
guarded workers, stop it with the grading process.

    warm_up()                                    # first thing: torch imports meanwhile
    guard = fork_guard(folder, environment)      # a ForkedGuard, or None: start one cold

The server is started as a cold worker is (launch.py: the same guard, clean environment and
session), so it holds no secret and never sees the reference; it serves one grading process,
which it outlives by no more than its guard takes to notice. Whenever it cannot serve (off,
not Linux, a GPU, another environment, not ready, any error), the caller starts its worker
cold: the worker is confined the same either way, so the grade is the same.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from autograder.config import WORKER_START_TIME_LIMIT
from autograder.worker.confine import reaper
from autograder.worker.host.spawn import (
    drain,
    guarded,
    new_scratch,
    remove_scratch,
    worker_environment,
)

__all__ = [
    "SWITCH",
    "ForkedGuard",
    "fork_guard",
    "give_up",
    "server_pid",
    "warm_up",
]

SWITCH = "OPTIM_GRADER_WARM_WORKERS"  # "0": every worker starts cold
SERVER = "autograder.worker.child.forkserver"
SCRATCH_VARIABLES = ("HOME", "TMPDIR")
MAX_REPLY = 4096
STOP_GRACE = 5.0


class ForkedGuard:
    """A worker's guard forked by the server, seen as `subprocess.Popen` shows a child: its
    pipes, its pid, its exit status (read from its status pipe: it is not our child) and
    signals (through a pidfd, which no recycled pid can redirect)."""

    def __init__(self, pid: int, pidfd: int, pipes: tuple[int, int, int], status: int) -> None:
        self.pid, self._pidfd, self._status = pid, pidfd, status
        self.stdin: IO[bytes] | None = open(pipes[0], "wb", buffering=0)  # noqa: SIM115
        self.stdout: IO[bytes] | None = open(pipes[1], "rb", buffering=0)  # noqa: SIM115
        self.stderr: IO[bytes] | None = open(pipes[2], "rb", buffering=0)  # noqa: SIM115
        self.returncode: int | None = None

    def poll(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.wait(0)
        return None

    def wait(self, timeout: float | None = None) -> int:
        """The guard's exit status as Popen gives it (negative: its signal), once it exits."""
        if self.returncode is not None:
            return self.returncode
        poller = select.poll()
        poller.register(self._status, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not poller.poll(_milliseconds_left(deadline)):
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"guard {self.pid}", timeout or 0.0)
        data = b""
        while chunk := os.read(self._status, 4):  # the guard writes 4 bytes, then exits
            data += chunk
        os.close(self._status)
        os.close(self._pidfd)
        status = int.from_bytes(data, sys.byteorder, signed=True) if len(data) == 4 else None
        self.returncode = -signal.SIGKILL if status is None else os.waitstatus_to_exitcode(status)
        return self.returncode

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, number)


def _milliseconds_left(deadline: float | None) -> int:
    if deadline is None:
        return -1
    return max(0, int((deadline - time.monotonic()) * 1000))


@dataclass
class _Server:
    """The running server: its guard, its socket, what its workers start from (the Python
    and the environment without HOME and TMPDIR, each worker's own), whether it said it is
    ready."""

    process: subprocess.Popen[bytes]
    control: socket.socket
    start: tuple[str, dict[str, str]]
    scratch: Path
    owner: int = field(default_factory=os.getpid)
    ready: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    stderr_tail: collections.deque[bytes] = field(
        default_factory=lambda: collections.deque(maxlen=16)
    )


_server: _Server | None = None
_given_up = False
_lock = threading.Lock()


def available() -> bool:
    """Whether this machine and this process may use a fork server."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "pidfd_open")
        and os.environ.get(SWITCH, "1") != "0"
        and not _given_up
    )


def warm_up() -> None:
    """Start the fork server, unless it runs or cannot run here; it imports torch while the
    grading process goes on with its own work."""
    global _server
    with _lock:
        if not available() or (_server is not None and _server.owner == os.getpid()):
            return
        scratch = new_scratch()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = worker_environment(scratch)
        try:
            process = guarded(SERVER, Path("/"), environment, theirs.fileno(), theirs.fileno())
        except OSError:
            ours.close()
            remove_scratch(scratch)
            return
        finally:
            theirs.close()
        _server = _Server(process, ours, _start_of(environment), scratch)
        threading.Thread(
            target=drain, args=(process.stderr, _server.stderr_tail), daemon=True
        ).start()
    atexit.register(_stop)


def _start_of(environment: dict[str, str]) -> tuple[str, dict[str, str]]:
    """What a cold worker with `environment` would start from, but its scratch folder."""
    kept = {k: v for k, v in environment.items() if k not in SCRATCH_VARIABLES}
    return sys.executable, kept


def fork_guard(folder: Path, environment: dict[str, str]) -> ForkedGuard | None:
    """A guard and worker forked by the server, working in `folder` with `environment`; None
    where the server cannot serve this worker (start it cold)."""
    warm_up()
    server = _server
    if server is None or server.owner != os.getpid() or not available():
        return None
    if _start_of(environment) != server.start:
        return None
    request = json.dumps({"folder": str(folder), "environment": environment}).encode()
    ends = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, status: (read, write)
    theirs = [ends[0][0], ends[1][1], ends[2][1], ends[3][1]]
    ours = [ends[0][1], ends[1][0], ends[2][0], ends[3][0]]
    try:
        with server.lock:
            pid, pidfd = _ask(server, request, theirs)
    except (OSError, ValueError, KeyError, TypeError):
        for fd in ours:
            os.close(fd)
        give_up()
        return None
    finally:
        for fd in theirs:
            os.close(fd)
    return ForkedGuard(pid, pidfd, (ours[0], ours[1], ours[2]), ours[3])


def _ask(server: _Server, request: bytes, fds: list[int]) -> tuple[int, int]:
    """Send one request with its fds; the guard's pid and pidfd (OSError, ValueError: the
    server cannot serve)."""
    server.control.settimeout(WORKER_START_TIME_LIMIT)
    if not server.ready:
        hello = _reply(server.control.recv(MAX_REPLY))
        if hello.get("status") != "ready":
            raise ValueError("the fork server did not say it is ready")
        server.ready = True
    socket.send_fds(server.control, [request], fds)
    message, pidfds, _, _ = socket.recv_fds(server.control, MAX_REPLY, 1)
    reply = _reply(message)
    if len(pidfds) != 1 or not isinstance(reply.get("pid"), int):
        for fd in pidfds:
            os.close(fd)
        raise ValueError(f"the fork server did not fork: {reply.get('error', reply)}")
    return int(reply["pid"]), pidfds[0]


def _reply(message: bytes) -> dict[str, Any]:
    if not message:
        raise ValueError("the fork server closed its socket")
    reply = json.loads(message)
    if not isinstance(reply, dict):
        raise ValueError("the fork server answered garbage")
    return reply


def server_pid() -> int | None:
    """The fork server's own pid (its guard's child), for tests; None when none runs."""
    server = _server
    if server is None:
        return None
    found = reaper.descendants(server.process.pid)
    return found[0] if found else None


def give_up() -> None:
    """Stop the server for good in this process: from now on every worker starts cold."""
    global _given_up
    _given_up = True
    _stop()


def _stop() -> None:
    """Close the server's socket (it exits, and its guard sweeps what it forked), wait for
    its guard, and remove its scratch folder."""
    global _server
    with _lock:
        server, _server = _server, None
    if server is None or server.owner != os.getpid():
        return
    server.control.close()
    try:
        server.process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        server.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=STOP_GRACE)
    finally:
        if server.process.poll() is None:
            reaper.kill_tree(server.process.pid)
            server.process.kill()
            server.process.wait()
        remove_scratch(server.scratch)
