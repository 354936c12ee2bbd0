"""Inside the worker: notice a graded call that hands its work to torch.optim or to the kit.

A trace function sees every Python frame that starts while a case runs, and looks at the
first frame below it that is not torch's, the standard library's or one of the worker's hooks
(the emulated GPU, the import guard, which run inside any call):

- the kit's code is a delegation when that frame is another's: the student's file, a helper
  module of theirs, code they compiled, or `invoke` itself (`graded_call.invoke`, the kit's
  one call of a student's function, which counts the calls under way), so that a graded
  function that is the kit's code counts too; so is code the kit runs of the student's
  outside a graded call (a module `__getattr__`, a state entry's methods) that calls it. The
  worker's own code counts only inside a graded call: a student's module that swaps a
  runner of the worker for one that calls the real runner hands no step's work over (the
  grading process judges what such a runner reports);
- torch.optim's code is one unless that frame is the kit's code that drives torch.optim on
  purpose (the training adapter, its optimizers and schedules), which is one itself when a
  frame of another's is anywhere below it in the case: no route through the kit, nor a
  callback of the student's that the kit happens to run, reaches torch.optim unseen (but for
  code placed in torch's or the standard library's modules, looked through: see
  docs/threat-model.md);
- code of the student's that no trace function sees: a thread still running after a case, the
  trace function turned off, a profile function, an audit hook, a collector's callback, a
  signal handler or a torch mode left set (`UNWATCHED`).

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
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from autograder.worker.child import graded_call

KIT = "autograder"
WORKER = "autograder.worker."
HOOKS = ("autograder.worker.child.emulated_gpu", "autograder.worker.child.forbidden_imports")
DRIVERS = ("autograder.training", "autograder.torch_optim", "autograder.experiments")
TORCH_OPTIM = str(Path(torch.__file__).parent / "optim") + "/"
TAMPERED = "sys.settrace (turning off the grader's watch for delegation)"
# code of the student's that runs where no trace function sees it, at any time after import
UNWATCHED = {
    "sys.setprofile": "sys.setprofile (a profile function runs unseen by the grader's watch)",
    "sys.addaudithook": "sys.addaudithook (an audit hook runs unseen by the grader's watch)",
    "gc": "gc (a collection may run code unseen by the grader's watch)",
    "signal": "signal (a signal handler may run code unseen by the grader's watch)",
    "mode": "a torch mode left on after its call (its handler runs inside the grader's own calls)",
}
THREADS = (
    "a thread that is still running after its call (the grader's watch cannot follow other "
    "threads: keep each step in the thread that calls it)"
)

# What a frame's code is as a callee: an entry point or not, and which rule decides it (the
# worker's own code counts only inside a graded call).
NOT_AN_ENTRY, KIT_ENTRY, WORKER_ENTRY, DRIVER_ENTRY, OPTIM_ENTRY = range(5)
# And as a caller: looked through (torch, the standard library, the hooks), the kit's, the
# kit's that drives torch.optim, or another's (the student's, a library's, `invoke`).
THROUGH, KIT_CALLER, DRIVER, OUTSIDE = range(4)
# A module's role: (as a callee, as a caller, the kit's own code in it by first line or None,
# the module's own globals or None); code that runs in other globals under a module's name,
# or under a kit module's that is not the kit's own, is another's.
ModuleRole = tuple[int, int, "dict[int, Any] | None", "dict[str, Any] | None"]
ANOTHERS: ModuleRole = (NOT_AN_ENTRY, OUTSIDE, None, None)


class DelegationWatch:
    """Records the first torch.optim or kit entry point that student code calls, and whether
    student code ran where the trace function does not see it: the trace function turned off
    (the watch's audit hook, which nothing removes, hears it), or one of `UNWATCHED`."""

    def __init__(self) -> None:
        self.called: str | None = None
        self.tampered = False  # the trace function was turned off during the last case
        self._unwatched: dict[str, None] = {}  # UNWATCHED's, once heard: for the worker's life
        self._kit_state: tuple[tuple[Any, ...], ...] = ((), (), ())  # `_hooks_state`, learnt
        self._bottom: types.FrameType | None = None  # the frame that watches the case
        self._modules: dict[str | None, ModuleRole] = {}  # by module name
        # The audit hook is a C method, cheaper than a Python one on every audited event; it
        # keeps the first record of each event, so it holds no frame of the student's long.
        self._events: dict[str, object] = {}
        sys.addaudithook(self._events.setdefault)
        self._trace = self._trace_function()

    def learn_the_kit(self) -> None:
        """Know the kit's code by identity, and how the kit leaves the collector and the
        signals: once the worker has imported all it runs, before any student code runs (a
        warm parent learns the code for the workers it forks; each learns the rest)."""
        self._kit_state = _hooks_state()
        if self._modules:
            return
        for module, code in _kit_code():
            lines = (self._modules.get(module) or self._role(module))[2]
            if lines is not None:  # the hooks are looked through, whoever's code runs there
                lines.setdefault(code.co_firstlineno, []).append(code)

    def _role(self, module: str) -> ModuleRole:
        """The role of code that runs in `module`'s globals, remembered with those globals: a
        kit module's (with the table of its own code, to which only its code belongs), torch.
        optim's (an entry point); torch's, the standard library's (the kit's context managers,
        importlib) and the worker's hooks' (looked through); or another's."""
        top = module.partition(".")[0]
        kit = top == KIT or module == "__main__"  # a worker started cold runs its main so
        scope = getattr(sys.modules.get(module), "__dict__", None)
        role: ModuleRole = (
            (NOT_AN_ENTRY, THROUGH, None, scope)
            if module in HOOKS
            else (DRIVER_ENTRY, DRIVER, {}, scope)
            if module in DRIVERS
            else (WORKER_ENTRY, OUTSIDE, {}, scope)
            if module == graded_call.__name__
            else (WORKER_ENTRY if module.startswith(WORKER) else KIT_ENTRY, KIT_CALLER, {}, scope)
            if kit
            else (OPTIM_ENTRY, THROUGH, None, scope)
            if module == "torch.optim" or module.startswith("torch.optim.")
            else (NOT_AN_ENTRY, THROUGH, None, scope)
            if top == "torch" or top in sys.stdlib_module_names
            else ANOTHERS
        )
        self._modules[module] = role
        return role

    def _module_role(self, frame: types.FrameType) -> tuple[ModuleRole, bool]:
        """The role of `frame`'s module and whether it runs in that module's own globals.
        The name is read with dict.get and used only if it is a str: a student's globals or
        name could otherwise run code inside the trace function, where nothing is traced."""
        scope = frame.f_globals
        name = dict.get(scope, "__name__")
        role = (self._modules.get(name) or self._role(name)) if type(name) is str else ANOTHERS
        return role, scope is role[3]

    def _as_caller(self, frame: types.FrameType) -> int:
        """What `frame` is as a caller: its module's role; another's if it runs under a
        module's name in other globals, or is not the kit's own code in a kit module."""
        role, own_scope = self._module_role(frame)
        if role[3] is None or (own_scope and (role[2] is None or _owns(role[2], frame.f_code))):
            return role[1]
        return OUTSIDE

    def _trace_function(self) -> Callable[[types.FrameType, str, Any], None]:
        """Note the first delegation; after it, every call returns at once. A call of torch,
        the library or a hook in its own globals, or of the kit's own code that the kit calls
        outside a graded call, costs a lookup of its module (and its caller's); any other
        reads its code (an audited event), and an entry point where it counts looks at its
        callers down to the first that is not looked through (and, rarely, down the case).
        torch.optim's code is known by its file too, whatever globals it runs in."""
        watch, calls, module_role, collecting = self, graded_call, self._module_role, gc.isenabled

        def trace(frame: types.FrameType, event: str, arg: Any) -> None:
            if collecting():  # first, before anything here allocates: see `watching`
                gc.disable()
                watch._unwatched[UNWATCHED["gc"]] = None
            if event != "call" or watch.called is not None:
                return
            role, own_scope = module_role(frame)
            entry, lines = role[0], role[2]
            if own_scope and (
                entry == NOT_AN_ENTRY or (entry == WORKER_ENTRY and not calls.under_way)
            ):
                return  # torch's, the library's, a hook, or the worker outside a graded call
            if own_scope and entry == KIT_ENTRY and not calls.under_way and frame.f_back:
                caller, caller_in_own_scope = module_role(frame.f_back)
                if caller_in_own_scope and caller[1] in (KIT_CALLER, DRIVER):
                    return  # the kit calling itself outside a graded call: its modules' globals
            code = frame.f_code
            if role[3] is not None and not (own_scope and (lines is None or _owns(lines, code))):
                entry = NOT_AN_ENTRY  # another's code under a module's name
            # str's own startswith: the file name may be a subclass of the student's
            if str.startswith(code.co_filename, TORCH_OPTIM):
                entry = OPTIM_ENTRY
            if entry != NOT_AN_ENTRY:
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
        self._unwatched.update((UNWATCHED[e], None) for e in UNWATCHED if e in self._events)
        self._events.clear()  # the watch's own call heard, and no frame held

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch the calls made inside the block, in this thread and the threads it starts.
        The collector is off meanwhile: a collection that started inside the trace function
        (which allocates) would run finalizers and callbacks there, unseen; a case leaves no
        garbage worth collecting before its end."""
        self.called, self.tampered, graded_call.under_way = None, False, 0
        self._bottom = sys._getframe(2)  # below this generator and the context manager's entry
        collecting = gc.isenabled()
        gc.disable()
        previous = sys.gettrace()
        self._settrace(self._trace)
        try:
            yield
        finally:
            self.tampered = "sys.settrace" in self._events or sys.gettrace() is not self._trace
            self._settrace(previous)
            self._bottom = None
            self._look_for_unwatched_code()
            if collecting:
                gc.enable()
            if self.called is None and _thread._count():
                self.called = THREADS

    def _look_for_unwatched_code(self) -> None:
        """After a case: note a profile function, a collector's callback or changed
        thresholds, a signal handler or timer, or a torch mode that the student's code left
        behind; each can run code where no trace function sees it."""
        if sys.getprofile() is not None:
            self._unwatched[UNWATCHED["sys.setprofile"]] = None
        for kind, now, learnt in zip(_HOOKS_KINDS, _hooks_state(), self._kit_state, strict=True):
            if not _same(now, learnt):
                self._unwatched[UNWATCHED[kind]] = None
        if graded_call.left_a_mode:
            self._unwatched[UNWATCHED["mode"]] = None

    def verdict(self, status: str) -> str | None:
        """What the case delegated to. Python also turns off a trace function that raises (a
        recursion that reaches the limit inside it): a case that failed so is no delegation,
        but one that ran to its end after its watch was turned off, or in a worker where code
        of the student's ran unseen, cannot count."""
        if self.called is None and status == "ran":
            if self.tampered:
                return TAMPERED
            if self._unwatched:
                return next(iter(self._unwatched))
        return self.called


def _hooks_state() -> tuple[tuple[Any, ...], ...]:
    """The collector's callbacks and thresholds; the interval timers and their signals'
    handlers (only a timer interrupts the trace function: a signal the student's code sends
    itself runs its handler in the student's own frame); the torch modes on: what the
    student's code could set to run code where no trace function sees it, or inside the kit's
    own calls (in the order of `_HOOKS_KINDS`)."""
    collector = (*gc.callbacks, *gc.get_threshold())
    handlers = tuple(signal.getsignal(number) for number in _SIGNALS)
    timers = tuple(value for timer in _TIMERS for value in signal.getitimer(timer))
    modes = (torch._C._len_torch_function_stack(), torch._C._len_torch_dispatch_stack())
    return collector, handlers + timers, modes


_HOOKS_KINDS = ("gc", "signal", "mode")


def _same(now: tuple[Any, ...], learnt: tuple[Any, ...]) -> bool:
    """Item by item, by identity or as plain numbers: a student's handler object could
    answer == with code of its own."""
    return len(now) == len(learnt) and all(
        a is b or (type(a) in (int, float) and type(b) in (int, float) and a == b)
        for a, b in zip(now, learnt, strict=True)
    )


_SIGNALS = (signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF)
_TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)


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
    """`module.qualified_name`, with str's own methods: either may be a str subclass."""
    module = dict.get(frame.f_globals, "__name__")
    return f"{str.__str__(module) if isinstance(module, str) else '?'}." + str.__str__(
        frame.f_code.co_qualname
    )
