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
from collections.abc import Iterator
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
    """Records the first torch.optim or kit entry point that student code calls."""

    def __init__(self) -> None:
        self.called: str | None = None

    def _trace(self, frame: types.FrameType, event: str, arg: Any) -> None:
        """Note the first delegation, then stop tracing: the rest of the case runs at speed."""
        if self.called is None and event == "call":
            self.called = _delegated(frame)
            if self.called is not None:
                sys.settrace(None)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch the calls made inside the block, in this thread and the threads it starts."""
        self.called = None
        previous = sys.gettrace()
        sys.settrace(self._trace)
        threading.settrace(self._trace)
        try:
            yield
        finally:
            if sys.gettrace() != self._trace and self.called is None:
                self.called = TAMPERED
            sys.settrace(previous)
            threading.settrace(previous)


def _delegated(frame: types.FrameType) -> str | None:
    """The name of the entry point `frame` runs when student code called it, else None."""
    file = frame.f_code.co_filename
    kit = file.startswith(KIT) and not file.startswith(KIT_WORKER)
    if not (kit or file.startswith(TORCH_OPTIM)):
        return None
    caller = frame.f_back
    while caller is not None and caller.f_code.co_filename.startswith(TORCH):
        caller = caller.f_back
    if caller is None or caller.f_code.co_filename.startswith(KIT):
        return None
    return _name(frame)


def _name(frame: types.FrameType) -> str:
    module = frame.f_globals.get("__name__", "?")
    return f"{module}.{frame.f_code.co_qualname}"
