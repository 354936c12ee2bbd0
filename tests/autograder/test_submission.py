"""locate_module: every submission shape the kit accepts, and clear refusals for the rest."""

from __future__ import annotations

import json
import re
import stat
import zipfile
from pathlib import Path

import pytest

from autograder import submission
from autograder.errors import SubmissionError
from autograder.submission import locate_module, open_submission

MODULE = "def adam(x, grad, state, **hyperparameters):\n    return x - 0.001 * grad\n"


def write(path: Path, text: str = MODULE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def refused(message: str) -> pytest.RaisesExc[SubmissionError]:
    return pytest.raises(SubmissionError, match=re.escape(message))


# --- folders and files ----------------------------------------------------------------------


def test_a_folder_with_the_module_at_its_top(tmp_path: Path) -> None:
    module = write(tmp_path / "alice" / "adaptive.py")
    write(tmp_path / "alice" / "notes.py", "raise SystemExit")
    write(tmp_path / "alice" / "old" / "adaptive.py", "")  # the top one wins
    assert locate_module(tmp_path / "alice", "adaptive.py") == module


def test_a_nested_module_is_found_and_copies_in_hidden_folders_are_ignored(
    tmp_path: Path,
) -> None:
    module = write(tmp_path / "bob" / "hw2" / "src" / "adaptive.py")
    write(tmp_path / "bob" / "__MACOSX" / "hw2" / "adaptive.py", "")
    write(tmp_path / "bob" / ".ipynb_checkpoints" / "adaptive.py", "")
    write(tmp_path / "bob" / "hw2" / "__pycache__" / "adaptive.py", "")
    assert locate_module(tmp_path / "bob", "adaptive.py") == module


def test_several_nested_modules_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "carol" / "v1" / "adaptive.py")
    write(tmp_path / "carol" / "v2" / "adaptive.py")
    with refused(
        f"{tmp_path / 'carol'} holds several adaptive.py (v1/adaptive.py, v2/adaptive.py): "
        "keep exactly one, at the top of the submission"
    ):
        locate_module(tmp_path / "carol", "adaptive.py")


def test_a_folder_without_the_module_is_refused_with_what_to_submit(tmp_path: Path) -> None:
    folder = tmp_path / "submissions" / "alice"
    (folder / "notes").mkdir(parents=True)
    with refused(
        f"no adaptive.py in {folder}: submit the module file adaptive.py or a folder/zip holding it"
    ):
        locate_module(folder, "adaptive.py")


def test_a_folder_of_other_python_files_lists_them_and_the_expected_name(tmp_path: Path) -> None:
    write(tmp_path / "submissions" / "alice" / "adaptve.py")
    folder = tmp_path / "submissions" / "alice"
    with refused(f"no adaptive.py in {folder}; it holds adaptve.py: rename the module to grade"):
        locate_module(folder, "adaptive.py")


def test_a_python_file_of_any_name_is_the_module(tmp_path: Path) -> None:
    module = write(tmp_path / "alice_hw2_final.py")
    assert locate_module(module, "adaptive.py") == module


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "does not exist: submit the module file adaptive.py"),
        ("report.pdf", "is not a .py, .zip or .ipynb file: submit the module file adaptive.py"),
    ],
    ids=["missing path", "other file type"],
)
def test_other_paths_are_refused(tmp_path: Path, name: str, message: str) -> None:
    if name != "missing":
        write(tmp_path / name, "%PDF")
    with refused(f"{tmp_path / name} {message}"):
        locate_module(tmp_path / name, "adaptive.py")


# --- zip archives ---------------------------------------------------------------------------


def make_zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in entries.items():
            bundle.writestr(name, text)
    return path


@pytest.mark.parametrize(
    "name", ["adaptive.py", "alice/adaptive.py", "alice/hw/adaptive.py"], ids=str
)
def test_a_zip_is_unpacked_into_the_workdir_and_searched(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "alice.zip", {name: MODULE, "alice/README.txt": "hi"})
    module = locate_module(archive, "adaptive.py", workdir=tmp_path / "work")
    assert module.is_relative_to(tmp_path / "work") and module.name == "adaptive.py"
    assert module.read_text() == MODULE


