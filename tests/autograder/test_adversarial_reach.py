"""Second-round hostile submissions, graded through `python -m autograder` in a subprocess:
each attack of docs/threat-model.md ("what a submission reaches") earns nothing, reads nothing
of another's and stops nothing. Fixtures that need a link, a FIFO or an odd name are made here,
in the test's tmp_path (git cannot hold them)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from autograder.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "gradient_descent.py"
MODULE = "gradient_descent.py"


def run_cli(*arguments: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """`python -m autograder ARGUMENTS` from `cwd`, with HOME and TMPDIR inside it."""
    home, scratch = cwd / ".home", cwd / ".tmp"
    home.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    finished = subprocess.run(
        [sys.executable, "-m", "autograder", *arguments],
        cwd=cwd,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOME": str(home),
            "TMPDIR": str(scratch),
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in finished.stderr, finished.stderr[-3000:]
    return finished


def grade_json(submission: Path, cwd: Path) -> dict[str, Any]:
    """The JSON report of `optim-grader grade SUBMISSION` on gradient_descent."""
    finished = run_cli(
        "grade", str(submission), "--assignment", "gradient_descent", "--format", "json", cwd=cwd
    )
    assert finished.returncode in (0, 2), finished.stderr[-3000:]
    report: dict[str, Any] = json.loads(finished.stdout)
    return report


def test_a_single_file_is_graded_alone_not_with_its_classmates(tmp_path: Path) -> None:
    shutil.copy(SOLUTION, tmp_path / "alice.py")
    (tmp_path / "bob.py").write_text("from alice import *\n")
    report = grade_json(tmp_path / "bob.py", tmp_path)
    assert report["score"] == 0
    assert any("No module named 'alice'" in error for error in report["errors"])


def test_a_module_that_is_a_link_to_the_solutions_is_refused(tmp_path: Path) -> None:
    student = tmp_path / "student"
    student.mkdir()
    (student / MODULE).symlink_to(SOLUTION)
    report = grade_json(student, tmp_path)
    assert report["score"] == 0
    assert any("symbolic link" in error for error in report["errors"])


def test_links_beside_the_module_are_not_followed(tmp_path: Path) -> None:
    student = tmp_path / "student"
    student.mkdir()
    (student / "helpers").symlink_to(ROOT / "solutions")
    (student / MODULE).write_text("from helpers.gradient_descent import *\n")
    report = grade_json(student, tmp_path)
    assert report["score"] == 0
    assert any("No module named 'helpers'" in error for error in report["errors"])


def test_python_m_in_a_students_folder_imports_none_of_its_modules(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "numpy.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError\n")
    shutil.copy(SOLUTION, tmp_path / MODULE)
    report = grade_json(tmp_path / MODULE, tmp_path)
    assert not marker.exists()
    assert report["score"] == report["max_score"]


@pytest.mark.slow
@pytest.mark.timeout(600)  # a batch of seven entries, two of them graded
def test_no_name_link_or_special_file_stops_a_batch(tmp_path: Path) -> None:
    solution = ROOT / "solutions" / "schedules.py"
    submissions, out = tmp_path / "class", tmp_path / "out"
    submissions.mkdir()
    not_utf8 = Path(os.fsdecode(bytes(submissions) + b"/b\xffob"))
    not_utf8.mkdir()
    shutil.copy(solution, not_utf8 / "schedules.py")
    (submissions / ("c" * 240 + ".py")).write_text("unused = 1\n")
    (submissions / '=HYPERLINK("evil.example")').mkdir()
    os.mkfifo(submissions / "eve.py")
    (submissions / "dave").mkdir()
    os.mkfifo(submissions / "dave" / "schedules.py")
    (submissions / "frank").symlink_to(ROOT / "solutions")
    (submissions / "gina").mkdir()
    (submissions / "gina" / "schedules.py").symlink_to(solution)
    finished = run_cli(
        "batch", str(submissions), "--assignment", "schedules", "--out", str(out), cwd=tmp_path
    )
    assert finished.returncode == 1, finished.stderr[-3000:]
    assert "\udcff" not in finished.stdout and "\\xff" in finished.stdout
    with (out / "grades.csv").open(newline="") as table:
        rows = {row["student"]: row for row in csv.DictReader(table)}
    assert set(rows) == {
        "b\\xffob", "c" * 240, "'=HYPERLINK(\"evil.example\")", "eve", "dave", "frank",
        "gina",
    }  # fmt: skip
    assert rows["b\\xffob"]["score"] == rows["b\\xffob"]["max_score"] != ""
    for student in ("eve", "dave", "frank", "gina"):
        assert rows[student]["score"] in ("", "0", "0.00"), student
    pages = sorted(page.name for page in (out / "feedback").iterdir())
    assert len(pages) == len(rows) and all(len(name) <= 105 for name in pages)


def test_student_text_is_escaped_in_every_report(tmp_path: Path) -> None:
    submission = tmp_path / "sub\x1b[2Jmission"
    shutil.copytree(ROOT / "tests" / "fixtures" / "hostile" / "injector", submission)
    finished = run_cli(
        "grade", str(submission / MODULE), "--assignment", "gradient_descent", "--format",
        "text,markdown,gradescope", cwd=tmp_path,
    )  # fmt: skip
    assert finished.returncode in (0, 2), finished.stderr[-3000:]
    text, _, gradescope = finished.stdout.rpartition("\n{")
    results = json.loads("{" + gradescope)
    outputs = [results.get("output", "")] + [test["output"] for test in results["tests"]]
    for shown in (text, *outputs):
        assert "\x1b" not in shown and "\u202e" not in shown
    for shown in (text.partition("## ")[2], *outputs):  # the Markdown outputs
        assert "http://" not in shown and "@course" not in shown
    assert "\\x1b[2J" in text and "Evil\\x1b" in text


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return path


def _patched_zip(path: Path, *, flag: int = 0, method: int | None = None) -> Path:
    """A one-entry zip whose headers claim an encryption flag or a compression method that
    Python cannot write (deflate64 is 9)."""
    data = bytearray(_zip(path, {MODULE: SOLUTION.read_bytes()}).read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flags_at
        data[at] |= flag
        if method is not None:
            data[at + 2 : at + 4] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


MALFORMED = {
    "deep.ipynb": lambda p: p.write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "number.ipynb": lambda p: p.write_text(
        json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1\n", 3]}]})
    ),
    "encrypted.zip": lambda p: _patched_zip(p, flag=0x1),
    "deflate64.zip": lambda p: _patched_zip(p, method=9),
    "file_and_folder.zip": lambda p: _zip(p, {"x": b"", f"x/{MODULE}": b""}),
    "long_name.zip": lambda p: _zip(p, {"a" * 300 + ".py": b"", MODULE: b""}),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_submission_is_a_report_with_score_zero(tmp_path: Path, name: str) -> None:
    submission = tmp_path / name
    MALFORMED[name](submission)
    finished = run_cli(
        "grade", str(submission), "--assignment", "gradient_descent", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    assert finished.returncode == 2, finished.stderr[-3000:]
    report = json.loads(finished.stdout)
    assert report["score"] == 0 and report["errors"], report["errors"]


def test_a_worker_holds_no_hidden_request_before_its_visible_cases_end(tmp_path: Path) -> None:
    # a batch's worker runs the visible cases, then the hidden ones, and holds requests ahead
    # of the case it runs; every function reads those and raises the highest case number
    shutil.copytree(ROOT / "tests" / "fixtures" / "hostile" / "reader", tmp_path / "class" / "eve")
    finished = run_cli(
        "batch", str(tmp_path / "class"), "--assignment", "gradient_descent", "--out",
        str(tmp_path / "out"), "--case-time-limit", "1", cwd=tmp_path,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    with sqlite3.connect(tmp_path / "out" / "gradebook.sqlite") as gradebook:
        messages = [m for (m,) in gradebook.execute("SELECT message FROM checks WHERE visible")]
    read = [
        int(m.group(1))
        for m in map(re.compile(r"read ahead up to case (-?\d+)").search, messages)
        if m
    ]
    runnable = [c for c in load_rubric("gradient_descent").visible if c.unavailable is None]
    assert max(read) > 0  # it did read requests ahead: the visible cases' own
    assert max(read) < len(runnable), (read, len(runnable))


def test_visible_outputs_carry_nothing_of_the_hidden_cases(tmp_path: Path) -> None:
    # every function raises the list of cases it has been called on, visible or hidden
    submission = tmp_path / "submission"
    shutil.copytree(ROOT / "tests" / "fixtures" / "hostile" / "recorder", submission)
    finished = run_cli(
        "grade", str(submission / MODULE), "--assignment", "gradient_descent", "--format",
        "gradescope", cwd=tmp_path,
    )  # fmt: skip
    tests = json.loads(finished.stdout)["tests"]
    visible = [test for test in tests if test["visibility"] == "visible"]
    assert visible and len(visible) < len(tests)
    for test in visible:
        seen = re.search(r"seen (\d+) cases", test["output"])
        assert seen is None or int(seen.group(1)) <= len(visible), test["output"]
