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
        Most calls cost one lookup of their file."""
        watch, entry_files = self, _ENTRY_FILES

        def trace(frame: types.FrameType, event: str, arg: Any) -> None:
            if event != "call" or watch.called is not None:
                return
            file = frame.f_code.co_filename
            entry = entry_files.get(file)
            if entry is None:
                entry = entry_files[file] = _is_entry_file(file)
            if entry:
                watch.called = _delegated(frame)
                if watch.called is not None:
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


_ENTRY_FILES: dict[str, bool] = {}  # file name: whether its code is an entry point


def _is_entry_file(file: str) -> bool:
    """Whether code of `file` is torch.optim's or the kit's (its worker's hooks excepted)."""
    kit = file.startswith(KIT) and not file.startswith(KIT_WORKER)
    return kit or file.startswith(TORCH_OPTIM)


def _delegated(frame: types.FrameType) -> str | None:
    """The name of the entry point `frame` runs when student code called it, else None;
    `frame` runs code of an entry file."""
    caller = frame.f_back
    while caller is not None and caller.f_code.co_filename.startswith(TORCH):
        caller = caller.f_back
    if caller is None or caller.f_code.co_filename.startswith(KIT):
        return None
    return _name(frame)


def _name(frame: types.FrameType) -> str:
    module = frame.f_globals.get("__name__", "?")
    return f"{module}.{frame.f_code.co_qualname}"
