"""A notebook's code cells turned into the module the grader imports, line by line traceable.

A notebook is graded as the same code in a `.py` would be, without running what a notebook
does besides defining things. Each code cell is parsed on its own (its IPython syntax made
inert first, notebook_magics.py); a cell that does not parse is left out. Of the top-level
statements, the module keeps those the graded functions need, found by following names from
the graded functions to the statements that bind them:

- function and class definitions;
- imports, except those of the assignment's own module (the released notebook imports its
  functions from it) and star imports (they name nothing); `from __future__` imports are
  always kept, at the top;
- constants: names bound to an expression without any call (`EPS = 1e-8`, `BETAS = (0.9,
  0.999)`), kept only when every name they use is bound too, so that they cannot fail.

Every other statement (experiments, plots, prints, training runs) is dropped, so it never runs
at grading time. Each line of the module remembers the cell and the line it came from, so that
messages can name them (notebook_messages.py).
"""

from __future__ import annotations

import ast
import builtins
import symtable
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from autograder.notebook_magics import plain_python

__all__ = ["NotebookModule", "Origin", "UnparsedCell", "build_module"]

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class Origin:
    """Where a line of the generated module comes from: a cell (numbered among all cells from
    1, as they appear in the notebook) and a line in it (from 1)."""

    cell: int
    line: int

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}"


@dataclass(frozen=True)
class UnparsedCell:
    """A code cell left out because it is not Python, even once its IPython syntax is inert."""

    origin: Origin
    reason: str


@dataclass(frozen=True)
class NotebookModule:
    """The module's text, the origin of each of its lines (None for the lines the kit adds),
    and the cells left out."""

    source: str
    origins: tuple[Origin | None, ...]
    unparsed: tuple[UnparsedCell, ...]

    def origin(self, line: int | None) -> Origin | None:
        if line is None or not 1 <= line <= len(self.origins):
            return None
        return self.origins[line - 1]


@dataclass(frozen=True)
class _Statement:
    """A top-level statement that may be kept: its lines, the names it binds and uses."""

    cell: int
    first_line: int
    lines: tuple[str, ...]
    binds: frozenset[str]
    uses: frozenset[str]
    constant: bool = False
    future: bool = False


def build_module(
    cells: Iterable[tuple[int, str]], own_module: str, needed: Collection[str]
) -> NotebookModule:
    """The module made of the code `cells` (cell number, source) that the functions `needed`
    use; `own_module` is the assignment's module name ("adaptive"), whose imports are dropped.
    With nothing `needed`, every function and class is kept."""
    statements: list[_Statement] = []
    unparsed: list[UnparsedCell] = []
    for number, text in cells:
        source = plain_python(text)
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            line = max(error.lineno or 1, 1)
            unparsed.append(UnparsedCell(Origin(number, line), error.msg))
            continue
        lines = source.split("\n")
        statements += [
            s for node in tree.body if (s := _statement(number, node, lines, own_module))
        ]
    kept = _needed(statements, needed)
    return _assemble(kept, tuple(unparsed))


def _statement(
    cell: int, node: ast.stmt, lines: Sequence[str], own_module: str
) -> _Statement | None:
    """The statement `node` as a candidate, or None for one that is never kept."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        text = tuple(lines[first - 1 : node.end_lineno])
        return _Statement(cell, first, text, frozenset({node.name}), _names_used(node))
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return _Statement(
            cell, node.lineno, _segment(node, lines), frozenset(), frozenset(), future=True
        )
    if isinstance(node, ast.Import | ast.ImportFrom):
        return _import(cell, node, lines, own_module)
    return _constant(cell, node, lines)


def _import(
    cell: int, node: ast.Import | ast.ImportFrom, lines: Sequence[str], own_module: str
) -> _Statement | None:
    """An import as a candidate, without the names of the assignment's own module."""
    if isinstance(node, ast.ImportFrom):
        if node.level == 0 and (node.module or "").split(".")[0] == own_module:
            return None
        text = _segment(node, lines)
        names = [alias.asname or alias.name for alias in node.names]
    else:
        aliases = [a for a in node.names if a.name.split(".")[0] != own_module]
        if not aliases:
            return None
        if len(aliases) == len(node.names):
            text = _segment(node, lines)
        else:
            text = (ast.unparse(ast.Import(names=aliases)),)
        names = [a.asname or a.name.split(".")[0] for a in aliases]
    binds = frozenset(name for name in names if name != "*")
    return _Statement(cell, node.lineno, text, binds, frozenset())


