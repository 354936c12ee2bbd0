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

from pathlib import Path

from autograder.bundles.student import write_student
from autograder.distribution import TORCH_CPU_INDEX, student
from autograder.errors import BundleError
from autograder.github_action import DEFAULT_HTML, RUNNER

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
    """The template repository of assignment `name` in the folder `out` (new or empty): the
    student bundle (the checker's wheel included) and the workflow that grades each push."""
    write_student(name, out)
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
    """The checker's install, pinned: torch's CPU build and the checker's wheel beside it."""
    try:
        checker = student()
    except LookupError as error:
        raise BundleError(str(error)) from None
    return (
        "# The student checker and its torch, pinned to the kit that wrote this template.\n"
        f"--extra-index-url {TORCH_CPU_INDEX}\n{checker.torch}\n./{checker.wheel_name}\n"
    )
