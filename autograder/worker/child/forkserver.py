"""The fork server: a warm parent that imports torch and the worker once, then forks a guarded
worker for each request of its grading process, in milliseconds instead of a second.

    python -I -S reaper.py GRADER_PID -- python -m autograder.worker.child.forkserver

It starts as a worker does (the same clean environment, under the same guard, in a session of
its own) and never runs student code, nor imports `reference` or `solutions`. Its stdin and
stdout are one Unix socket (SOCK_SEQPACKET) to the grading process. It says {"status":
"ready"} once imported; then each request is {"folder", "environment"} with four fds (the
worker's stdin, stdout and stderr, and a pipe for its guard's wait status). For each, it forks
a guard (reaper.py's, in a new session, working in `folder`, holding those four fds and no
other), which forks the worker; it answers {"pid": GUARD} with a pidfd of the guard. The
worker takes `environment` and runs child/main.py, which confines it after the fork exactly as
it confines a worker started cold. An empty message (the socket closed) ends the server.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
from typing import Any

from autograder.worker.confine import reaper

MAX_REQUEST = 1 << 20
WORKER_FDS = 4  # stdin, stdout, stderr, the guard's status pipe
STATUS_FD = 3
IDLE_MS = 1000  # how often an idle server collects its guards that have exited


def serve(control: socket.socket) -> dict[str, str] | None:
    """Fork a guarded worker per request until the grading process closes `control` (None).
    In each worker, return its environment: the caller then runs the worker."""
    control.sendall(json.dumps({"status": "ready"}).encode())
    poller = select.poll()
    poller.register(control, select.POLLIN)
    while True:
        reaper.reap_children()
        if not poller.poll(IDLE_MS):
            continue
        message, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, WORKER_FDS)
        if not message:
            return None
        worker = _fork(control, json.loads(message), fds)
        if worker is not None:
            return worker


def _fork(control: socket.socket, request: dict[str, Any], fds: list[int]) -> dict[str, str] | None:
    """Fork a guard for `request` and answer with its pid and a pidfd, or say why not (None);
    in the worker the guard forks, its environment."""
    threads = len(os.listdir("/proc/self/task"))
    try:
        if threads != 1 or len(fds) != WORKER_FDS:
            raise OSError(f"cannot fork: {threads} threads, {len(fds)} descriptors")
        os.chdir(request["folder"])  # the guard starts there, as Popen's cwd would
    except OSError as error:
        _close(fds)
        control.sendall(json.dumps({"error": str(error)}).encode())
        return None
    guard = os.fork()
    if guard == 0:
        return _become_guard(control, fds, request["environment"])
    os.chdir("/")
    _close(fds)
    pidfd = os.pidfd_open(guard)  # before any reap: the pid cannot be reused yet
    socket.send_fds(control, [json.dumps({"pid": guard}).encode()], [pidfd])
    os.close(pidfd)
    return None


def _become_guard(
    control: socket.socket, fds: list[int], environment: dict[str, str]
) -> dict[str, str]:
    """In the forked guard: leave the server's session, keep only the worker's fds, fork the
    worker and guard it (never returns); in the worker, return its environment."""
    try:
        os.setsid()  # its own session and group: killing them spares the server
        control.detach()  # the server's socket: closed below, never closed again by Python
        _keep_only(fds)
        reaper.prepare(STATUS_FD)
        worker = os.fork()
    except BaseException:
        os._exit(1)  # the grading process reads no status, and starts a worker cold
    if worker == 0:
        os.close(STATUS_FD)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the guard's handler is not the worker's
        return dict(environment)
    reaper.guard(worker, None, STATUS_FD)  # the server's guard watches the grading process


def _keep_only(fds: list[int]) -> None:
    """Make `fds` this process's 0, 1, 2 and 3, and close every other descriptor."""
    copies = [os.dup(fd) for fd in fds]  # all above 2, and distinct from `fds`
    for target, fd in enumerate(copies):
        os.dup2(fd, target)
    os.closerange(WORKER_FDS, os.sysconf("SC_OPEN_MAX"))


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _fresh_random_state() -> None:
    """Reseed numpy's global generator, as a fresh process would (Python's `random` reseeds
    itself after a fork; torch's default seed is fixed in every process)."""
    numpy_random: Any = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def main() -> int:
    """Serve until the grading process is done (0); in a forked worker, run the worker.

    The collector is off while the server imports torch and the worker (collections of a
    heap that grows by a million objects took a tenth of the import), and what it imported
    is then frozen: no collection in a worker scans those objects, whose pages it would
    otherwise copy. Each worker turns the collector back on."""
    gc.disable()
    import torch

    from autograder.worker.child.main import WATCH
    from autograder.worker.child.main import main as worker_main

    torch.set_num_threads(1)  # before any op: a child forked after a threaded op can hang
    # Once, for every worker forked, and before the freeze: gc.get_objects skips what it froze.
    WATCH.learn_the_kit()
    gc.freeze()
    environment = serve(socket.socket(fileno=0))
    if environment is None:
        # Nothing to flush or close: skip the interpreter's teardown (a third of a second
        # once torch is imported), which the grading process would wait for on its way out.
        os._exit(0)
    gc.enable()
    os.environ.clear()
    os.environ.update(environment)
    _fresh_random_state()
    return worker_main()


if __name__ == "__main__":
    raise SystemExit(main())
