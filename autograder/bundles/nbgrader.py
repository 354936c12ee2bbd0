"""`optim-grader bundle nbgrader NAME -o DIR`: an nbgrader course folder for one assignment.

    DIR/nbgrader_config.py          the course's nbgrader settings
    DIR/source/NAME/NAME.ipynb      solution cells and one grade cell per graded function
    DIR/source/NAME/NAME.py         the student stub module, the functions' specification

`nbgrader generate_assignment NAME` in DIR makes the student version; `nbgrader autograde
NAME` runs the grade cells, which call the kit installed beside nbgrader (autograder/
nbgrader_cell.py) for the hidden cases. It is built from the course repository's solutions/.
"""

from __future__ import annotations

from pathlib import Path

from autograder.bundles.nbgrader_notebook import source_notebook
from autograder.catalog import assignment as find_assignment
from autograder.errors import BundleError, ReleaseError
from autograder.release import PROJECT_ROOT, make_stub, read_source

CELL_TIME_LIMIT = 600  # seconds for one grade cell: every case of one function

CONFIG = '''"""nbgrader's settings for this course folder, written by `optim-grader bundle`."""

c = get_config()  # noqa: F821 (nbgrader defines it when it reads this file)
c.CourseDirectory.course_id = "optim-grader"
# A grade cell grades one function on all of its cases; give it time.
c.Execute.timeout = {timeout}
'''


def write_nbgrader(assignment: str, out: Path) -> None:
    """Write the course folder of `assignment` to `out`, which must be new or empty."""
    try:
        graded = find_assignment(assignment)
        source = read_source(PROJECT_ROOT, graded)
    except KeyError as error:
        raise BundleError(str(error.args[0])) from None
    except ReleaseError as error:
        raise BundleError(f"{error}; bundle from the course repository") from None
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} exists and is not an empty folder; choose a new one")
    from autograder.rubric import load_rubric

    rubric = load_rubric(assignment)
    points = {
        f.name: round(sum(c.points for c in rubric.for_function(f.name)), 6)
        for f in graded.functions
    }
    names = [f.name for f in graded.functions]
    stub = make_stub(source.solution, source.solution_path, graded.module, names)
    folder = out / "source" / assignment
    folder.mkdir(parents=True)
    (out / "nbgrader_config.py").write_text(
        CONFIG.format(timeout=CELL_TIME_LIMIT), encoding="utf-8"
    )
    notebook = source_notebook(graded, source.solution, points)
    (folder / f"{assignment}.ipynb").write_text(notebook, encoding="utf-8")
    (folder / graded.module).write_text(stub, encoding="utf-8")
