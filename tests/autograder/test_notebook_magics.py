"""plain_python: IPython syntax made inert where IPython reads it, plain Python left alone."""

from __future__ import annotations

import ast

import pytest

from autograder.notebook_magics import NOT_RUN, plain_python

# (what, cell, lines of the cell that must become inert (1-based))
IPYTHON_LINES = [
    ("line magic", "%matplotlib inline\nimport torch", [1]),
    ("shell escape", "!pip install torch\nx = 1", [1]),
    ("indented magic in a block", "for _ in range(2):\n    %time pass\ny = 2", [2]),
    ("magic assigned", "files = !ls\nresult = %time f()\nz = 3", [1, 2]),
    ("help request", "adam?\n??torch.optim\nprint(1)", [1, 2]),
    ("system magic", "%system touch /tmp/x\nw = 4", [1]),
]

# (what, cell): plain Python that must come out unchanged
PLAIN_PYTHON = [
    ("modulo on a continuation line", "x = (10\n% 3)"),
    ("not-equal on a continuation line", "same = (1\n!= 2)"),
    ("a docstring line starting with %", 'def f():\n    """Scale.\n% of the step\n"""\n'),
    ("a backslash continuation", "total = 1 + \\\n    2"),
    ("a string holding a bang", "text = '!ls'"),
]


@pytest.mark.parametrize(
    ("what", "cell", "inert"), IPYTHON_LINES, ids=[c[0] for c in IPYTHON_LINES]
)
def test_ipython_lines_become_pass_and_the_cell_parses(what: str, cell: str, inert: list[int]):
    lines = plain_python(cell).split("\n")
    assert len(lines) == len(cell.split("\n"))
    for number, (before, after) in enumerate(zip(cell.split("\n"), lines, strict=True), start=1):
        if number in inert:
            assert after.strip() == NOT_RUN and after.startswith(
                before[: len(before) - len(before.lstrip())]
            )
        else:
            assert after == before
    ast.parse("\n".join(lines))


@pytest.mark.parametrize(("what", "cell"), PLAIN_PYTHON, ids=[c[0] for c in PLAIN_PYTHON])
def test_plain_python_is_left_alone(what: str, cell: str):
    ast.parse(cell)
    assert plain_python(cell) == cell


@pytest.mark.parametrize(
    "magic", ["bash", "sh", "writefile adaptive.py", "python3", "html", "unknown"]
)
def test_a_cell_magic_whose_body_is_not_kernel_python_is_commented_out(magic: str):
    cell = f"%%{magic}\ndef adam(x, grad, state):\n    return x"
    released = plain_python(cell)
    assert ast.dump(ast.parse(released)) == ast.dump(ast.parse("pass"))
    assert len(released.split("\n")) == 3


@pytest.mark.parametrize("magic", ["time", "timeit -n 1", "capture output", "prun"])
def test_a_cell_magic_whose_body_runs_in_the_kernel_keeps_its_body(magic: str):
    cell = f"%%{magic}\nSTEPS = 3\n!echo hi"
    tree = ast.parse(plain_python(cell))
    assigned = [node for node in tree.body if isinstance(node, ast.Assign)]
    assert [ast.unparse(node) for node in assigned] == ["STEPS = 3"]
    assert len(tree.body) == 3  # the magic line and the shell escape are `pass`
