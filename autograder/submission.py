"""Find the student's module in a submission: a folder, a .py file, a .zip or a notebook.

Nothing here runs student code: archives are unpacked with every entry checked (no absolute
paths, no `..`, no links, bounded sizes) and notebooks are turned into the module of the
definitions their graded functions need (notebook_module.py).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import json
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.errors import SubmissionError
from autograder.notebook_messages import relocated
from autograder.notebook_module import NotebookModule, build_module
from autograder.safe_text import printable
from autograder.scratch_copy import copy_module, refuse_link
from autograder.worker import CaseOutcome

__all__ = [
    "StudentModule",
    "SubmissionError",
    "check_assignment",
    "find_module",
    "locate_module",
    "notebook_cells",
    "open_submission",
]

MAX_ARCHIVE_BYTES = 64 * 2**20
MAX_ARCHIVE_ENTRIES = 2000
ENCRYPTED = 0x1  # the general purpose flag of an encrypted zip entry
READABLE_COMPRESSIONS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
IGNORED_FOLDERS = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"})


@dataclass(frozen=True)
class StudentModule:
    """The module file the worker imports, and the notebook it was made from, if any."""

    path: Path
    notebook: Path | None = None
    made: NotebookModule | None = None

    def explained(self, outcomes: Sequence[CaseOutcome]) -> list[CaseOutcome]:
        """`outcomes` with their messages naming what the student wrote: for a notebook, the
        notebook and the cell and line of each error rather than the generated module."""
        if self.notebook is None or self.made is None:
            return list(outcomes)
        return [relocated(o, self.made, self.path.name, self.notebook.name) for o in outcomes]


def _how_to_submit(module_name: str) -> str:
    return f"submit the module file {module_name} or a folder/zip holding it"


def locate_module(submission: Path, module_name: str, *, workdir: Path | None = None) -> Path:
    """The .py file to import for `module_name` in `submission` (see `find_module`)."""
    return find_module(submission, module_name, workdir=workdir).path


def find_module(
    submission: Path, module_name: str, *, workdir: Path | None = None
) -> StudentModule:
    """The .py file to import for `module_name` (e.g. "adaptive.py") in `submission`.

    A folder is searched for the module (at its top, else anywhere below it, else a notebook
    of the same stem); a .py file is the module whatever its name; a .zip is unpacked and
    searched as a folder; a notebook becomes a module; a path that does not exist but names
    the module without its suffix ("solutions/adaptive") is that module. Unpacked and
    converted files go to `workdir` (default: a new temporary folder, the caller's to
    remove; `open_submission` does that). Raises SubmissionError.
    """
    submission = Path(submission)
    named = submission.name == Path(module_name).stem
    if named and not submission.exists() and submission.with_name(module_name).is_file():
        submission = submission.with_name(module_name)  # "solutions/adaptive" for adaptive.py
    if not submission.exists():
        raise SubmissionError(f"{submission} does not exist: {_how_to_submit(module_name)}")
    refuse_link(submission)
    if submission.is_dir():
        return _search_folder(submission, module_name, workdir)
    if not submission.is_file():
        raise SubmissionError(f"{submission} is not a regular file: {_how_to_submit(module_name)}")
    suffix = submission.suffix.lower()
    if suffix == ".py":
        return StudentModule(submission)
    if suffix == ".ipynb":
        return _write_notebook_module(submission, module_name, _workdir(workdir))
    if suffix == ".zip":
        folder = _workdir(workdir) / "unpacked"
        _unpack(submission, folder, module_name)
        return _search_folder(folder, module_name, workdir, shown_as=submission)
    raise SubmissionError(
        f"{submission} is not a .py, .zip or .ipynb file: {_how_to_submit(module_name)}"
    )


@contextlib.contextmanager
def open_submission(submission: Path, module_name: str) -> Iterator[StudentModule]:
    """The module to grade, in a temporary workdir that is removed afterwards: a copy of the
    submission's regular files (the module alone for a single file), so that the worker,
    which reads the module's folder, sees this submission and nothing else."""
    workdir = _readable_tempdir()
    try:
        found = find_module(submission, module_name, workdir=workdir)
        if not found.path.is_relative_to(workdir):  # unpacked and converted ones already are
            copied = copy_module(found.path, workdir / "module", with_folder=submission.is_dir())
            found = dataclasses.replace(found, path=copied)
        yield found
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _readable_tempdir() -> Path:
    """A new temporary folder the worker can read when it runs as another user (mkdtemp makes
    it readable by its owner alone)."""
    folder = Path(tempfile.mkdtemp(prefix="optim-grader-"))
    folder.chmod(0o755)
    return folder


