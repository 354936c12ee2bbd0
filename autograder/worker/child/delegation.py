"""Inside the worker: notice a graded call that hands its work to torch.optim or to the kit.

A trace function sees every Python frame that starts while a case runs, and looks at the
first frame below it that is not torch's, the standard library's or one of the worker's hooks
(the emulated GPU, the import guard, which run inside any call):

- inside a graded call (`graded_call.invoke`, the kit's one call of a student's function, which
  counts the calls under way), the kit's code is a delegation when that frame is another's: the
  student's file, a helper module of theirs, code they compiled, or `invoke` itself, so that a
  graded function that is the kit's code counts too. Outside one, the kit runs its own code: a
  student's module that swaps a runner of the worker for one that calls the real runner hands
  no step's work over (the grading process judges what such a runner reports);
- torch.optim's code is one unless that frame is the kit's code that drives torch.optim on
  purpose (the training adapter, its optimizers and schedules), which is one itself when a
  frame of another's is anywhere below it in the case: no route through the kit, nor a
  callback of the student's that the kit happens to run, reaches torch.optim unseen.

A frame's module (the `__name__` of its globals) says whose it is, and the kit's code is
known by identity besides, learnt before the student's module loads: code that runs in a kit
module's globals without being the kit's own is the student's. So a reloaded module, an
`importlib` lookup, a helper named `adam` or code compiled under a kit file's name changes
nothing. The verdict is the grading process's: the reply only names what was called
(docs/design.md, section 5).
"""

from __future__ import annotations

import _thread
import gc
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autograder.worker.child import graded_call

KIT = "autograder"
HOOKS = ("autograder.worker.child.emulated_gpu", "autograder.worker.child.forbidden_imports")
DRIVERS = ("autograder.training", "autograder.torch_optim", "autograder.experiments")
TAMPERED = "sys.settrace (turning off the grader's watch for delegation)"
THREADS = "a thread still running after its call (where the grader's watch cannot follow)"

# What a frame's code is as a callee: an entry point or not, and which rule decides it.
NOT_AN_ENTRY, KIT_ENTRY, DRIVER_ENTRY, OPTIM_ENTRY = range(4)
# And as a caller: looked through (torch, the standard library, the hooks), the kit's, the
# kit's that drives torch.optim, or another's (the student's, a library's, `invoke`).
THROUGH, KIT_CALLER, DRIVER, OUTSIDE = range(4)
# A module's role: (as a callee, as a caller, the kit's own code in it by first line or None)
ModuleRole = tuple[int, int, "dict[int, Any] | None"]
ANOTHERS: ModuleRole = (NOT_AN_ENTRY, OUTSIDE, None)


