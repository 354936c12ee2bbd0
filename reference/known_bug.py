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
