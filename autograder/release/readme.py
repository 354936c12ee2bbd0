"""The students' README.md of an assignment, generated from the catalog and the docstrings.

Nothing in it is written per assignment by hand: the title comes from the catalog, the
introduction from the module docstring, and each function's summary from the first line of
its docstring, so the README cannot drift from the code it describes.
"""

from __future__ import annotations

import ast

from autograder.catalog import Assignment, FunctionKind
from autograder.distribution import TORCH_CPU_INDEX, student
from autograder.errors import ReleaseError
from autograder.release.stub import NOTE

# What a function of each kind must do, beyond its docstring (docs/design.md §2).
CONTRACTS: dict[FunctionKind, str] = {
    "optimizer": (
        "The optimizers ({names}) have the shape `name(x, grad, state, *, hyperparameters)"
        " -> Tensor`. Return a new tensor of the shape, dtype and device of `x`; never modify"
        " `x` or `grad` in place. `state` is `{{}}` before the first step: keep your running"
        " quantities in it under the names the docstring gives, since the checks compare them"
        " too. Work on whole tensors: no Python loop over elements and no `.item()`,"
        " `.numpy()` or `.cpu()`, so that your code runs on any shape, dtype and device."
    ),
    "schedule": (
        "The schedules ({names}) are pure functions of the step, `name(step, *, ...) ->"
        " float`: `step` counts from 0, and the value is the learning rate that torch's"
        " scheduler gives at that step (at step 0, the value before the first"
        " `scheduler.step()`)."
    ),
    "sampler": (
        "The samplers ({names}) return the index batches of one epoch, drawing their"
        " randomness only from the `generator` they are given, so that a seed fixes them."
    ),
    "training": (
        "The training loop ({names}) trains the network it is given with the optimizer it is"
        " given and returns the loss of every minibatch as a Python float. It draws every"
        " permutation from its `generator` alone and sets the learning rate of each step from"
        " the schedule before `optimizer.step()`; the docstring pins the order of the loop."
    ),
}


def _summaries(tree: ast.Module) -> dict[str, str]:
    """The first line of the docstring of each top-level function."""
    return {
        node.name: (ast.get_docstring(node) or "").strip().split("\n")[0]
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _introduction(tree: ast.Module) -> str:
    """The first paragraph of the module docstring, on one line ('' without a docstring)."""
    docstring = ast.get_docstring(tree) or ""
    return " ".join(docstring.strip().split("\n\n")[0].split())


def _contracts(assignment: Assignment) -> list[str]:
    paragraphs = []
    for kind, contract in CONTRACTS.items():
        names = ", ".join(f"`{f.name}`" for f in assignment.functions if f.kind == kind)
        if names:
            paragraphs.append(contract.format(names=names))
    return paragraphs


def _start_here() -> list[str]:
    """The README's opening: the two commands a student runs on a fresh laptop."""
    try:
        checker = student()
    except LookupError as error:
        raise ReleaseError(str(error)) from None
    install = (
        f"python -m pip install --extra-index-url {TORCH_CPU_INDEX} {checker.torch}"
        f" ./{checker.wheel_name}"
    )
    python = checker.requires_python.removeprefix(">=")
    return [
        "## Start here",
        f"On your computer (Python {python} or newer), in this folder: install the checker"
        " once, then check your work.",
        f"```bash\n{install}\noptim-grader check\n```",
        "The first command installs torch (its CPU build) and the checker that comes with"
        f" this folder, `{checker.wheel_name}`; run it in a virtual environment if you keep"
        " one per course. The second runs the local checks described below.",
    ]


def _pytest_section(assignment: Assignment) -> str:
    """How `pytest` and editors' test panels run the same checks (autograder/pytest_plugin.py)."""
    first = assignment.functions[0].name
    return (
        "`pytest`, run in this folder, runs the same checks through the same engine: one test"
        f" per visible case, named FUNCTION/PROBLEM/HYPERPARAMETERS (`{first}/...`) and grouped"
        " under its function, so the test panel of your editor (VS Code, PyCharm) lists them"
        " and runs them with a click. The plugin comes with the checker: there is no"
        " conftest.py to keep (install pytest with `pip install pytest` if you lack it)."
        f"\n\n```bash\npytest\npytest {assignment.module}::{first}\npytest -k {first}\n```\n\n"
        f"`pytest {assignment.module}::{first}` runs the cases of `{first}` alone; `-k NAME` runs"
        " those of every function whose name contains NAME. A failing test shows the message"
        " `optim-grader check` shows for that case. A function you have not written yet fails"
        ' with "not implemented yet" rather than being skipped: the passing tests count the'
        " cases you have done, and `pytest` passes exactly when `optim-grader check` does."
        " Your grade does not come from the number of passing tests: the grader scores the"
        " visible and hidden cases with the rubric's points."
    )


def student_readme(assignment: Assignment, solution: str, notebook: str | None) -> str:
    """README.md for `assignment`, from its solution module's text; `notebook`: its file name."""
    tree = ast.parse(solution)
    summaries = _summaries(tree)
    module = assignment.module
    first = assignment.functions[0].name
    functions = [
        f"{number}. `{graded.name}`: {summaries.get(graded.name, '')}"
        for number, graded in enumerate(assignment.functions, start=1)
    ]
    other_forms = (
        f"the notebook `{notebook}` with your functions in it"
        if notebook
        else ("a Jupyter notebook that defines your functions")
    )
    sections = [
        f"<!-- {NOTE} -->",
        f"# {assignment.title}",
        *_start_here(),
        _introduction(tree),
        f"You write the functions of `{module}`, in this folder. Each one now raises"
        " `NotImplementedError`: replace that line with your code, and keep everything else.",
        "## The functions, in the order to write them",
        "Write them in this order: it follows the lectures, each function builds on ideas of"
        " the ones before it, and the checks report them in the same order.",
        "\n".join(functions),
        "## The docstring is the specification",
        "The docstring of each function is its specification: the update rule, the"
        " hyperparameters with their defaults, and the names of the state entries. The"
        " assignment follows torch's conventions (`torch.optim`, `torch.optim.lr_scheduler`)"
        " exactly; where the lecture notes write an algorithm differently (eps inside the"
        " square root, momentum without dampening, other names), the docstring says so in"
        " one line.",
        *_contracts(assignment),
        "## Check your work",
        "In this folder, run the local checks on every function, or on one:",
        f"```bash\noptim-grader check\noptim-grader check --function {first}\n```",
        "The checks run your functions on the visible test problems and compare the results"
        " with the expected values shipped with the assignment. A function that passes says"
        " so. A function that fails shows its first divergence: the step, the quantity"
        " (the parameters or a state entry), the coordinate, the expected value and yours."
        " When the failure matches a common mistake, the check names the likely"
        " misconception and the line of the algorithm to re-read. A function you have not"
        " written yet shows as not implemented. The command exits with 0 when every check"
        " passes and 1 otherwise.",
        "Passing the local checks is a good sign, not a guarantee: grading also runs hidden"
        " cases (other problems, hyperparameters and dtypes).",
        "## The checks in pytest and your editor",
        _pytest_section(assignment),
        "## Submit",
        f"Submit `{module}`, your filled-in copy of the file in this folder. A zip of this"
        f" folder, or {other_forms}, is accepted too. Do not rename the functions, change"
        " their signatures or move them to another file: the grader calls each one by its"
        " name with the arguments its docstring gives. Helper functions of your own inside"
        f" `{module}` are fine.",
    ]
    return "\n\n".join(section for section in sections if section) + "\n"
