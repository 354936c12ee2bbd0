"""The command line as scripts and CI call it: `optim-grader` and `python -m autograder`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def design_names() -> dict[str, list[str]]:
    """The assignments and functions of the table in docs/design.md §2, read from the page."""
    names = {}
    for line in (ROOT / "docs" / "design.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[1].endswith(".py`"):
            names[cells[0].strip("`")] = [name.strip(" `") for name in cells[2].split(",")]
    return names


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_list_json_names_the_three_assignments_and_their_functions():
    result = run(sys.executable, "-m", "autograder", "list", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    names = {a["name"]: [f["name"] for f in a["functions"]] for a in listing["assignments"]}
    assert names == design_names()
    for assignment in listing["assignments"]:
        assert assignment["max_score"] == sum(f["points"] for f in assignment["functions"])
        assert all(f["points"] > 0 for f in assignment["functions"])


def test_list_text_shows_every_function():
    result = run(sys.executable, "-m", "autograder", "list")
    assert result.returncode == 0, result.stderr
    for functions in design_names().values():
        for name in functions:
            assert name in result.stdout


def test_console_script_is_installed():
    script = shutil.which("optim-grader", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.fail("the optim-grader console script is not installed beside this Python")
    result = run(script, "list", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["assignments"]


def test_unknown_subcommand_is_a_usage_error():
    result = run(sys.executable, "-m", "autograder", "frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_release_check_passes_on_the_committed_assignments():
    result = run(sys.executable, "-m", "autograder", "release", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_a_check_exits_with_its_status_its_whole_output_and_nothing_left_behind(tmp_path: Path):
    """The command leaves without the interpreter's teardown: its output still arrives whole
    through a pipe and into a file, its status is the check's, and the fork server is gone
    with its scratch folder."""
    folder = tmp_path / "gradient_descent"
    shutil.copytree(ROOT / "assignments" / "gradient_descent", folder)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    environment = {**buffered, "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "autograder", "check", str(folder), "--verbose"]
    piped = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env=environment
    )
    written = tmp_path / "out.txt"
    with written.open("w") as out:
        status = subprocess.run(command, stdout=out, timeout=120, check=False, env=environment)
    for result, text in ((piped, piped.stdout), (status, written.read_text())):
        assert result.returncode == 1  # the skeleton's functions are not written yet
        lines = text.splitlines()
        assert lines[-1].startswith("0 of 4 functions pass"), text[-500:]
        assert sum(line.startswith("     ") for line in lines) > 20  # every case, verbose
    assert list(scratch.iterdir()) == []
