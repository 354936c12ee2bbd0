"""Solution regions: the lines between nbgrader's markers, found, checked and replaced.

A region runs from a `### BEGIN SOLUTION` line to the next `### END SOLUTION` line, each marker
alone on its line. Release replaces a region with one line at the BEGIN marker's indentation;
Python's own parser (not a guess from indentation) decides which function a region lies in.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from autograder.errors import ReleaseError


@dataclass(frozen=True)
class Markers:
    """A pair of region markers, e.g. nbgrader's solution or hidden-test markers."""

    begin: str
    end: str

    def keywords(self) -> tuple[str, str]:
        """The marker words without the comment sign: a line holding one must be a marker."""
        return self.begin.lstrip("# "), self.end.lstrip("# ")


SOLUTION = Markers("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_TESTS = Markers("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


@dataclass(frozen=True)
class Region:
    """Lines `begin` to `end` (1-based, the markers included) of a text."""

    begin: int
    end: int
    indent: str
    newline: str

    def __contains__(self, line_number: object) -> bool:
        return isinstance(line_number, int) and self.begin <= line_number <= self.end


# A replacement gets the region's index and the region, and gives the lines that take its place
# ('\n'-separated, indented relative to the BEGIN marker), or None to drop the region.
Replacement = Callable[[int, Region], str | None]


def split_lines(text: str) -> list[str]:
    """The lines of `text` with their endings kept, so joining them gives `text` back."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    return [*lines, pieces[-1]] if pieces[-1] else lines


def _line_ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def find_regions(lines: Sequence[str], where: str, markers: Markers = SOLUTION) -> list[Region]:
    """The regions of `lines` in order; a ReleaseError for an unpaired, nested or garbled marker."""
    regions: list[Region] = []
    opened: tuple[int, str] | None = None
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text == markers.begin:
            if opened is not None:
                raise ReleaseError(
                    f"{where}:{number}: {markers.begin!r} inside the region opened at line "
                    f"{opened[0]}; regions cannot nest: close that one with {markers.end!r} first"
                )
            opened = (number, line[: len(line) - len(line.lstrip())])
        elif text == markers.end:
            if opened is None:
                raise ReleaseError(
                    f"{where}:{number}: {markers.end!r} without a {markers.begin!r} before it"
                )
            regions.append(Region(opened[0], number, opened[1], _line_ending(line)))
            opened = None
        elif any(keyword in line for keyword in markers.keywords()):
            raise ReleaseError(
                f"{where}:{number}: a marker must stand alone on its line, exactly "
                f"{markers.begin!r} or {markers.end!r}; found {text!r}"
            )
    if opened is not None:
        raise ReleaseError(
            f"{where}:{opened[0]}: {markers.begin!r} is never closed by {markers.end!r}"
        )
    return regions


def replace_regions(
    lines: Sequence[str], regions: Sequence[Region], replacement: Replacement
) -> tuple[list[str], list[int]]:
    """The lines with each region replaced, and for each new line the number of its source line."""
    starts = {region.begin: (index, region) for index, region in enumerate(regions)}
    new_lines: list[str] = []
    origins: list[int] = []
    number = 1
    while number <= len(lines):
        if number not in starts:
            new_lines.append(lines[number - 1])
            origins.append(number)
            number += 1
            continue
        index, region = starts[number]
        text = replacement(index, region)
        for piece in [] if text is None else text.split("\n"):
            new_lines.append(f"{region.indent}{piece}{region.newline}")
            origins.append(region.begin)
        number = region.end + 1
    return new_lines, origins


def parse(text: str, where: str, origins: Sequence[int] | None = None) -> ast.Module:
    """`text` parsed; a ReleaseError naming the line (of the solution, via `origins`) otherwise."""
    try:
        return ast.parse(text)
    except SyntaxError as error:
        line = error.lineno or 1
        if origins:
            line = origins[min(line, len(origins)) - 1]
        raise ReleaseError(f"{where}:{line}: not valid Python ({error.msg})") from error


def _sentinel(index: int) -> str:
    return f"__optim_grader_region_{index}__"


def _sentinel_scopes(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """For each sentinel `raise`, the names of the functions around it, outermost first."""
    found: dict[str, tuple[str, ...]] = {}

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, (*scope, child.name))
                continue
            if isinstance(child, ast.ClassDef):
                visit(child, ())  # a class body is not a function body
                continue
            if (
                isinstance(child, ast.Raise)
                and isinstance(child.exc, ast.Call)
                and len(child.exc.args) == 1
                and isinstance(child.exc.args[0], ast.Constant)
                and isinstance(child.exc.args[0].value, str)
            ):
                found[child.exc.args[0].value] = scope
            visit(child, scope)

    visit(tree, ())
    return found


def enclosing_functions(
    lines: Sequence[str], regions: Sequence[Region], where: str
) -> list[tuple[str, ...]]:
    """For each region, the functions it lies in, outermost first (empty outside any function).

    Each region is replaced by a `raise` carrying a sentinel and the result is parsed, so a
    region belongs to whatever block Python itself would put that statement in.
    """
    probe, origins = replace_regions(
        lines, regions, lambda index, _: f"raise NotImplementedError({_sentinel(index)!r})"
    )
    scopes = _sentinel_scopes(parse("".join(probe), where, origins))
    functions: list[tuple[str, ...]] = []
    for index, region in enumerate(regions):
        if _sentinel(index) not in scopes:
            raise ReleaseError(
                f"{where}:{region.begin}: the region's marker is inside a string or an "
                "expression; markers go between statements of a function body"
            )
        functions.append(scopes[_sentinel(index)])
    return functions


def inside_lines(lines: Sequence[str], regions: Iterable[Region]) -> set[str]:
    """The stripped, non-blank lines strictly between each region's markers."""
    return {
        lines[number - 1].strip()
        for region in regions
        for number in range(region.begin + 1, region.end)
        if lines[number - 1].strip()
    }


def outside_lines(lines: Sequence[str], regions: Sequence[Region]) -> set[str]:
    """The stripped lines that lie in no region."""
    return {
        line.strip()
        for number, line in enumerate(lines, start=1)
        if not any(number in region for region in regions)
    }


def assert_no_leak(secret: set[str], kept: Iterable[str], where: str) -> None:
    """A ReleaseError if a line found only inside the regions is among the `kept` lines."""
    for line in kept:
        if line.strip() in secret:
            raise ReleaseError(f"{where} repeats a line of a solution region: {line.strip()!r}")


def kept_lines(
    lines: Sequence[str], origins: Sequence[int], regions: Sequence[Region]
) -> list[str]:
    """The lines that `replace_regions` carried over from the source, replacements left out."""
    replaced = {region.begin for region in regions}
    return [line for line, origin in zip(lines, origins, strict=True) if origin not in replaced]
