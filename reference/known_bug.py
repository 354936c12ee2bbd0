"""The record of one known student bug: a wrong variant of a reference function."""

from __future__ import annotations

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
