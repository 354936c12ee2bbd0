"""Copy a submission's files into a scratch folder before a worker sees them: regular files only.

The worker reads the folder its module lies in, so a single file is graded alone and a folder
without what could lead elsewhere: links, FIFOs, devices and sockets are left out, and a module
that is a link is refused. Nothing is opened but regular files, never through a link
(O_NOFOLLOW) and never waiting on a FIFO (O_NONBLOCK).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from autograder.errors import SubmissionError

MAX_COPY_BYTES = 64 * 2**20
MAX_COPY_ENTRIES = 2000
SKIPPED_FOLDERS = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"})
CHUNK = 2**20


class _Budget:
    """What a copy may still take: files and bytes."""

    def __init__(self, source: Path) -> None:
        self.source, self.entries, self.bytes = source, MAX_COPY_ENTRIES, MAX_COPY_BYTES

    def take(self, size: int) -> None:
        self.entries -= 1
        self.bytes -= size
        if self.entries < 0 or self.bytes < 0:
            raise SubmissionError(
                f"{self.source} holds more than {MAX_COPY_ENTRIES} files or "
                f"{MAX_COPY_BYTES // 2**20} MiB: submit the module and the files it needs only"
            )


def refuse_link(path: Path) -> None:
    """A SubmissionError if `path` is a symbolic link (the grader never follows one)."""
    if path.is_symlink():
        raise SubmissionError(
            f"{path} is a symbolic link: submit the file itself, not a link to it"
        )


def copy_module(module: Path, target: Path, *, with_folder: bool) -> Path:
    """Copy `module` (and, `with_folder`, the regular files of its folder and below) into the
    new folder `target`; the copied module's path."""
    refuse_link(module)
    target.mkdir(parents=True)
    budget = _Budget(module.parent if with_folder else module)
    if with_folder:
        _copy_folder(module.parent, target, budget)
    _copy_file(module, target / module.name, budget, required=True)
    return target / module.name


def _copy_folder(source: Path, target: Path, budget: _Budget) -> None:
    with os.scandir(source) as entries:
        listed = sorted(entries, key=lambda entry: entry.name)
    for entry in listed:
        path = source / entry.name
        if entry.is_dir(follow_symlinks=False) and entry.name not in SKIPPED_FOLDERS:
            (target / entry.name).mkdir()
            _copy_folder(path, target / entry.name, budget)
        elif entry.is_file(follow_symlinks=False):
            _copy_file(path, target / entry.name, budget, required=False)


def _copy_file(source: Path, target: Path, budget: _Budget, *, required: bool) -> None:
    """Copy one regular file; one that is not (any more) is skipped, or refused if `required`."""
    try:
        descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if required:
            raise SubmissionError(f"{source} cannot be read ({error.strerror})") from None
        return
    with os.fdopen(descriptor, "rb") as reader:
        info = os.fstat(reader.fileno())
        if not stat.S_ISREG(info.st_mode):
            if required:
                raise SubmissionError(f"{source} is not a regular file: submit the file itself")
            return
        budget.take(info.st_size)
        with target.open("wb") as writer:
            left = info.st_size  # a file that grows meanwhile is copied as it was measured
            while left > 0 and (chunk := reader.read(min(CHUNK, left))):
                left -= len(chunk)
                writer.write(chunk)
