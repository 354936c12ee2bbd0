"""`bundle github NAME -o DIR`: a GitHub Classroom template repository for one assignment.

DIR gets what a student works in (the assignment's stub module, README, notebook and public
expected values, as `release` writes them in assignments/NAME/), requirements-checker.txt
(the student checker and torch, pinned), and .github/workflows/grade.yml, which on every push
grades the visible cases with `python -m autograder.github_action` and reports the points to
Classroom through classroom-resources/autograding-grading-reporter. Hidden cases never enter
the repository: the instructor grades them with `optim-grader batch` over the cloned
repositories (docs/instructor.md, "GitHub Classroom").
"""

from __future__ import annotations

import shutil
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from autograder.batch.gradebook import kit_version
from autograder.catalog import assignment as find_assignment
from autograder.config import KIT_ROOT
from autograder.errors import BundleError
from autograder.github_action import DEFAULT_HTML, RUNNER

CHECKER = "optim-grader-student"  # the kit's student side: no reference, rubric or hidden case
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # CPU builds: no gigabytes of CUDA
REQUIREMENTS = "requirements-checker.txt"
WORKFLOW = Path(".github") / "workflows" / "grade.yml"
GITIGNORE = "feedback/\n__pycache__/\n.ipynb_checkpoints/\n"

GRADE_YML = """\
# Grades the visible cases of {assignment} on every push and reports the points to GitHub
# Classroom. Hidden cases are not in this repository: the instructor grades them apart.
name: Grade
on:
  push:
  workflow_dispatch:
permissions:
  contents: read
  actions: read
jobs:
  grade:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
      - name: Check out the submission
        uses: actions/checkout@v4
        with:
          persist-credentials: false  # no token left in .git/config for student code to read
      - name: Set up Python 3.11 with a cache of pip's downloads
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
          cache: pip
          cache-dependency-path: {requirements}
      - name: Install the checker (pinned)
        run: python -m pip install -r {requirements}
      - name: Grade the visible cases (job summary, annotations, feedback, Classroom result)
        id: {runner}
        run: python -m autograder.github_action --html {html}
      - name: Upload the feedback page
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: feedback
          path: {html}
          if-no-files-found: warn
      - name: Report the points to GitHub Classroom
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          {env}: "${{{{ steps.{runner}.outputs.result }}}}"
        with:
          runners: {runner}
"""


def write_github(name: str, out: Path) -> None:
    """The template repository of assignment `name` in the folder `out` (new or empty)."""
    released = KIT_ROOT / "assignments" / name
    if not (released / find_assignment(name).module).is_file():
        raise BundleError(
            f"{released} holds no released assignment; run `optim-grader release` in the "
            "course checkout, then bundle from there"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} exists and is not an empty folder: give a new one")
    shutil.copytree(released, out, dirs_exist_ok=True)
    (out / REQUIREMENTS).write_text(requirements(), encoding="utf-8")
    (out / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    (out / WORKFLOW).parent.mkdir(parents=True)
    (out / WORKFLOW).write_text(workflow(name), encoding="utf-8")


def workflow(name: str) -> str:
    """grade.yml for assignment `name`."""
    return GRADE_YML.format(
        assignment=name, requirements=REQUIREMENTS, runner=RUNNER, html=DEFAULT_HTML,
        env=f"{RUNNER.upper()}_RESULTS",
    )  # fmt: skip


def requirements() -> str:
    """The checker's install, pinned: this kit's version of the student side, and its torch."""
    try:
        torch = next(r for r in requires("optim-grader") or [] if r.startswith("torch"))
    except (PackageNotFoundError, StopIteration):
        raise BundleError(
            "optim-grader is not installed, so the versions to pin are unknown: install it "
            "(`pip install -e .` in the checkout)"
        ) from None
    return (
        "# The student checker and its torch, pinned to the kit that wrote this template.\n"
        f"--extra-index-url {TORCH_CPU_INDEX}\n{torch}\n{CHECKER}=={kit_version()}\n"
    )
