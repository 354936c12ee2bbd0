"""Second-round hostile submissions, graded through `python -m autograder` in a subprocess:
each attack of docs/threat-model.md ("what a submission reaches") earns nothing, reads nothing
of another's and stops nothing. Fixtures that need a link, a FIFO or an odd name are made here,
in the test's tmp_path (git cannot hold them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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
