"""The guard between the grading process and its worker: no process the student starts outlives it.

    python -I -S reaper.py GRADER_PID -- python -m autograder.worker.child.main

The guard makes itself a child subreaper (Linux), so that every process the worker starts
and abandons, even one that left the worker's session with setsid, is re-parented to the
guard rather than to init and stays findable as a descendant. It starts the worker on its
own stdin, stdout and stderr, gives up its copies of the pipes, and waits. When the worker
ends, when the grading process asks (SIGTERM) or when the grading process dies, it kills
every descendant, reaps them, and exits as the worker did (the same code, or the same
signal), so the grading process still sees how the worker ended.

It runs as a script with only the standard library (no torch, no kit), so that it starts
in milliseconds; `kill_tree` is also the grading process's fallback. The fork server
(child/forkserver.py) runs the same guard in a forked process: `prepare`, then the worker,
then `guard`, which also writes the wait status to a pipe, since its grading process is
not its parent and cannot wait for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["descendants", "guard", "kill_tree", "main", "prepare", "reap_children", "watch"]

_SET_CHILD_SUBREAPER = 36
SWEEP_ROUNDS = 200
ROUND_WAIT = 0.01  # seconds a guard waits for its killed children to end before it looks again
KILLED = int(signal.SIGKILL)  # the wait status of a process killed by SIGKILL


def _parent_table() -> dict[int, tuple[int, str]] | None:
    """{pid: (parent pid, state letter)} of every process in /proc; None without /proc."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue  # it exited meanwhile
        table[int(name)] = (int(fields[1]), fields[0].decode())
    return table


def descendants(root: int) -> list[int] | None:
    """The live (not zombie) descendants of `root`, parents first; None without /proc."""
    table = _parent_table()
    if table is None:
        return None
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        for child in children.get(pid, []):
            frontier.append(child)
            if table[child][1] != "Z":
                found.append(child)
    return found


def reap_children() -> None:
    """Collect every child that has exited (own children and adopted orphans)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def kill_tree(root: int, *, reap: bool = False) -> bool:
    """SIGKILL every descendant of `root` until none is left (a process forking meanwhile
    only adds a round); `reap` when they are the caller's to reap. False without /proc."""
    for _ in range(SWEEP_ROUNDS):
        found = descendants(root)
        if found is None:
            return False
        if not found:
            return True
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if reap:
            _reap_while_children_end(ROUND_WAIT)
        else:
            time.sleep(0.001)
    return True


def _reap_while_children_end(limit: float) -> None:
    """Reap children as they end, for up to `limit` seconds or until none is left. A killed
    worker takes 10 ms or more to give back its memory: waiting for it costs nothing, where
    each look through /proc costs a millisecond or more of CPU."""
    deadline = time.monotonic() + limit
    with contextlib.suppress(ChildProcessError):
        while time.monotonic() < deadline:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.0005)


def _become_subreaper() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(*(ctypes.c_ulong(a) for a in (_SET_CHILD_SUBREAPER, 1, 0, 0, 0)))


def _exit_like(status: int, report: int | None = None) -> NoReturn:
    """Exit with the worker's wait status: its exit code, or death by its signal; write the
    status to fd `report` first, if given (4 bytes, native order)."""
    reap_children()
    if report is not None:
        with contextlib.suppress(OSError):
            os.write(report, status.to_bytes(4, sys.byteorder, signed=True))
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)  # a signal whose default is to be ignored
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _sweep_and_exit(status: int, report: int | None = None) -> NoReturn:
    if not kill_tree(os.getpid(), reap=True):
        with contextlib.suppress(OSError):
            os.killpg(os.getpgid(0), signal.SIGKILL)  # no /proc: at least the own group
    _exit_like(status, report)


def watch(grader: int, parent: int) -> int | None:
    """A pidfd of the grading process, opened while this process's parent is `parent` (so
    that the pid was not reused meanwhile); None without pidfds. Sweeps and exits if the
    parent is gone already."""
    try:
        watched = os.pidfd_open(grader)
    except (AttributeError, OSError):  # pidfd_open: Linux 5.3 and later
        return None
    if os.getppid() != parent:
        _sweep_and_exit(KILLED)  # the grading process died before the pidfd was open
    return watched


def prepare(report: int | None = None) -> None:
    """Become the guard, before the worker starts: no core dump, a subreaper, and SIGTERM
    ends everything (reporting to fd `report`, if given)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # dying like the worker leaves no core
    _become_subreaper()
    signal.signal(signal.SIGTERM, lambda number, frame: _sweep_and_exit(KILLED, report))


def guard(worker: int, grader: int | None, report: int | None = None) -> NoReturn:
    """Give up the pipes (they belong to the worker: its death must close them), wait until
    the worker ends or the grading process (pidfd `grader`) dies, sweep, exit like it."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.close(devnull)
    _sweep_and_exit(_wait(worker, grader), report)


def _wait(worker: int, grader: int | None) -> int:
    """The worker's wait status, once it ends; sweep and exit first if the grader dies."""
    if grader is not None:
        with contextlib.suppress(AttributeError, OSError):  # pidfd_open: Linux 5.3 and later
            watched = os.pidfd_open(worker)
            poller = select.poll()
            for fd in (watched, grader):
                poller.register(fd, select.POLLIN)
            if watched not in {fd for fd, _ in poller.poll()}:
                _sweep_and_exit(KILLED)  # the grading process is gone: end everything
    return os.waitpid(worker, 0)[1]


def main(argv: Sequence[str]) -> None:
    """reaper.py GRADER_PID -- COMMAND...: run COMMAND as the guarded worker."""
    grader, command = int(argv[0]), list(argv[2:])
    prepare()
    worker = os.posix_spawn(command[0], command, os.environ)
    guard(worker, watch(grader, grader))


if __name__ == "__main__":
    main(sys.argv[1:])
