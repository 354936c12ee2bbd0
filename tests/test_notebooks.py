"""The teaching notebooks and the kit's notebook helpers (autograder/experiments.py).

Each notebook in solutions/ must run top to bottom against the solution module, and against the
students' stub must stop at its first experiment with a one-line "not implemented yet", not a
traceback through the kit.
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.experiments import NotImplementedYet, from_torch, run, schedule, student_code
from autograder.release.stub import make_stub

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
CELL_TIMEOUT = 60
IDS = [assignment.name for assignment in ASSIGNMENTS]


def notebook_path(assignment: Assignment) -> Path:
    return SOLUTIONS / f"{assignment.name}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def execute(notebook: nbformat.NotebookNode, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the notebook in place, in `folder` (so it imports the module there); a failing cell
    raises CellExecutionError and leaves the outputs so far in the notebook."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()


def outputs(cell: nbformat.NotebookNode, kind: str) -> list[nbformat.NotebookNode]:
    return [output for output in cell.get("outputs", []) if output["output_type"] == kind]


def stderr(cell: nbformat.NotebookNode) -> str:
    return "".join(o["text"] for o in outputs(cell, "stream") if o["name"] == "stderr")


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def first_experiment(notebook: nbformat.NotebookNode, assignment: Assignment) -> int:
    """Index among the code cells of the first one, after the imports, that uses a graded
    function of the assignment."""
    module = assignment.module.removesuffix(".py")
    names = [function.name for function in assignment.functions]
    pattern = re.compile(r"\b(" + "|".join(names) + r")\b")
    for index, cell in enumerate(code_cells(notebook)):
        if f"from {module} import" not in cell.source and pattern.search(cell.source):
            return index
    raise AssertionError(f"no cell of the {assignment.name} notebook uses a graded function")


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_each_assignment_has_a_clean_notebook(assignment):
    notebook = read(notebook_path(assignment))
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    cells = code_cells(notebook)
    assert all(cell.outputs == [] and cell.execution_count is None for cell in cells)
    assert "%matplotlib inline" in cells[0].source
    assert f"from {assignment.module.removesuffix('.py')} import" in cells[0].source
    assert any("?" in cell.source for cell in notebook.cells if cell.cell_type == "markdown")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_the_notebook_runs_top_to_bottom_with_the_solutions(assignment, monkeypatch):
    notebook = read(notebook_path(assignment))
    execute(notebook, SOLUTIONS, monkeypatch)
    for number, cell in enumerate(code_cells(notebook)):
        assert cell.execution_count is not None, f"code cell {number} did not run"
        assert not outputs(cell, "error"), f"code cell {number} failed"
        assert stderr(cell) == "", f"code cell {number} wrote to stderr: {stderr(cell)}"
    figures = [
        cell
        for cell in code_cells(notebook)
        if any("image/png" in output.get("data", {}) for output in cell.outputs)
    ]
    assert len(figures) >= 5, f"only {len(figures)} cells show a figure"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_against_the_stub_the_notebook_stops_at_its_first_experiment_with_one_line(
    assignment, tmp_path, monkeypatch
):
    module = SOLUTIONS / assignment.module
    graded = [function.name for function in assignment.functions]
    stub = make_stub(module.read_text(encoding="utf-8"), str(module), assignment.module, graded)
    (tmp_path / assignment.module).write_text(stub, encoding="utf-8")
    notebook = read(Path(shutil.copy(notebook_path(assignment), tmp_path)))

    with pytest.raises(CellExecutionError):
        execute(notebook, tmp_path, monkeypatch)

    cells = code_cells(notebook)
    stop = first_experiment(notebook, assignment)
    assert stop > 0
    for cell in cells[:stop]:
        assert not outputs(cell, "error") and stderr(cell) == ""
    (error,) = outputs(cells[stop], "error")
    assert error["ename"] == "NotImplementedYet"
    (line,) = error["traceback"]
    assert "not implemented yet" in line
    assert f"write its body in {assignment.module}" in line
    assert all(cell.execution_count is None for cell in cells[stop + 1 :])


# The helpers the notebooks use ---------------------------------------------------------------


def adam_stub(x, grad, state, **hyperparameters):
    raise NotImplementedError("adam is not implemented yet: write its body in adaptive.py")


def bare_stub(x, grad, state, **hyperparameters):
    raise NotImplementedError


def test_running_a_stub_stops_with_one_line_that_names_the_function():
    with pytest.raises(NotImplementedYet) as caught:
        run(adam_stub, "quadratic_2d", lr=0.1)
    (line,) = caught.value._render_traceback_()
    assert line.startswith(
        "NotImplementedYet: adam is not implemented yet: write its body in adaptive.py ("
    )
    assert caught.value.__suppress_context__, "the stub's traceback would be shown too"


def test_a_bare_not_implemented_error_still_names_the_function():
    with pytest.raises(NotImplementedYet, match=r"^bare_stub is not implemented yet \("):
        run(bare_stub, "quadratic_2d", lr=0.1)


def test_other_errors_pass_through_unchanged():
    def broken(x, grad, state, **hyperparameters):
        raise ZeroDivisionError("a student's bug")

    with pytest.raises(ZeroDivisionError, match="a student's bug"), student_code(broken):
        broken(None, None, {})


def test_schedule_evaluates_the_steps_from_zero():
    assert schedule(lambda step, *, lr: lr / (step + 1), 3, lr=1.0) == [1.0, 0.5, 1 / 3]


def test_schedule_of_a_stub_stops_cleanly():
    def step_lr(step, *, lr):
        raise NotImplementedError("step_lr is not implemented yet: write its body in schedules.py")

    with pytest.raises(NotImplementedYet, match="step_lr is not implemented yet"):
        schedule(step_lr, 5, lr=0.1)


def test_from_torch_takes_torchs_steps_in_the_contract_shape():
    # SGD, momentum 0.9, lr 0.1 on x1² + 2 x2² from (-5, -2): g1 = (-10, -8) gives (-4, -1.2);
    # g2 = (-8, -4.8), buffer 0.9 g1 + g2 = (-17, -12.0) gives (-2.3, 0).
    sgd = from_torch(torch.optim.SGD)
    path = run(sgd, "quadratic_2d", lr=0.1, momentum=0.9, steps=2)
    expected = torch.tensor([[-5.0, -2.0], [-4.0, -1.2], [-2.3, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(torch.stack(path.points), expected)
    assert sgd.__name__ == "SGD"


def test_from_torch_follows_a_learning_rate_changed_between_steps():
    sgd, state = from_torch(torch.optim.SGD), {}
    x = torch.tensor([1.0], dtype=torch.float64)
    x = sgd(x, torch.ones(1, dtype=torch.float64), state, lr=0.5)
    x = sgd(x, torch.ones(1, dtype=torch.float64), state, lr=0.25)
    assert x.tolist() == [0.25]
