"""The record of one known student bug: a wrong variant of a reference function."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class KnownBug:
    """A misconception students really have, as a runnable variant of one graded function.

    `run` has the same signature as the correct function. `exposed_with` holds the
    hyperparameters under which the bug shows (e.g. `{"amsgrad": True}`); for schedules it is
    the complete set of keyword arguments to call the schedule with.
    """

    function: str
    name: str
    misconception: str
    hint: str
    run: Callable[..., Any]
    exposed_with: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.function}/{self.name}"


class Branches(str):
    """Several known-bug branch names taken at once, as `bug` of one algorithm: equal to each
    of its names, so every branch written `bug == name` or `bug in (...)` takes effect."""

    names: frozenset[str]

    def __new__(cls, names: tuple[str, ...]) -> Branches:
        joined = super().__new__(cls, "+".join(names))
        joined.names = frozenset(names)
        return joined

    def __eq__(self, other: object) -> bool:
        return other in self.names

    def __ne__(self, other: object) -> bool:
        return other not in self.names

    __hash__ = str.__hash__


def combined(first: KnownBug, second: KnownBug) -> KnownBug | None:
    """Both bugs at once, as one student with two mistakes writes them; None unless both are
    branches of the same algorithm with the same settings (only then can they compose)."""
    runs = (first.run, second.run)
    if not all(isinstance(run, functools.partial) for run in runs):
        return None
    a, b = (run for run in runs if isinstance(run, functools.partial))
    rest_a = {k: v for k, v in a.keywords.items() if k != "bug"}
    rest_b = {k: v for k, v in b.keywords.items() if k != "bug"}
    if (
        a.func is not b.func
        or a.args != b.args
        or rest_a != rest_b
        or first.function != second.function
    ):
        return None
    names = (first.name, second.name)
    run = functools.partial(a.func, *a.args, **rest_a, bug=Branches(names))
    then = second.misconception[:1].lower() + second.misconception[1:]
    return KnownBug(
        first.function,
        "+".join(names),
        f"{first.misconception.rstrip('.')}; and {then}",
        f"{first.hint} {second.hint}",
        run,
        {**first.exposed_with, **second.exposed_with},
    )


def branch(
    function: str,
    algorithm: Callable[..., Any],
    name: str,
    misconception: str,
    hint: str,
    **exposed_with: Any,
) -> KnownBug:
    """The known bug `name` of `function`: its reference `algorithm` run with `bug=name`, the
    branch of that one algorithm where the mistake is written."""
    run = functools.partial(algorithm, bug=name)
    return KnownBug(function, name, misconception, hint, run, exposed_with)


def schedule_branch(
    formula: Callable[..., float], name: str, misconception: str, hint: str, **exposed_with: Any
) -> KnownBug:
    """`branch` for a schedule whose private formula is named `_NAME` after its function."""
    return branch(formula.__name__[1:], formula, name, misconception, hint, **exposed_with)
