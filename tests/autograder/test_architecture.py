"""The rules between the kit's parts (docs/design.md §4): the worker's code never reaches the
answer key, and errors share one base."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import autograder
import autograder.errors
from autograder.errors import OptimGraderError

PACKAGE = Path(autograder.__file__).resolve().parent
FORBIDDEN = ("reference", "solutions")
CHILD = "autograder.worker.child.main"


def module_file(name: str) -> Path | None:
    """The source file of kit module `name`, None for a module outside the kit."""
    if name != "autograder" and not name.startswith("autograder."):
        return None
    relative = Path(*name.split(".")[1:])
    for candidate in (PACKAGE / relative / "__init__.py", (PACKAGE / relative).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def imports_of(name: str) -> set[str]:
    """Every module that module `name` imports anywhere in its body (functions included), and
    the packages above each, as Python imports them."""
    path = module_file(name)
    assert path is not None, name
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    with_parents = {".".join(n.split(".")[: i + 1]) for n in found for i in range(n.count(".") + 1)}
    return {n for n in with_parents if module_file(n) is not None or n.split(".")[0] in FORBIDDEN}


def reachable(start: str) -> set[str]:
    seen, frontier = {start}, [start]
    while frontier:
        for name in imports_of(frontier.pop()):
            if name not in seen and module_file(name) is not None:
                seen.add(name)
                frontier.append(name)
    return seen


def test_no_module_the_worker_imports_imports_the_answer_key() -> None:
    modules = reachable(CHILD)
    assert "autograder.worker.child.runners" in modules  # the walk does follow imports
    offenders = {
        module: sorted(n for n in imports_of(module) if n.split(".")[0] in FORBIDDEN)
        for module in modules
    }
    assert not {m: names for m, names in offenders.items() if names}


def test_importing_the_worker_loads_no_answer_key() -> None:
    code = (
        f"import sys, {CHILD}; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_error_of_the_kit_has_one_base_and_a_builtin_beside_it() -> None:
    errors = [
        value
        for value in vars(autograder.errors).values()
        if inspect.isclass(value) and issubclass(value, BaseException)
    ]
    assert len(errors) > 5
    for error in errors:
        assert issubclass(error, OptimGraderError), error
        if error is not OptimGraderError:
            builtins = [base for base in error.__mro__ if base.__module__ == "builtins"]
            assert builtins[0] is not Exception, f"{error.__name__}: subclass the nearest built-in"


def test_no_other_module_defines_an_error_class() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                assert path.name == "errors.py", f"{path}: {node.name} belongs in errors.py"
