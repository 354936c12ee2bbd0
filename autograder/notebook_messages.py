"""The worker's messages about a module made from a notebook, rewritten to name the notebook.

The worker names the generated module and its lines; a student knows the notebook, its cells
and their lines. This runs in the grading process, on outcomes the worker cannot touch, with
the line map that notebook_module.py made before the worker started.
"""

from __future__ import annotations

from dataclasses import replace

from autograder.notebook_module import NotebookModule
from autograder.worker import CaseOutcome, messages

__all__ = ["relocated"]


def relocated(
    outcome: CaseOutcome, module: NotebookModule, module_file: str, notebook: str
) -> CaseOutcome:
    """`outcome` with its message naming the notebook and the cell and line of its error,
    instead of the generated module and its line."""
    message = outcome.message
    if outcome.status == "missing_function":
        message = _missing_function(outcome, module, notebook)
    elif message.startswith(f"{module_file}: "):
        message = f"{notebook}: {message[len(module_file) + 2 :]}"
    origin = module.origin(outcome.line)
    if origin is None:
        return replace(outcome, message=message)
    at = f" at line {outcome.line}"
    head, found, tail = message.rpartition(at)
    if found:
        message = f"{head} at {origin}{tail}"
    return replace(outcome, message=message, line=origin.line)


def _missing_function(outcome: CaseOutcome, module: NotebookModule, notebook: str) -> str:
    function = outcome.request.function
    call = messages.call_shape(outcome.request.kind, function)
    text = f"{notebook}: no code cell defines {function}; define {call} at the top level of a cell"
    if module.unparsed:
        broken = "; ".join(
            f"cell {c.origin.cell} has a syntax error at line {c.origin.line} ({c.reason})"
            for c in module.unparsed
        )
        text += f"; {broken}, so what it defines is missing: fix it"
    return messages.one_line(text, messages.MESSAGE_LIMIT)
