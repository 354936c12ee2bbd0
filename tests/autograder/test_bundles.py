"""`optim-grader bundle`: a bundle asked for wrongly is refused in one line, before any work.
(The bundles themselves are built, installed and run in tests/platforms/.)"""

import subprocess
import sys
from pathlib import Path

import pytest


def bundle(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "autograder", "bundle", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("kind", "output", "message"),
    [
        ("gradescope", "autograder.tar", "Gradescope takes a .zip; name the output NAME.zip"),
        ("student", "full", "exists and is not an empty folder: give a new one"),
        ("moodle", "out", "unknown bundle 'moodle'; choose one of: "),
    ],
)
def test_a_bundle_asked_for_wrongly_is_one_line_and_exit_2(
    tmp_path: Path, kind: str, output: str, message: str
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    result = bundle(kind, "gradient_descent", "-o", tmp_path / output)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / output).is_file()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["full", "notes.txt"]