class DelegationWatch:
    """Records the first torch.optim or kit entry point that student code calls, and whether
    the trace function was turned off while it watched (sys.settrace raises an audit event,
    which the watch's audit hook records, and which nothing removes)."""

    def __init__(self) -> None:
        self.called: str | None = None
        self.tampered = False  # the trace function was turned off during the last case
        self._bottom: types.FrameType | None = None  # the frame that watches the case
        self._modules: dict[str | None, ModuleRole] = {}  # by module name
        # The audit hook is a C method, cheaper than a Python one on every audited event; it
        # keeps the first record of each event, so it holds no frame of the student's long.
        self._events: dict[str, object] = {}
        sys.addaudithook(self._events.setdefault)
        self._trace = self._trace_function()

    def learn_the_kit(self) -> None:
        """Know the kit's code by identity: once the worker has imported all it runs, before
        any student code runs (a warm parent does it for the workers it forks)."""
        if self._modules:
            return
        for module, code in _kit_code():
            lines = (self._modules.get(module) or self._role(module))[2]
            if lines is not None:  # the hooks are looked through, whoever's code runs there
                lines.setdefault(code.co_firstlineno, []).append(code)

    def _role(self, module: str | None) -> ModuleRole:
        """The role of code that runs in `module`'s globals, remembered: a kit module's (with
        the table of its own code, to which only its code belongs), torch.optim's (an entry
        point); torch's, the standard library's (the kit's context managers, importlib) and
        the worker's hooks' (looked through); or another's."""
        top = (module or "").partition(".")[0]
        role: ModuleRole = (
            (NOT_AN_ENTRY, THROUGH, None)
            if module in HOOKS
            else (DRIVER_ENTRY, DRIVER, {})
            if module in DRIVERS
            else (KIT_ENTRY, OUTSIDE, {})
            if module == graded_call.__name__
            else (KIT_ENTRY, KIT_CALLER, {})
            if top == KIT or module == "__main__"  # a worker started cold runs its main so
            else (OPTIM_ENTRY, THROUGH, None)
            if module == "torch.optim" or str(module).startswith("torch.optim.")
            else (NOT_AN_ENTRY, THROUGH, None)
            if top == "torch" or top in sys.stdlib_module_names
            else ANOTHERS
        )
        self._modules[module] = role
        return role

    def _as_caller(self, frame: types.FrameType) -> int:
        """What `frame` is as a caller: its module's role, another's if it runs in a kit
        module's globals without being the kit's code."""
        name = frame.f_globals.get("__name__")
        role = self._modules.get(name) or self._role(name)
        return role[1] if role[2] is None or _owns(role[2], frame.f_code) else OUTSIDE

    def _trace_function(self) -> Callable[[types.FrameType, str, Any], None]:
        """Note the first delegation; after it, every call returns at once. A call costs a
        lookup of its module; only an entry point's, where it counts, reads its code (an
        audited event) and looks at its callers down to the first that is not looked through
        (and, rarely, down the case)."""
        watch, modules, role_of, calls = self, self._modules, self._role, graded_call

        def trace(frame: types.FrameType, event: str, arg: Any) -> None:
            if event != "call" or watch.called is not None:
                return
            name = frame.f_globals.get("__name__")
            entry, _, lines = modules.get(name) or role_of(name)
            if entry == NOT_AN_ENTRY or (entry == KIT_ENTRY and not calls.under_way):
                return
            if lines is None or _owns(lines, frame.f_code):  # else another's, in the kit's globals
                watch._check(frame, entry)

        return trace

    def _check(self, frame: types.FrameType, entry: int) -> None:
        """Note `frame`, an entry point, when its callers make it a delegation."""
        caller = frame.f_back
        while caller is not None:
            role = self._as_caller(caller)
            if role != THROUGH:
                break
            caller = caller.f_back
        else:  # nothing of the kit's below: a thread's own stack
            role = OUTSIDE
        if (
            (entry == OPTIM_ENTRY and role != DRIVER)
            or (entry != OPTIM_ENTRY and role == OUTSIDE)
            or (entry == DRIVER_ENTRY and self._another_below(caller))
        ):
            self.called = _name(frame)

    def _another_below(self, frame: types.FrameType | None) -> bool:
        """Whether a frame of this case from `frame` down is another's; a thread's stack,
        which has no case below, is."""
        while frame is not None and frame is not self._bottom:
            if self._as_caller(frame) == OUTSIDE:
                return True
            frame = frame.f_back
        return frame is None

    def _settrace(self, function: Any) -> None:
        sys.settrace(function)
        threading.settrace(function)
        self._events.clear()  # the watch's own call heard, and no frame held

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch the calls made inside the block, in this thread and the threads it starts."""
        self.called, self.tampered, graded_call.under_way = None, False, 0
        self._bottom = sys._getframe(2)  # below this generator and the context manager's entry
        previous = sys.gettrace()
        self._settrace(self._trace)
        try:
            yield
        finally:
            self.tampered = "sys.settrace" in self._events or sys.gettrace() is not self._trace
            self._settrace(previous)
            self._bottom = None
            if self.called is None and _thread._count():
                self.called = THREADS

    def verdict(self, status: str) -> str | None:
        """What the case delegated to. Python also turns off a trace function that raises (a
        recursion that reaches the limit inside it): a case that failed so is no delegation,
        but one that ran to its end after its watch was turned off cannot count."""
        if self.called is None and self.tampered and status == "ran":
            return TAMPERED
        return self.called


def _owns(lines: dict[int, Any], code: types.CodeType) -> bool:
    """Whether `code` is one of the kit's own (`lines`: its module's, by first line)."""
    return any(own is code for own in lines.get(code.co_firstlineno, ()))


def _kit_code() -> Iterator[tuple[str, types.CodeType]]:
    """Every code object of the kit's functions alive now, nested ones included, with the
    name of the module whose globals it runs in: those of the kit's files, and those that
    dataclasses wrote for the kit's classes."""
    folder = str(Path(__file__).resolve().parents[2]) + "/"
    found: dict[int, tuple[str, types.CodeType]] = {}
    for function in gc.get_objects():
        if type(function) is not types.FunctionType:
            continue
        module = str(function.__globals__.get("__name__"))
        file = function.__code__.co_filename
        if (module.partition(".")[0] == KIT or module == "__main__") and (
            file.startswith(folder) or file == "<string>"
        ):
            found.update((id(code), (module, code)) for code in _nested(function.__code__))
    return iter(found.values())


def _nested(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for constant in code.co_consts:
        if type(constant) is types.CodeType:
            yield from _nested(constant)


def _name(frame: types.FrameType) -> str:
    module = frame.f_globals.get("__name__", "?")
    return f"{module}.{frame.f_code.co_qualname}"
