"""Start a guarded process the way every worker starts: a clean environment, a scratch HOME
and TMPDIR, its own session, no file descriptor but the ones given, under the guard.

    python -I -S reaper.py GRADER_PID -- python -m MODULE

launch.py starts cold workers this way (MODULE: child/main.py), forks.py the fork server
(child/forkserver.py), which then forks workers that inherit this start.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

from autograder.config import KIT_ROOT
from autograder.worker.confine import reaper

__all__ = ["drain", "guarded", "new_scratch", "remove_scratch", "worker_environment"]

REAPER = Path(reaper.__file__).resolve()
KEPT_VARIABLES = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "SYSTEMROOT"})
KEPT_PREFIXES = ("LC_", "CUDA_", "NVIDIA_", "OMP_", "MKL_", "KMP_", "OPENBLAS_")


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
        # Keep freed memory for the next tensor: by default glibc gives each large tensor back
        # to the system when it is freed, and the next step faults all its pages in again,
        # which tripled the time of a step on 250,000 coordinates. Up to 256 MiB is kept, and
        # blocks of 32 MiB or more are still mapped (and given back) one by one.
        MALLOC_MMAP_THRESHOLD_=str(32 * 2**20),
        MALLOC_TRIM_THRESHOLD_=str(256 * 2**20),
        HOME=str(scratch),
        TMPDIR=str(scratch),
    )
    return environment


def guarded(
    module: str, cwd: Path, environment: dict[str, str], stdin: int, stdout: int
) -> subprocess.Popen[bytes]:
    """`python -m module` under the guard, in `cwd`, in its own session, with `environment`,
    `stdin` and `stdout` (fds or subprocess.PIPE), stderr on a pipe, and no other fd."""
    command = [sys.executable, "-m", module]
    return subprocess.Popen(
        [sys.executable, "-I", "-S", str(REAPER), str(os.getpid()), "--", *command],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        bufsize=0,
        cwd=cwd,
        env=environment,
        close_fds=True,
        start_new_session=True,
    )


def drain(stream: IO[bytes] | None, tail: collections.deque[bytes]) -> None:
    """Read a process's stderr to its end, keeping only the last chunks (a bounded buffer)."""
    if stream is None:
        return
    with stream:
        while chunk := stream.read(65536):
            tail.append(chunk)


def new_scratch() -> Path:
    """A fresh scratch folder for one process's HOME and TMPDIR."""
    return Path(tempfile.mkdtemp(prefix="optim-grader-scratch-"))


def remove_scratch(folder: Path) -> None:
    """Remove a scratch folder, whatever permissions its content was given."""
    for path, folders, _ in os.walk(folder):
        for name in folders:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(path, name), 0o700)
    shutil.rmtree(folder, ignore_errors=True)
