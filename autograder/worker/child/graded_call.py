"""Inside the worker: the kit's one call of a student's graded function, in a module of its own
so that the watch for delegation (delegation.py) knows its frames by their module: whatever
they call is the student's, so a graded function that is the kit's or torch's code counts.
It also counts the graded calls under way, which the watch reads on every traced call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

under_way = 0


def invoke(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)`: a graded call."""
    global under_way
    under_way += 1
    try:
        return function(*args, **kwargs)
    finally:
        under_way -= 1
