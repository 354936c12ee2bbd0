"""Find a class's submissions: every direct child of the class folder is one student's.

A child is a folder, a .py, a .zip or an .ipynb named by the student (`alice/`, `alice.zip`);
hidden entries and archive litter (`.DS_Store`, `__MACOSX`) are ignored. A student with two
entries, or an entry of another kind, is kept with the reason it cannot be graded, so the
batch records it instead of silently picking one or skipping it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import ClassFolderError
from autograder.safe_text import printable
from autograder.submission import IGNORED_FOLDERS

SUBMISSION_SUFFIXES = (".py", ".zip", ".ipynb")
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ClassEntry:
    """One student's entry: `path` to grade, or None and `problem` saying why it cannot be."""

    student: str
    path: Path | None
    problem: str
    content_hash: str

    @property
    def source(self) -> str:
        """The entry as the instructor sees it in the class folder."""
        if self.path is None:
            return ""
        return printable(self.path.name) + ("/" if _is_folder(self.path) else "")


def discover(folder: Path, *, exclude: Path | None = None) -> list[ClassEntry]:
    """The submissions in `folder`, sorted by student; `exclude` (the output folder, when it
    lies inside the class folder) is not a student. Raises ClassFolderError."""
    if not folder.exists():
        raise ClassFolderError(f"{folder}: no such folder; give the folder of the submissions")
    if not folder.is_dir():
        raise ClassFolderError(
            f"{folder} is not a folder; give the folder that holds one submission per student"
        )
    skipped = None if exclude is None else exclude.resolve()
    entries: dict[str, list[Path]] = defaultdict(list)
    for entry in sorted(folder.iterdir()):
        if _ignored(entry.name) or Path(os.path.realpath(entry)) == skipped:
            continue
        entries[_student(entry)].append(entry)
    if not entries:
        raise ClassFolderError(
            f"{folder} holds no submission: put one folder, .py, .zip or .ipynb per student "
            "in it, named by the student"
        )
    return [_submission(student, paths) for student, paths in sorted(entries.items())]


def _ignored(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_FOLDERS


def _student(entry: Path) -> str:
    """The student id: a folder's name, or a file's name without its extension, escaped
    (printable) so that any name a student chose can be shown and stored."""
    return printable(entry.name if _is_folder(entry) else entry.stem)


def _is_folder(path: Path) -> bool:
    """A folder itself, not a link to one."""
    return path.is_dir() and not path.is_symlink()


def _submission(student: str, paths: list[Path]) -> ClassEntry:
    names = printable(", ".join(p.name + ("/" if _is_folder(p) else "") for p in paths))
    unusual = next((p for p in paths if not (_is_folder(p) or _is_regular(p))), None)
    if unusual is not None:
        problem = (
            f"{names} is a link or a special file, not a folder or a file; put the "
            "submission itself in the class folder"
        )
        return ClassEntry(student, None, problem, "")
    try:
        digest = content_hash(*paths)
    except OSError as error:
        problem = f"{names} cannot be read ({error}); fix its permissions and run the batch again"
        return ClassEntry(student, None, problem, "")
    if len(paths) > 1:
        problem = (
            f"{student} has {len(paths)} submissions ({names}); keep exactly one of them "
            "in the class folder and run the batch again"
        )
        return ClassEntry(student, None, problem, digest)
    path = paths[0]
    if not path.is_dir() and path.suffix.lower() not in SUBMISSION_SUFFIXES:
        problem = (
            f"{names} is not a folder, a .py, a .zip or an .ipynb; submit the module, "
            "or a folder or zip that holds it"
        )
        return ClassEntry(student, None, problem, digest)
    return ClassEntry(student, path, "", digest)


def content_hash(*entries: Path) -> str:
    """A SHA-256 of what grading reads: a file's bytes, or every visible file below a folder
    by relative path (links inside a folder are hashed by their target, never followed)."""
    digest = hashlib.sha256()
    for entry in entries:
        for chunk in _entry_chunks(entry):
            digest.update(chunk)
    return digest.hexdigest()


def _entry_chunks(entry: Path) -> Iterator[bytes]:
    if not _is_folder(entry):
        yield b"file\0" + os.fsencode(entry.suffix.lower()) + b"\0"
        yield from _file_chunks(entry)
        return
    for relative in sorted(_visible_files(entry)):
        inner = entry / relative
        yield b"folder file\0" + os.fsencode(relative) + b"\0"
        if inner.is_symlink():
            yield b"link\0" + os.fsencode(os.readlink(inner))
        else:
            yield from _file_chunks(inner)


def _visible_files(folder: Path) -> list[str]:
    """The relative POSIX paths of the files below `folder`, hidden and litter folders aside."""
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = [f for f in folders if not _ignored(f)]
        here = Path(root).relative_to(folder)
        found += [(here / name).as_posix() for name in files if not _ignored(name)]
    return found


def _is_regular(path: Path) -> bool:
    return stat.S_ISREG(path.lstat().st_mode)


def _file_chunks(path: Path) -> Iterator[bytes]:
    """A file's size and bytes; a FIFO, device or socket only by its kind, never opened for
    reading."""
    mode = path.lstat().st_mode
    if not stat.S_ISREG(mode):
        yield f"special\0{stat.S_IFMT(mode)}\0".encode()
        return
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):  # replaced since the lstat
            raise OSError(f"{path} changed while it was read")
        yield f"size\0{info.st_size}\0".encode()
        while chunk := stream.read(HASH_CHUNK):
            yield chunk