def test_a_zip_without_the_module_names_the_zip(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "alice.zip", {"notes.txt": "hi"})
    with refused(f"no adaptive.py in {archive}: submit the module file adaptive.py"):
        locate_module(archive, "adaptive.py", workdir=tmp_path / "work")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("../adaptive.py", "points outside the archive"),
        ("alice/../../adaptive.py", "points outside the archive"),
        ("/etc/adaptive.py", "has an absolute path"),
        ("C:/Users/adaptive.py", "has an absolute path"),
    ],
    ids=["parent entry", "parent entry inside a folder", "absolute path", "drive letter"],
)
def test_a_zip_entry_outside_the_archive_is_refused(
    tmp_path: Path, entry: str, message: str
) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo(entry), MODULE)
    with refused(f"{archive}: the entry {entry!r} {message}"):
        locate_module(archive, "adaptive.py", workdir=tmp_path / "work")
    assert not (tmp_path / "adaptive.py").exists()
    assert not (tmp_path / "work" / "unpacked").exists()


def test_a_zip_with_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    link = zipfile.ZipInfo("adaptive.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(link, "/work/main/solutions/adaptive.py")
    with refused(f"{archive}: the entry 'adaptive.py' is a symbolic link"):
        locate_module(archive, "adaptive.py", workdir=tmp_path / "work")


def test_a_zip_that_unpacks_too_large_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(submission, "MAX_ARCHIVE_BYTES", 2**20)
    archive = make_zip(tmp_path / "bomb.zip", {"adaptive.py": MODULE, "zeros.txt": "0" * 2**20})
    with refused(f"{archive} unpacks to more than 1 MiB"):
        locate_module(archive, "adaptive.py", workdir=tmp_path / "work")


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    archive = write(tmp_path / "alice.zip", "not a zip")
    with refused(f"{archive} is not a readable zip file"):
        locate_module(archive, "adaptive.py", workdir=tmp_path / "work")


def test_open_submission_removes_what_it_unpacked(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "alice.zip", {"adaptive.py": MODULE})
    with open_submission(archive, "adaptive.py") as module:
        assert module.path.read_text() == MODULE
    assert not module.path.exists() and not module.path.parent.exists()


# --- notebooks ------------------------------------------------------------------------------


def notebook(path: Path, *cells: tuple[str, str]) -> Path:
    document = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
            for kind, text in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return write(path, json.dumps(document))


NOTEBOOK_CELLS = (
    ("markdown", "# Adaptive methods\nWrite adam below."),
    ("code", "%matplotlib inline\n!pip install torch\nimport torch"),
    ("code", "%%bash\necho hello\nls -l"),
    (
        "code",
        "def adam(x, grad, state, *, lr=0.001):\n"
        "    for _ in range(1):\n"
        "        %time pass\n"
        "    return x - lr * grad",
    ),
    ("code", "%%time\nSTEPS = 3"),
)


def test_a_notebook_becomes_a_module_without_its_magics(tmp_path: Path) -> None:
    path = notebook(tmp_path / "adaptive.ipynb", *NOTEBOOK_CELLS)
    source = locate_module(path, "adaptive.py", workdir=tmp_path / "work").read_text()
    assert "%" not in source and "!pip" not in source and "echo hello" not in source
    assert "Write adam below" not in source
    namespace: dict[str, object] = {}
    exec(compile(source, "adaptive.py", "exec"), namespace)  # our own notebook, not a student's
    assert callable(namespace["adam"])


@pytest.mark.parametrize("inside_folder", [False, True], ids=["the notebook", "a folder"])
def test_a_notebook_submission_is_written_as_the_module(
    tmp_path: Path, inside_folder: bool
) -> None:
    path = notebook(tmp_path / "alice" / "adaptive.ipynb", *NOTEBOOK_CELLS)
    given = path.parent if inside_folder else path
    module = locate_module(given, "adaptive.py", workdir=tmp_path / "work")
    assert module.name == "adaptive.py" and module.is_relative_to(tmp_path / "work")
    assert "def adam(x, grad, state, *, lr=0.001):" in module.read_text()


def test_a_broken_notebook_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "adaptive.ipynb", '{"cells": [')
    with refused(f"{path} is not a readable Jupyter notebook"):
        locate_module(path, "adaptive.py", workdir=tmp_path / "work")


def test_a_module_path_without_its_suffix_names_the_module(tmp_path: Path) -> None:
    (tmp_path / "adaptive.py").write_text("")
    assert locate_module(tmp_path / "adaptive", "adaptive.py") == tmp_path / "adaptive.py"
    with pytest.raises(SubmissionError, match="does not exist"):
        locate_module(tmp_path / "adaptiv", "adaptive.py")
