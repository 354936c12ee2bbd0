"""Find the student's module in a submission: a folder, a .py file, a .zip or a notebook.

Nothing here runs student code: archives are unpacked with every entry checked (no absolute
paths, no `..`, no links, bounded sizes) and notebooks are turned into a module by joining
their code cells, IPython magics and shell lines dropped.
"""

from __future__ import annotations

import ast
import contextlib
import json
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.errors import SubmissionError

__all__ = [
    "SubmissionError", "check_assignment", "locate_module", "notebook_source", "open_submission"
]  # fmt: skip

MAX_ARCHIVE_BYTES = 64 * 2**20
MAX_ARCHIVE_ENTRIES = 2000
IGNORED_FOLDERS = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"})
NON_PYTHON_CELL_MAGICS = frozenset(
    {"bash", "sh", "script", "html", "javascript", "js", "latex", "markdown", "svg", "perl",
     "ruby", "writefile", "sx", "system", "file"}
)  # fmt: skip


def _how_to_submit(module_name: str) -> str:
    return f"submit the module file {module_name} or a folder/zip holding it"


def locate_module(submission: Path, module_name: str, *, workdir: Path | None = None) -> Path:
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
    if submission.is_dir():
        return _search_folder(submission, module_name, workdir)
    suffix = submission.suffix.lower()
    if suffix == ".py":
        return submission
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
def open_submission(submission: Path, module_name: str) -> Iterator[Path]:
    """`locate_module` with a temporary workdir that is removed afterwards."""
    workdir = _readable_tempdir()
    try:
        yield locate_module(submission, module_name, workdir=workdir)
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
) -> Path:
    shown = folder if shown_as is None else shown_as
    top = folder / module_name
    if top.is_file():
        return top
    found = sorted(p for p in folder.rglob(module_name) if p.is_file() and _visible(p, folder))
    if len(found) > 1:
        places = ", ".join(str(p.relative_to(folder)) for p in found)
        raise SubmissionError(
            f"{shown} holds several {module_name} ({places}): keep exactly one, "
            f"at the top of the submission"
        )
    if found:
        return found[0]
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
    except zipfile.BadZipFile as error:
        raise SubmissionError(
            f"{archive} is not a readable zip file ({error}): {_how_to_submit(module_name)}"
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


def _extract(bundle: zipfile.ZipFile, entry: zipfile.ZipInfo, folder: Path) -> None:
    """Write one checked entry below `folder`."""
    target = folder.joinpath(*PurePosixPath(entry.filename.replace("\\", "/")).parts)
    if entry.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with bundle.open(entry) as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink)  # zipfile stops at the declared size


def notebook_source(notebook: Path) -> str:
    """The notebook's code cells as one module; magics and shell lines become `pass`."""
    try:
        document = json.loads(notebook.read_text(encoding="utf-8"))
        cells = document["cells"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise SubmissionError(
            f"{notebook} is not a readable Jupyter notebook ({error}); save it again from "
            f"Jupyter, or submit the module as a .py file"
        ) from None
    chunks = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        chunks.append(f"# notebook cell {number}\n{_drop_magics(text)}\n")
    return "\n".join(chunks)


def _drop_magics(cell: str) -> str:
    """The cell with IPython-only lines replaced by `pass` (same indentation, same line count)."""
    lines = cell.splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("%%") and first[2:].split(" ")[0] in NON_PYTHON_CELL_MAGICS:
        return "\n".join(
            ["pass  # a cell that is not Python", *("# " + line for line in lines[1:])]
        )
    kept = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            kept.append(line[: len(line) - len(stripped)] + "pass  # IPython line dropped")
        else:
            kept.append(line)
    return "\n".join(kept)


def _write_notebook_module(notebook: Path, module_name: str, workdir: Path) -> Path:
    module = workdir / "notebook" / module_name
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(notebook_source(notebook), encoding="utf-8")
    return module