def _workdir(workdir: Path | None) -> Path:
    folder = _readable_tempdir() if workdir is None else workdir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _visible(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return not any(part in IGNORED_FOLDERS or part.startswith(".") for part in parts)


def _search_folder(
    folder: Path, module_name: str, workdir: Path | None, shown_as: Path | None = None
) -> StudentModule:
    shown = folder if shown_as is None else shown_as
    top = folder / module_name
    if top.is_file():
        return StudentModule(top)
    found = sorted(p for p in folder.rglob(module_name) if p.is_file() and _visible(p, folder))
    if len(found) > 1:
        places = ", ".join(str(p.relative_to(folder)) for p in found)
        raise SubmissionError(
            f"{shown} holds several {module_name} ({places}): keep exactly one, "
            f"at the top of the submission"
        )
    if found:
        return StudentModule(found[0])
    notebook_name = str(PurePosixPath(module_name).with_suffix(".ipynb"))
    notebooks = sorted(
        p for p in folder.rglob(notebook_name) if p.is_file() and _visible(p, folder)
    )
    if len(notebooks) == 1:
        return _write_notebook_module(notebooks[0], module_name, _workdir(workdir))
    candidates = sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*.py")
        if p.is_file() and _visible(p, folder)
    )
    if candidates:
        raise SubmissionError(
            f"no {module_name} in {shown}; it holds {', '.join(candidates)}: rename the module "
            f"to grade to {module_name} (the grader looks for that name only)"
        )
    raise SubmissionError(f"no {module_name} in {shown}: {_how_to_submit(module_name)}")


