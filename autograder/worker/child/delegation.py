"""Inside the worker: notice a graded call that hands its work to torch.optim or to the kit.

A trace function sees every Python frame that starts while a case runs. A frame of
`torch.optim` (an optimizer class, a functional optimizer, a scheduler) or of the kit is a
delegation when the first frame below it outside torch is not the kit's own: the student's
file, a helper module of theirs, or code they compiled. Files, not names, decide, so a
reloaded module, an `importlib` lookup or a helper of the student's named `adam` changes
nothing; the kit's adapter calling torch.optim is the kit's call. The verdict is the grading
process's: the reply only names what was called (docs/design.md, section 5).
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from autograder.config import PACKAGE

TORCH = str(Path(torch.__file__).parent) + "/"
TORCH_OPTIM = TORCH + "optim/"
KIT = str(PACKAGE) + "/"
KIT_WORKER = KIT + "worker/"  # the worker's own hooks (the emulated GPU) run inside any call
TAMPERED = "sys.settrace (turning off the grader's watch for delegation)"


class DelegationWatch:
    """Records the first torch.optim or kit entry point that student code calls, and whether
    its trace function was turned off while it watched (an audit hook, which nothing removes,
    hears every sys.settrace)."""

    def __init__(self) -> None:
        self.called: str | None = None
        self._watching = False
        self._ours = False  # the watch itself is calling sys.settrace
        self.tampered = False  # the trace function was turned off during the last case
        self._trace = self._trace_function()
        sys.addaudithook(self._audit_hook())

    # Both hooks are plain functions, not bound methods: Python calls them on every call of a
    # case (the trace) and on every audited event, which each traced call raises (reading a
    # frame's f_code); there a bound method costs about twice as much.

    def _audit_hook(self) -> Callable[[str, tuple[Any, ...]], None]:
        watch = self

        def audit(event: str, args: tuple[Any, ...]) -> None:
            if event == "sys.settrace" and watch._watching and not watch._ours:
                watch.tampered = True

        return audit

    def _trace_function(self) -> Callable[[types.FrameType, str, Any], None]:
        """Note the first delegation, then stop tracing: the rest of the case runs at speed.
        A call costs a lookup of its file; a call of an entry file, a lookup of its caller's
        (reading a frame's code is an audited event, which the audit hook hears: once each)."""
        watch, roles = self, _ROLES

        def trace(frame: types.FrameType, event: str, arg: Any) -> None:
            if event != "call" or watch.called is not None:
                return
            file = frame.f_code.co_filename
            if not (roles.get(file) or _role(file))[0]:
                return
            caller, role = frame.f_back, CALLS_TORCH
            while caller is not None:
                file = caller.f_code.co_filename
                role = (roles.get(file) or _role(file))[1]
                if role != CALLS_TORCH:
                    break
                caller = caller.f_back
            if caller is not None and role == CALLS_FROM_OUTSIDE:
                watch.called = _name(frame)
                watch._settrace(None)

        return trace

    def _settrace(self, function: Any) -> None:
        self._ours = True
        try:
            sys.settrace(function)
            threading.settrace(function)
        finally:
            self._ours = False

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch the calls made inside the block, in this thread and the threads it starts."""
        self.called, self.tampered = None, False
        previous = sys.gettrace()
        self._settrace(self._trace)
        self._watching = True
        try:
            yield
        finally:
            self._watching = False
            self.tampered = self.tampered or sys.gettrace() != self._trace
            self._settrace(previous)

    def verdict(self, status: str) -> str | None:
        """What the case delegated to. Python also turns off a trace function that raises (a
        recursion that reaches the limit inside it): a case that failed so is no delegation,
        but one that ran to its end after its watch was turned off cannot count."""
        if self.called is None and self.tampered and status == "ran":
            return TAMPERED
        return self.called


CALLS_FROM_KIT, CALLS_TORCH, CALLS_FROM_OUTSIDE = 0, 1, 2  # what a caller in a file is
_ROLES: dict[str, tuple[bool, int]] = {}  # file name: (an entry file?, its role as a caller)


def _role(file: str) -> tuple[bool, int]:
    """Whether code of `file` is an entry point (torch.optim's, or the kit's but its worker's
    hooks), and what its frames are as callers: the kit's, torch's (look further down), or
    another's (the student's, a library's), remembered."""
    kit = file.startswith(KIT)
    entry = (kit and not file.startswith(KIT_WORKER)) or file.startswith(TORCH_OPTIM)
    caller = (
        CALLS_FROM_KIT if kit else CALLS_TORCH if file.startswith(TORCH) else CALLS_FROM_OUTSIDE
    )
    _ROLES[file] = (entry, caller)
    return entry, caller


def _name(frame: types.FrameType) -> str:
    module = frame.f_globals.get("__name__", "?")
    return f"{module}.{frame.f_code.co_qualname}"
