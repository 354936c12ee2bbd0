"""`optim-grader bundle nbgrader`, run through the real nbgrader exactly as docs/instructor.md
says: bundle, generate_assignment, two students in submitted/, autograde, feedback, export.

alice submits the solution, warnings included (warnings must never cost a point); bob the
solution with a known momentum bug. nbgrader's own gradebook must give alice every point and
take bob's from the momentum grade cell only, with the mistake named in his feedback.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autograder.catalog import assignment
from autograder.cli import main
from autograder.rubric import load_rubric
from reference.bugs import known_bugs

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "instructor.md"
SECTION = "## nbgrader and JupyterHub"
GD = assignment("gradient_descent")
BUG = next(bug for bug in known_bugs("momentum") if bug.name == "dampening_on_first_step")
BOB_EDIT = ("buffer = g.clone()", "buffer = (1.0 - dampening) * g")
# alice's minibatches warns from Python and from numpy at every call; her first cell from torch.
ALICE_EDIT = (
    "    perm = ",
    '    warnings.warn("minibatches warns")\n    numpy.float64(1.0) / 0.0\n    perm = ',
)
ALICE_WARNING_CELL = (
    "import warnings\nimport numpy\nimport torch\ntorch.nn.functional.softmax(torch.zeros(2))"
)


def guide_commands() -> list[str]:
    """The ```bash blocks of the guide's nbgrader section, in order."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)


def run(commands: str, folder: Path) -> None:
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def grade_id(cell: dict[str, Any]) -> str | None:
    return cell["metadata"].get("nbgrader", {}).get("grade_id")


def submission(course: Path, edits: dict[str, tuple[str, str]], extra_cell: str = "") -> str:
    """The released notebook with each solution cell written as the solution, `edits`
    (function -> (old, new)) applied, and `extra_cell` after the first cell."""
    source = course / "source" / GD.name / f"{GD.name}.ipynb"
    solutions = {
        grade_id(cell): "".join(
            line for line in cell["source"].splitlines(keepends=True) if "### " not in line
        )
        for cell in cells(source)
        if cell["metadata"]["nbgrader"]["solution"]
    }
    notebook = json.loads((course / "release" / GD.name / f"{GD.name}.ipynb").read_text())
    for cell in notebook["cells"]:
        name = grade_id(cell)
        if name in solutions:
            old, new = edits.get(name, ("", ""))
            assert old in solutions[name]
            cell["source"] = solutions[name].replace(old, new, 1)
    if extra_cell:
        added = {"cell_type": "code", "execution_count": None, "id": "mine", "metadata": {}}
        notebook["cells"].insert(1, {**added, "outputs": [], "source": extra_cell})
    return json.dumps(notebook)


def released_secrets() -> set[str]:
    """Lines of the solution that only its solution regions hold."""
    lines = (ROOT / "solutions" / GD.module).read_text(encoding="utf-8").splitlines()
    inside, outside, region = set(), set(), False
    for line in lines:
        if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
            region = "BEGIN" in line
            continue
        (inside if region else outside).add(line.strip())
    return {line for line in inside - outside if len(line) > 8}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_nbgrader_grades_each_function_of_the_bundle(tmp_path: Path):
    bundle, generate, submit, autograde, feedback = guide_commands()
    run(bundle, tmp_path)
    course = tmp_path / "course"
    run(generate, course)

    released = course / "release" / GD.name
    assert sorted(p.name for p in released.iterdir()) == [f"{GD.name}.ipynb", GD.module]
    text = "\n".join(p.read_text(encoding="utf-8") for p in released.iterdir())
    assert not {line for line in released_secrets() if line in text}
    assert "autograder" not in text and "HIDDEN TESTS" not in text and "grade(" not in text

    (tmp_path / "alice.ipynb").write_text(
        submission(course, {"minibatches": ALICE_EDIT}, ALICE_WARNING_CELL)
    )
    (tmp_path / "bob.ipynb").write_text(submission(course, {"momentum": BOB_EDIT}))
    run(submit, course)
    started = time.monotonic()
    run(autograde, course)
    seconds = (time.monotonic() - started) / 2
    print(f"nbgrader autograde: {seconds:.1f} s per submission")
    run(feedback, course)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        points = {
            student: {
                grade.name: (grade.score, grade.max_score)
                for notebook in gradebook.find_submission(GD.name, student).notebooks
                for grade in notebook.grades
            }
            for student in ("alice", "bob")
        }
    rubric_points = load_rubric(GD.name).points
    full = {f"grade_{name}": (float(p), float(p)) for name, p in rubric_points.items()}
    assert points["alice"] == full
    assert {k: v for k, v in points["bob"].items() if k != "grade_momentum"} == {
        k: v for k, v in full.items() if k != "grade_momentum"
    }
    assert 0 < points["bob"]["grade_momentum"][0] < rubric_points["momentum"]

    for student in ("alice", "bob"):
        graded = cells(course / "autograded" / student / GD.name / f"{GD.name}.ipynb")
        outputs = [
            o for c in graded if (grade_id(c) or "").startswith("grade_") for o in c["outputs"]
        ]
        assert not [o for o in outputs if o.get("name") == "stderr" or o["output_type"] == "error"]
    page = (course / "feedback" / "bob" / GD.name / f"{GD.name}.html").read_text(encoding="utf-8")
    assert BUG.misconception.split(" (")[0] in page

    with (course / "grades.csv").open(newline="") as table:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(table)}
    assert scores["alice"] == sum(rubric_points.values()) > scores["bob"]


def test_the_bundle_refuses_a_folder_in_use(tmp_path: Path, capsys):
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    assert main(["bundle", "nbgrader", GD.name, "-o", str(used)]) == 2
    assert capsys.readouterr().err == (
        f"optim-grader bundle: {used} exists and is not an empty folder; choose a new one\n"
    )
    assert [p.name for p in used.iterdir()] == ["notes.txt"]