def check_assignment(module: Path, assignment: Assignment) -> None:
    """A SubmissionError when `module` defines none of `assignment`'s functions but most of
    another assignment's: the student submitted the wrong file. Read with `ast`, never run."""
    try:
        tree = ast.parse(module.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return  # the worker reports why it cannot be loaded, with the line
    defined = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    if defined & {f.name for f in assignment.functions}:
        return
    for other in ASSIGNMENTS:
        names = {f.name for f in other.functions}
        if other is not assignment and len(defined & names) * 2 > len(names):
            raise SubmissionError(
                f"{module.name} defines none of {assignment.name}'s functions "
                f"({', '.join(f.name for f in assignment.functions)}) but "
                f"{len(defined & names)} of the {len(names)} of {other.name}: this looks like "
                f"the `{other.name}` assignment; submit {assignment.module} for {assignment.name}"
            )


def _unpack(archive: Path, folder: Path, module_name: str) -> None:
    """Extract `archive` into `folder`, refusing unsafe or oversized entries."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            entries = bundle.infolist()
            if len(entries) > MAX_ARCHIVE_ENTRIES:
                raise SubmissionError(
                    f"{archive} holds {len(entries)} files, more than {MAX_ARCHIVE_ENTRIES}: "
                    f"{_how_to_submit(module_name)}"
                )
            if sum(entry.file_size for entry in entries) > MAX_ARCHIVE_BYTES:
                raise SubmissionError(
                    f"{archive} unpacks to more than {MAX_ARCHIVE_BYTES // 2**20} MiB: "
                    f"{_how_to_submit(module_name)}"
                )
            for entry in entries:
                _check_entry(archive, entry)
            folder.mkdir(parents=True, exist_ok=True)
            for entry in entries:
                _extract(bundle, entry, folder)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        # OSError: an entry that is both a file and a folder, or a name too long to write
        raise SubmissionError(
            f"{archive} is not a readable zip file ({printable(str(error)[:200])}): "
            f"{_how_to_submit(module_name)}"
        ) from None


def _check_entry(archive: Path, entry: zipfile.ZipInfo) -> None:
    name = entry.filename.replace("\\", "/")
    path = PurePosixPath(name)
    mode = entry.external_attr >> 16
    if path.is_absolute() or name.startswith("/") or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(f"{archive}: the entry {name!r} has an absolute path; zip the "
                              f"folder from inside it")  # fmt: skip
    if ".." in path.parts:
        raise SubmissionError(f"{archive}: the entry {name!r} points outside the archive "
                              f"(..); zip the folder itself")  # fmt: skip
    if stat.S_ISLNK(mode):
        raise SubmissionError(f"{archive}: the entry {name!r} is a symbolic link; put the "
                              f"file itself in the zip")  # fmt: skip
    if entry.flag_bits & ENCRYPTED:
        raise SubmissionError(f"{archive}: the entry {name!r} is encrypted; zip the files "
                              f"without a password")  # fmt: skip
    if entry.compress_type not in READABLE_COMPRESSIONS:
        raise SubmissionError(f"{archive}: the entry {name!r} is compressed in a way Python "
                              f"cannot read; zip it again with the usual deflate")  # fmt: skip


def _extract(bundle: zipfile.ZipFile, entry: zipfile.ZipInfo, folder: Path) -> None:
    """Write one checked entry below `folder`."""
    target = folder.joinpath(*PurePosixPath(entry.filename.replace("\\", "/")).parts)
    if entry.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with bundle.open(entry) as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink)  # zipfile stops at the declared size


def notebook_cells(notebook: Path) -> list[tuple[int, str]]:
    """The notebook's code cells: (number among all its cells, from 1; source)."""
    return [
        (number, _cell_source(notebook, number, cell.get("source", "")))
        for number, cell in enumerate(_notebook_cells(notebook), start=1)
        if isinstance(cell, dict) and cell.get("cell_type") == "code"
    ]


def _notebook_cells(notebook: Path) -> list[Any]:
    """The notebook's list of cells; SubmissionError for anything that is not a notebook
    (not JSON, nested too deep to read, no list of cells)."""
    try:
        document = json.loads(notebook.read_text(encoding="utf-8"))
        cells = document["cells"]
        if not isinstance(cells, list):
            raise TypeError("its cells are not a list")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            RecursionError) as error:  # fmt: skip
        reason = printable(f"{type(error).__name__}: {str(error)[:200]}")
        raise SubmissionError(
            f"{notebook} is not a readable Jupyter notebook ({reason}); save it again from "
            f"Jupyter, or submit the module as a .py file"
        ) from None
    return cells


def _cell_source(notebook: Path, number: int, source: object) -> str:
    """A code cell's source, a string or a list of strings as Jupyter saves it."""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    raise SubmissionError(
        f"{notebook} is not a readable Jupyter notebook (the source of cell {number} is not "
        "text); save it again from Jupyter, or submit the module as a .py file"
    )


def _write_notebook_module(notebook: Path, module_name: str, workdir: Path) -> StudentModule:
    """The module of `notebook`'s code cells that the assignment's graded functions need."""
    stem = PurePosixPath(module_name).stem
    graded = next((a.functions for a in ASSIGNMENTS if a.module == module_name), ())
    made = build_module(notebook_cells(notebook), stem, [f.name for f in graded])
    module = workdir / "notebook" / module_name
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(made.source, encoding="utf-8")
    return StudentModule(module, notebook, made)
