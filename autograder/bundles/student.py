"""`bundle student NAME -o DIR`: what a student downloads, and a checker without the answer key.

DIR gets the assignment's released files (the stub module, README.md, the notebook and the
public expected values in expected/, made from solutions/ as `release` makes them) and the
wheel of the kit's student side, optim_grader_student-*.whl: the engine `check` runs, the
problem suite and the notebooks' helpers; no `reference/`, no rubric (so no hidden case), no
known-bug code. The README opens with the command that installs it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import autograder
from autograder.bundles.wheel import package_files, write_wheel
from autograder.catalog import assignment as find_assignment
from autograder.course import course_root
from autograder.distribution import student
from autograder.errors import BundleError
from autograder.release import build_assignment, read_source

# The entries of the autograder package that `check` and the notebooks import: the grading
# engine and its worker, the problems, the public expected values, the plots. Not shipped:
# rubrics/ (hidden cases), release/, bundles/, batch/, reports/, the demo.
STUDENT_SIDE = frozenset(
    {
        "__init__.py", "__main__.py", "catalog.py", "check_text.py", "cli.py", "commands.py",
        "compare.py", "config.py", "contract.py", "diagnosis.py", "errors.py",
        "expectations.py", "experiments.py", "feedback.py", "github_action.py", "grading.py",
        "measured_checks.py", "notebook_magics.py", "notebook_messages.py", "notebook_module.py",
        "outcome_reduction.py", "plot_geometry.py", "plotting.py", "problems",
        "public_expected.py", "pytest_plugin.py", "reports", "results.py", "rubric.py",
        "rubric_schema.py", "safe_text.py", "scratch_copy.py", "spreadsheet.py", "status.py",
        "submission.py", "torch_optim.py", "training.py",
        "trajectory.py", "worker",
    }
)  # fmt: skip


def _student_side(relative: PurePosixPath) -> bool:
    return relative.parts[0] in STUDENT_SIDE and relative.suffix == ".py"


def write_student_wheel(folder: Path) -> Path:
    """optim_grader_student-VERSION-py3-none-any.whl in `folder`: the kit's student side."""
    try:
        dist = student()
    except LookupError as error:
        raise BundleError(str(error)) from None
    files = package_files(Path(autograder.__file__).resolve().parent, _student_side)
    summary = "The student side of optim-grader: `optim-grader check`, without the answer key"
    return write_wheel(dist, summary, files, folder)


def write_student(name: str, out: Path) -> None:
    """The student bundle of assignment `name` in the folder `out` (new or empty)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} exists and is not an empty folder: give a new one")
    root = course_root(None, Path("solutions"))
    released = build_assignment(read_source(root, find_assignment(name)))
    out.mkdir(parents=True, exist_ok=True)
    for path, content in released.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    write_student_wheel(out)
