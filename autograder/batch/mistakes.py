"""What a class's gradebook teaches: which students made each known mistake, and the failures
no known bug explains, grouped so that an instructor can write the missing bug variant.

A student's mistake is counted once, at its root: the first function, in the assignment's
order, where a bug of that name ("adam/no_bias_correction" and "adamw/no_bias_correction"
share the name) was diagnosed in their submission. A later function that shows the same bug
(adamw calling the student's adam: the two share their bug variants) inherits it and is not
counted again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# "adam: after step 3, x[1] is 0.12, expected 0.1; ..." -> ("after step 3", "x")
DIVERGENCE = re.compile(r"^\w+: (?P<where>[^,;]+), (?P<quantity>[A-Za-z_.]+)")


@dataclass(frozen=True)
class Mistake:
    """A known bug of one function and the students it is rooted in."""

    function: str
    bug: str
    misconception: str
    hint: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class Unexplained:
    """Students whose function fails the same way with no known bug to explain it."""

    function: str
    failure: str  # "diverged: x after step 3", or a status such as "raised"
    students: tuple[str, ...]
    example: str  # one student's message


def rooted_mistakes(
    diagnoses: Sequence[tuple[str, str, str, str, str]], order: Sequence[str]
) -> list[Mistake]:
    """Each (function, bug) with the students whose earliest function showing `bug` it is;
    most common first."""
    position = {name: index for index, name in enumerate(order)}
    roots: dict[tuple[str, str], str] = {}
    for student, function, bug, *_ in diagnoses:
        known = roots.get((student, _variant(bug)))
        if known is None or position.get(function, 0) < position.get(known, 0):
            roots[(student, _variant(bug))] = function
    found: dict[tuple[str, str], tuple[str, str, list[str]]] = {}
    for student, function, bug, misconception, hint in diagnoses:
        if roots[(student, _variant(bug))] == function:
            found.setdefault((function, bug), (misconception, hint, []))[2].append(student)
    mistakes = [
        Mistake(function, bug, misconception, hint, tuple(sorted(students)))
        for (function, bug), (misconception, hint, students) in found.items()
    ]
    return sorted(mistakes, key=lambda m: (-len(m.students), position.get(m.function, 0), m.bug))


def _variant(bug: str) -> str:
    """The bug's name without its function: "adamw/no_bias_correction" -> "no_bias_correction"."""
    return bug.rpartition("/")[2]


def unexplained_groups(failures: Sequence[tuple[str, str, str, str]]) -> list[Unexplained]:
    """The failures grouped by function and first divergence (where and which quantity), or
    by status when nothing diverged; largest groups first."""
    groups: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for student, function, status, message in failures:
        match = DIVERGENCE.match(message) if status == "diverged" else None
        failure = f"{status}: {match['quantity']} {match['where']}" if match else status
        groups.setdefault((function, failure), (message, []))[1].append(student)
    found = [
        Unexplained(function, failure, tuple(sorted(students)), example)
        for (function, failure), (example, students) in groups.items()
    ]
    return sorted(found, key=lambda g: (-len(g.students), g.function, g.failure))
