"""Inside the worker: the kit's one call of a student's graded function, in a module of its own
so that the watch for delegation (delegation.py) knows its frames by their module: whatever
they call is the student's, so a graded function that is the kit's or torch's code counts.
It also counts the graded calls under way, which the watch reads on every traced call, and
notes a call that leaves a torch mode behind (a mode's handler would run inside the kit's
own calls, which the watch does not weigh)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

under_way = 0
left_a_mode = False
_FUNCTION_MODES, _DISPATCH_MODES = (
    torch._C._len_torch_function_stack,
    torch._C._len_torch_dispatch_stack,
)


def invoke(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)`: a graded call. It calls no Python function of the kit's
    but the graded one: what `invoke` calls inside a graded call is the student's."""
    global under_way, left_a_mode
    under_way += 1
    modes = _FUNCTION_MODES(), _DISPATCH_MODES()
    try:
        return function(*args, **kwargs)
    finally:
        under_way -= 1
        left_a_mode = left_a_mode or (_FUNCTION_MODES(), _DISPATCH_MODES()) != modes
