"""IPython syntax in a notebook cell, turned into plain Python that never runs it.

A line magic (`%time f()`), a shell escape (`!pip install x`), their assignment forms
(`files = !ls`), help requests (`adam?`) and a cell magic's first line (`%%time`) become
`pass` at the same indentation, so the cell keeps its line numbers and its blocks; the body
of a cell magic whose body is not Python as IPython runs it in the kernel (`%%bash`,
`%%writefile`, `%%python`, ...) is commented out whole. A line counts as IPython syntax only
where a logical line starts, as IPython reads it: a `%` that continues an expression, or a
line inside a string, is left alone.
"""

from __future__ import annotations

import io
import re
import tokenize

__all__ = ["PYTHON_BODY_CELL_MAGICS", "plain_python"]

# Cell magics whose body IPython runs as Python in the kernel's own namespace.
PYTHON_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
NOT_RUN = "pass  # IPython syntax, not run at grading time"

_ESCAPE = re.compile(r"^\s*[%!]")
_ASSIGNED_ESCAPE = re.compile(r"^\s*[\w.]+\s*=\s*[%!]")
_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")


def plain_python(cell: str) -> str:
    """`cell` with its IPython syntax made inert; the same number of lines."""
    lines = cell.split("\n")
    first = lines[0].strip()
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in PYTHON_BODY_CELL_MAGICS:
            return "\n".join([NOT_RUN, *("# " + line for line in lines[1:])])
        lines[0] = NOT_RUN
    kept: list[str] = []
    for line in lines:
        if _is_ipython(line) and _starts_logical_line(kept):
            indent = line[: len(line) - len(line.lstrip())]
            kept.append(indent + NOT_RUN)
        else:
            kept.append(line)
    return "\n".join(kept)


def _is_ipython(line: str) -> bool:
    return bool(_ESCAPE.match(line) or _ASSIGNED_ESCAPE.match(line) or _HELP.match(line))


def _starts_logical_line(before: list[str]) -> bool:
    """Whether a line after `before` begins a logical line: no bracket, string or backslash
    continuation is open at the end of `before`."""
    text = "\n".join(before) + "\n"
    try:
        for _ in tokenize.generate_tokens(io.StringIO(text).readline):
            pass
    except tokenize.TokenError:  # EOF inside a bracket, a string or after a backslash
        return False
    except (SyntaxError, ValueError):  # not Python up to here: the parser will say so later
        return True
    return True
