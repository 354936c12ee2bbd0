"""`optim-grader grade` on notebooks: graded as the same code in a module is.

The released notebook filled in with the solution gives the solution module's report; a
notebook that leaves a function unwritten, breaks another and runs failing experiments scores
as the module of the same functions; magics never run; errors name the cell and the line.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from autograder.catalog import assignment
from autograder.cli import main
from autograder.rubric import load_rubric
from tests.fixtures.notebooks import filled_notebook, solution_text

GD = assignment("gradient_descent")
RUBRIC = load_rubric(GD.name)
# Cells a student adds after the solution cell (which is cell 3 of the notebook): a momentum
# that raises at its second line, an unwritten nesterov, experiments that fail, IPython
# escapes that would leave files behind, and a cell that is not Python.
BROKEN_MOMENTUM = 'def momentum(x, grad, state, **hyperparameters):\n    return state["missing"]'
UNWRITTEN_NESTEROV = (
    "def nesterov(x, grad, state, **hyperparameters):\n"
    '    raise NotImplementedError("nesterov is not implemented yet")'
)
FAILING_EXPERIMENTS = "print(1 / 0)\nrun(gd, 'quadratic_1d')\nx = undefined_name"
NOT_PYTHON = "def helper(:\n    pass"


def escapes(folder: Path) -> list[str]:
    """Cells that create a file in `folder` if anything runs them."""
    return [
        f"!touch {folder}/bang\n%system touch {folder}/system\nfiles = !touch {folder}/assigned",
        f"%%bash\ntouch {folder}/bash",
        f"%%writefile {folder}/written.py\nx = 1",
    ]


def grade_json(submission: Path) -> Any:
    """The JSON report of `optim-grader grade`, checked to agree with the exit status."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["grade", str(submission), "--assignment", GD.name, "--format", "json"])
    report = json.loads(out.getvalue())
    assert status == (2 if report["errors"] else 0)
    return report


def statuses(report: Any) -> dict[str, str]:
    return {test["name"]: test["status"] for test in report["tests"]}


def outputs(report: Any, function: str) -> list[str]:
    found = [t["output"] for t in report["tests"] if t["name"].startswith(f"{function}/")]
    assert found
    return found


def test_the_filled_released_notebook_grades_as_the_solution_module(tmp_path: Path):
    """The solution cell opens with `from __future__ import annotations`, after the cell of
    the released notebook's imports: it must still come first in the module."""
    notebook = filled_notebook(tmp_path / "gradient_descent.ipynb", GD.name, solution_text(GD.name))
    module = tmp_path / GD.module
    module.write_text(solution_text(GD.name))
    from_notebook, from_module = grade_json(notebook), grade_json(module)
    assert json.loads(json.dumps(from_module).replace(GD.module, notebook.name)) == from_notebook
    assert from_notebook["score"] == RUBRIC.max_score and from_notebook["errors"] == []


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    """A notebook with the solution, then broken and unwritten functions, failing experiments,
    IPython escapes and a cell that is not Python; and the module of the same functions."""
    folder = tmp_path_factory.mktemp("messy")
    cells = [BROKEN_MOMENTUM, UNWRITTEN_NESTEROV, FAILING_EXPERIMENTS, *escapes(folder), NOT_PYTHON]
    notebook = filled_notebook(
        folder / "student" / "gradient_descent.ipynb", GD.name, solution_text(GD.name), *cells
    )
    module = folder / "module" / GD.module
    module.parent.mkdir()
    module.write_text("\n\n".join([solution_text(GD.name), BROKEN_MOMENTUM, UNWRITTEN_NESTEROV]))
    return folder, grade_json(notebook), grade_json(module)


def test_one_unwritten_or_broken_function_costs_that_function_only(messy):
    _, notebook, module = messy
    points = RUBRIC.points
    assert notebook["score"] == module["score"] == points["gd"] + points["minibatches"]
    assert statuses(notebook) == statuses(module)
    assert all("nesterov is not implemented yet" in o for o in outputs(notebook, "nesterov"))


def test_magics_and_shell_escapes_never_run(messy):
    folder, _, _ = messy
    assert sorted(p.name for p in folder.iterdir()) == ["module", "student"]


def test_an_error_names_the_cell_and_the_line_in_it(messy):
    _, notebook, _ = messy
    cell = 4  # title, imports, the solution, then the broken momentum
    where = f'at cell {cell}, line 2 (`return state["missing"]`)'
    for output in outputs(notebook, "momentum"):
        assert "] gradient_descent.ipynb: momentum raised KeyError: 'missing'" in output
        assert where in output and not re.search(r"at line \d", output)


# (what, the cell defining gd, the line of the error in it, what the message says)
LOAD_ERRORS = [
    (
        "a class body that raises",
        "class Schedule:\n    table = {}\n    first = table['lr']\n\n"
        "def gd(x, grad, state, **hyperparameters):\n    return x - Schedule.first * grad",
        3,
        "importing it raised KeyError: 'lr' at cell 3, line 3 (`first = table['lr']`)",
    ),
    (
        "a syntax error only the compiler sees",
        "def gd(x, grad, state, **hyperparameters):\n    nonlocal y\n    return x",
        2,
        "it has a syntax error at cell 3, line 2: no binding for nonlocal 'y' found",
    ),
]


@pytest.mark.parametrize(
    ("what", "cell", "line", "says"), LOAD_ERRORS, ids=[e[0] for e in LOAD_ERRORS]
)
def test_a_module_that_does_not_load_names_the_cell_and_the_line(
    tmp_path: Path, what: str, cell: str, line: int, says: str
):
    report = grade_json(filled_notebook(tmp_path / "gradient_descent.ipynb", GD.name, cell))
    assert report["score"] == 0
    assert report["errors"] == [
        f"gradient_descent.ipynb: {says}; fix it so that the module imports on its own"
    ]


def test_a_function_whose_only_cell_does_not_parse_is_missing_and_says_why(tmp_path: Path):
    solution = solution_text(GD.name)
    without_nesterov = solution[: solution.index("def nesterov(")]
    nesterov_cell = "def nesterov(x, grad, state, **hyperparameters)\n    return x"
    notebook = filled_notebook(
        tmp_path / "gradient_descent.ipynb", GD.name, without_nesterov, nesterov_cell
    )
    report = grade_json(notebook)
    points = RUBRIC.points
    assert report["errors"] == [] and report["score"] == RUBRIC.max_score - points["nesterov"]
    for output in outputs(report, "nesterov"):
        assert output.endswith(
            "] gradient_descent.ipynb: no code cell defines nesterov; define "
            "nesterov(x, grad, state, **hyperparameters) at the top level of a cell; cell 4 has "
            "a syntax error at line 1 (expected ':'), so what it defines is missing: fix it"
        )
