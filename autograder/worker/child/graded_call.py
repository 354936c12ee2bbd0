"""Inside the worker: the kit's one call of a student's graded function, in a module of its own
so that the watch for delegation (delegation.py) knows its frames by their module: whatever
they call is the student's, so a graded function that is the kit's or torch's code counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def invoke(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)`: a graded call."""
    return function(*args, **kwargs)