def _constant(cell: int, node: ast.stmt, lines: Sequence[str]) -> _Statement | None:
    """A name (or a tuple of names) bound to an expression that calls nothing, else None."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return None
    if not all(_only_names(t) for t in targets) or _calls(value):
        return None
    binds = frozenset(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    text = _segment(node, lines)
    return _Statement(cell, node.lineno, text, binds, _names_used(value), constant=True)


def _only_names(target: ast.expr) -> bool:
    if isinstance(target, ast.Tuple | ast.List):
        return all(_only_names(element) for element in target.elts)
    return isinstance(target, ast.Name)


_RUNS_CODE = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)


def _calls(node: ast.AST) -> bool:
    """Whether evaluating `node` calls anything; a lambda's body runs only when it is called."""
    if isinstance(node, _RUNS_CODE):
        return True
    if isinstance(node, ast.Lambda):
        return any(
            _calls(default) for default in [*node.args.defaults, *node.args.kw_defaults] if default
        )
    return any(_calls(child) for child in ast.iter_child_nodes(node))


def _names_used(node: ast.AST) -> frozenset[str]:
    """The global names `node` reads or declares, at any depth: not a function's parameters
    and locals (Python's own symbol tables say which is which)."""
    try:
        table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    except SyntaxError:  # the compiler refuses it: every name then counts, to be safe
        return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    names: set[str] = set()
    tables = [table]
    while tables:
        scope = tables.pop()
        tables += scope.get_children()
        names.update(
            symbol.get_name()
            for symbol in scope.get_symbols()
            if symbol.is_global() and (symbol.is_referenced() or symbol.is_declared_global())
        )
    return frozenset(names)


def _segment(node: ast.stmt, lines: Sequence[str]) -> tuple[str, ...]:
    """The lines of a simple statement, cut at its columns (another may share its lines)."""
    assert node.end_lineno is not None and node.end_col_offset is not None
    chosen = [line.encode() for line in lines[node.lineno - 1 : node.end_lineno]]
    chosen[-1] = chosen[-1][: node.end_col_offset]
    chosen[0] = chosen[0][node.col_offset :]
    return tuple(line.decode() for line in chosen)


def _needed(statements: Sequence[_Statement], needed: Collection[str]) -> list[_Statement]:
    """The statements that bind what `needed` uses, transitively, in notebook order; futures
    first. Constants that would use a name bound by nothing kept are left out."""
    wanted = set(needed) or {name for s in statements if not s.constant for name in s.binds}
    keep = {i for i, s in enumerate(statements) if s.future}
    grown = True
    while grown:
        grown = False
        for index, statement in enumerate(statements):
            if index not in keep and statement.binds & wanted:
                keep.add(index)
                wanted |= statement.uses
                grown = True
    kept = [s for i, s in enumerate(statements) if i in keep]
    while True:
        bound = BUILTIN_NAMES | {name for s in kept for name in s.binds}
        unsafe = [s for s in kept if s.constant and not s.uses <= bound]
        if not unsafe:
            return sorted(kept, key=lambda s: not s.future)
        kept = [s for s in kept if s not in unsafe]


def _assemble(kept: Sequence[_Statement], unparsed: tuple[UnparsedCell, ...]) -> NotebookModule:
    """The module's text with a `# cell N` line before each cell's statements."""
    lines: list[str] = []
    origins: list[Origin | None] = []
    cell = None
    for statement in kept:
        if statement.cell != cell:
            cell = statement.cell
            lines.append(f"# cell {cell}")
            origins.append(None)
        lines += statement.lines
        origins += [Origin(cell, statement.first_line + i) for i in range(len(statement.lines))]
    return NotebookModule("\n".join(lines) + "\n", tuple(origins), unparsed)
