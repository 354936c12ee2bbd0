"""build_module: a notebook's cells become the module of what the graded functions need."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.notebook_magics import plain_python
from autograder.notebook_module import NotebookModule, Origin, build_module
from autograder.submission import notebook_cells
from tests.fixtures.notebooks import filled_notebook, solution_text

IMPORTS = (
    "%matplotlib inline\n"
    "import matplotlib.pyplot as plt\n"
    "import torch\n"
    "from adaptive import adam\n"
    "import adaptive, math\n"
    "from autograder.experiments import run"
)
DEFINITIONS = (
    "from __future__ import annotations\n"
    "\n"
    "EPS = 1e-8\n"
    "BETAS: tuple[float, float] = (0.9, 0.999)\n"
    "SEED = torch.manual_seed(0)\n"
    "SCALE = UNDEFINED * 2\n"
    "\n"
    "def _bias(beta, t):\n"
    "    return 1 - beta ** t\n"
    "\n"
    "@staticmethod\n"
    "def unused(x):\n"
    "    return plt.plot(x)\n"
    "\n"
    "def adam(x, grad, state, *, lr=1e-3, betas=BETAS):\n"
    "    t = state.get('step', 0) + 1\n"
    "    return x - lr * grad / _bias(betas[0], t) + EPS * math.pi * SCALE"
)
EXPERIMENTS = (
    "paths = run(adam, 'quadratic_2d')\nplt.plot(paths)\nclass Plotter:\n    size = compute()\n"
)


def build(*cells: str, needed: tuple[str, ...] = ("adam",)) -> NotebookModule:
    return build_module(enumerate(cells, start=1), "adaptive", needed)


def top_level(module: NotebookModule) -> list[str]:
    return [ast.unparse(node) for node in ast.parse(module.source).body]


def test_only_what_the_graded_functions_need_is_kept():
    module = build(IMPORTS, DEFINITIONS, EXPERIMENTS)
    assert top_level(module)[0] == "from __future__ import annotations"
    kept = {
        name
        for node in ast.parse(module.source).body
        for name in (
            [node.name]
            if isinstance(node, ast.FunctionDef)
            else [a.asname or a.name for a in getattr(node, "names", [])]
            + [t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if t]
        )
    }
    assert kept == {"annotations", "math", "EPS", "BETAS", "_bias", "adam"}


def test_the_module_runs_without_running_the_experiments():
    namespace: dict[str, object] = {}
    exec(compile(build(IMPORTS, DEFINITIONS, EXPERIMENTS).source, "adaptive.py", "exec"), namespace)
    assert callable(namespace["adam"]) and "paths" not in namespace and "SCALE" not in namespace


def test_each_line_of_the_module_comes_from_its_cell_line():
    cells = (IMPORTS, DEFINITIONS, EXPERIMENTS)
    module = build(*cells)
    lines = module.source.split("\n")
    mapped = [(line, module.origin(n)) for n, line in enumerate(lines, start=1)]
    assert all(origin is not None for line, origin in mapped if line and not line.startswith("#"))
    for line, origin in mapped:
        if origin is not None:
            source = plain_python(cells[origin.cell - 1]).split("\n")[origin.line - 1]
            words = set(source.replace(",", " ").split())
            assert line == source or set(line.replace(",", " ").split()) <= words  # cut apart
    adam_line = next(n for n, line in enumerate(lines, start=1) if line.startswith("def adam"))
    assert module.origin(adam_line) == Origin(2, 15)
    assert module.origin(0) is None and module.origin(len(lines) + 1) is None


def test_statements_sharing_a_line_are_cut_apart():
    module = build(
        "import torch; x = torch.zeros(1); LR = 0.1\n"
        "def adam(x, g, s):\n    return x - LR * torch.sign(g)"
    )
    assert top_level(module) == [
        "import torch",
        "LR = 0.1",
        "def adam(x, g, s):\n    return x - LR * torch.sign(g)",
    ]
    assert module.origin(2) == module.origin(3) == Origin(1, 1)


def test_a_cell_that_does_not_parse_costs_that_cell_only():
    module = build("def adam(x, g, s):\n    return x", "def helper(:\n    pass", "x = (")
    assert top_level(module) == ["def adam(x, g, s):\n    return x"]
    assert [(c.origin, c.reason) for c in module.unparsed] == [
        (Origin(2, 1), "invalid syntax"),
        (Origin(3, 1), "'(' was never closed"),
    ]


def test_a_later_definition_wins_as_in_the_notebook():
    module = build("def adam(x, g, s):\n    return 1", "def adam(x, g, s):\n    return 2")
    namespace: dict[str, object] = {}
    exec(compile(module.source, "adaptive.py", "exec"), namespace)
    assert namespace["adam"](None, None, None) == 2  # type: ignore[operator]


def test_without_graded_functions_every_definition_is_kept():
    module = build(
        "import math\nclass A:\n    pass\ndef f():\n    return math.pi\nprint(f())", needed=()
    )
    assert top_level(module) == [
        "import math",
        "class A:\n    pass",
        "def f():\n    return math.pi",
    ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_the_filled_released_notebook_defines_the_solutions_functions(
    assignment: Assignment, tmp_path: Path
):
    """The released notebook with the solution pasted in: every graded function as written in
    the solution, and none of the notebook's imports of the module or the kit."""
    path = filled_notebook(
        tmp_path / "filled.ipynb", assignment.name, solution_text(assignment.name)
    )
    module = build_module(
        notebook_cells(path),
        assignment.module.removesuffix(".py"),
        [f.name for f in assignment.functions],
    )
    assert module.unparsed == ()
    solution = {
        n.name: ast.dump(n)
        for n in ast.parse(solution_text(assignment.name)).body
        if isinstance(n, ast.FunctionDef)
    }
    made = {
        n.name: ast.dump(n) for n in ast.parse(module.source).body if isinstance(n, ast.FunctionDef)
    }
    assert made == solution
    assert (
        "autograder" not in module.source
        and f"from {assignment.module.removesuffix('.py')}" not in module.source
    )
