"""Every hint the kit can give quotes the docstring the student holds: each `quoted` piece of a
known bug's hint is a piece of one line of the released stub, in the function's own docstring,
the docstring of a function it defers to (`adam` for adamw), or the module's prologue."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from autograder.catalog import ASSIGNMENTS
from reference.bugs import KNOWN_BUGS
from reference.known_bug import KnownBug

ROOT = Path(__file__).resolve().parents[2]
QUOTED = re.compile(r"`([^`]+)`")
MODULE_OF = {f.name: a for a in ASSIGNMENTS for f in a.functions}


@cache
def stub_docstrings(assignment: str, module: str) -> dict[str, str]:
    """The docstrings of the released stub, by function name ("" for the module's)."""
    tree = ast.parse((ROOT / "assignments" / assignment / module).read_text(encoding="utf-8"))
    found = {"": ast.get_docstring(tree, clean=True) or ""}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = ast.get_docstring(node, clean=True) or ""
    return found


def student_lines(function: str) -> list[str]:
    """The lines a hint of `function` may quote: its docstring's, those of the functions it
    names in backticks, and the module docstring's."""
    graded = MODULE_OF[function]
    docstrings = stub_docstrings(graded.name, graded.module)
    own = docstrings[function]
    deferred = [docstrings[name] for name in QUOTED.findall(own) if name in docstrings]
    return [line.strip() for text in (own, *deferred, docstrings[""]) for line in text.split("\n")]


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=lambda bug: bug.id)
def test_hint_quotes_lines_of_the_released_stub(bug: KnownBug) -> None:
    quotes = QUOTED.findall(bug.hint)
    assert quotes, f"{bug.id}: the hint quotes no line of the docstring: {bug.hint}"
    lines = student_lines(bug.function)
    for quote in quotes:
        assert any(quote in line for line in lines), (
            f"{bug.id}: {quote!r} is not in the docstring of {bug.function} the student holds"
        )


def test_a_quote_that_is_not_in_the_stub_is_caught() -> None:
    assert not any("θ_t ← θ_{t−1} − γ g_t" in line for line in student_lines("gd"))
