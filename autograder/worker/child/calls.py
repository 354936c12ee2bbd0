"""Inside the worker: calling student code, and what stops a case when a call goes wrong.

Every runner (execute.py, device_check.py, efficiency.py) calls the student's function through
`call_student`, or `call_on_device` for tensors off the CPU, and checks what it returned with
`checked_return`; any problem becomes a `CaseStop` with the facts of its message.
"""

from __future__ import annotations

import inspect
import linecache
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from autograder.config import dtype_name
from autograder.status import Status
from autograder.trajectory import default_lr
from autograder.worker import messages
from autograder.worker.child.emulated_gpu import HostRoundTrip, MixedDevices
from autograder.worker.child.gpu import Device, foreign_device, host_round_trip, misplaced_state
from autograder.worker.child.graded_call import invoke
from autograder.worker.records import CaseRequest


@dataclass(frozen=True)
class Student:
    """The loaded student module and how to name it in messages."""

    module: types.ModuleType
    path: Path

    @property
    def file(self) -> str:
        return self.path.name


class CaseStop(Exception):
    """Ends a case early with a status and the facts of a message."""

    def __init__(self, status: Status, step: int | None, **facts: Any) -> None:
        super().__init__(status)
        self.status, self.step, self.facts = status, step, facts


@dataclass
class Reply:
    """A reply under construction: header fields and the arrays they refer to by position."""

    header: dict[str, Any] = field(default_factory=dict)
    arrays: list[Tensor] = field(default_factory=list)

    def add(self, tensor: Tensor) -> int:
        self.arrays.append(tensor)
        return len(self.arrays) - 1


def require_device(request: CaseRequest) -> None:
    """An unavailable stop for a case on a GPU that this worker cannot see."""
    if request.device == "cuda" and not torch.cuda.is_available():
        reason = "the worker sees no CUDA device on this machine"
        raise CaseStop("unavailable", None, device=request.device, reason=reason)


def base_lr(function: Callable[..., Any], hyperparameters: Mapping[str, Any]) -> Any:
    """The lr that `lr_scale` multiplies: the case's, else the default of the function's `lr`
    keyword, as `trajectory.run_optimizer` takes it in process; None when there is neither."""
    if "lr" in hyperparameters:
        return hyperparameters["lr"]
    try:
        return default_lr(function)
    except Exception:  # a default the student wrote may be anything: None, a string, an object
        return None


def check_signature(
    function: Callable[..., Any],
    request: CaseRequest,
    args: Mapping[str, Any],
    kwargs: Mapping[str, Any],
) -> None:
    """A wrong_signature stop unless `function` accepts these positional and keyword arguments
    (binding depends on their names alone, so each accepted call shape is checked once)."""
    shape = (id(function), tuple(args), tuple(kwargs))
    if _ACCEPTED.get(shape) is function:
        return
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # a builtin or a C callable without a signature: let the call decide
    try:
        signature.bind(*args.values(), **kwargs)
    except TypeError as error:
        names = ", ".join([*args, *(f"{name}=..." for name in kwargs)])
        call = f"{request.function}({names})"
        raise CaseStop("wrong_signature", None, call=call, reason=str(error)) from None
    _ACCEPTED[shape] = function


# (function's id, positional names, keyword names): the function, which accepted such a call;
# kept, so that its id stays its own
_ACCEPTED: dict[tuple[int, tuple[str, ...], tuple[str, ...]], Callable[..., Any]] = {}


def student_frame(error: BaseException, path: Path) -> tuple[int | None, str]:
    """The line of the innermost traceback frame in the student's file `path`, and its source;
    (None, "") when no frame of that file is on the traceback."""
    line: int | None = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == str(path):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line, linecache.getline(str(path), line).strip() if line else ""


def _innermost_in(error: BaseException, student: Student) -> bool:
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and traceback.tb_frame.f_code.co_filename == str(student.path)


def call_student(
    student: Student, function: Callable[..., Any], step: int | None, *args: Any, **kwargs: Any
) -> Any:
    """Call student code; any exception (SystemExit included) becomes a CaseStop."""
    try:
        return invoke(function, *args, **kwargs)
    except BaseException as error:  # student code may raise anything, KeyboardInterrupt included
        stop = _stop_for(error, student, step)
    raise stop


def call_on_device(
    student: Student,
    function: Callable[..., Any],
    step: int,
    arguments: tuple[Tensor, Tensor, dict[Any, Any]],
    kwargs: Mapping[str, Any],
    device: Device,
) -> Any:
    """`call_student` for an optimizer step on a GPU, real or emulated, under its guard: an
    error that gives away a host round trip or a tensor on another device stops the case with
    its own status."""
    try:
        with device.guard():
            return invoke(function, *arguments, **kwargs)
    except BaseException as error:  # student code may raise anything
        x, _, state = arguments
        stop = _device_stop(error, student, step, x, state, device)
        stop = stop or _stop_for(error, student, step)
    raise stop


def _stop_for(error: BaseException, student: Student, step: int | None) -> CaseStop:
    if isinstance(error, NotImplementedError) and _innermost_in(error, student):
        return CaseStop("not_implemented", step)
    if isinstance(error, SystemExit):
        line, code = student_frame(error, student.path)
        exit_code = "" if error.code is None else messages.one_line(repr(error.code), 40)
        where = messages.location(step=step, line=line, code=code)
        return CaseStop(
            "crashed", step, how=f"called sys.exit({exit_code})", where=where, line=line
        )
    return _raised(error, student, step)


def _device_stop(
    error: BaseException,
    student: Student,
    step: int,
    x: Tensor,
    state: Mapping[Any, Any],
    device: Device,
) -> CaseStop | None:
    """A host_sync or wrong_device stop when `error` is one, else None."""
    line, code = student_frame(error, student.path)
    where = messages.location(step=step, line=line, code=code)
    if isinstance(error, HostRoundTrip):
        call: str | None = error.call
    else:
        call = host_round_trip(error, x.device, code)
    if call is not None:
        return CaseStop("host_sync", step, call=call, where=where, line=line)
    other = "cpu" if isinstance(error, MixedDevices) else foreign_device(error, x.device)
    if other is None:
        return None
    what = f"a tensor it makes is on {other}"
    x_is = f"on {device.where(x)}"
    return misplaced_stop(state, x, step, device) or CaseStop(
        "wrong_device", step, what=what, x_is=x_is, where=where, line=line
    )


def misplaced_stop(
    state: Mapping[Any, Any], x: Tensor, step: int, device: Device
) -> CaseStop | None:
    """A wrong_device stop when a state tensor did not follow x's device and dtype, else None."""
    misplaced = misplaced_state(state, x, device.where)
    if misplaced is None:
        return None
    name, what, x_is = misplaced
    where = messages.location(step=step)
    return CaseStop("wrong_device", step, what=f"state `{name}` is {what}", x_is=x_is, where=where)


def _raised(error: BaseException, student: Student, step: int | None) -> CaseStop:
    line, code = student_frame(error, student.path)
    name = type(error).__name__
    try:
        text = messages.one_line(str(error))
    except BaseException:  # a student's exception whose __str__ itself raises
        text = f"<unprintable {name}>"
    return CaseStop(
        "raised",
        step,
        error=f"{name}: {text}" if text else name,
        where=messages.location(step=step, line=line, code=code),
        error_type=name,
        error_message=text,
        line=line,
    )


def bad_return(
    request: CaseRequest, step: int | None, what: str, expected: str | None = None
) -> CaseStop:
    expected = expected or messages.EXPECTED_RETURNS[request.kind]
    return CaseStop("bad_return", step, what=what, expected=expected)


def checked_return(
    request: CaseRequest, step: int, result: object, x: Tensor, given: Sequence[Tensor] = ()
) -> Tensor:
    """`result` if it is a plain tensor like x, finite when the tensors `given` to the step
    are all finite (read only for a result that is not, so the check costs nothing on most
    steps; none given: no such check); else a stop."""
    if not isinstance(result, Tensor):
        raise bad_return(request, step, messages.describe_value(result))
    if type(result) is not Tensor:
        what = f"{messages.describe_value(result)} (a subclass of torch.Tensor)"
        raise bad_return(request, step, what)
    if result.shape != x.shape:
        what = f"a tensor of shape {tuple(result.shape)} for x of shape {tuple(x.shape)}"
        raise bad_return(request, step, what)
    if result.dtype != x.dtype:
        what = f"a {dtype_name(result.dtype)} tensor for {dtype_name(x.dtype)} x"
        raise bad_return(request, step, what)
    if result.device != x.device:
        raise bad_return(request, step, f"a tensor on {result.device} for x on {x.device}")
    if (
        given
        and request.require_finite
        and not bool(torch.isfinite(result).all())
        and all(bool(torch.isfinite(tensor).all()) for tensor in given)
    ):
        kind = "NaN" if bool(torch.isnan(result).any()) else "inf"
        what = f"a tensor holding {kind} from finite x and grad"
        raise bad_return(request, step, what, messages.NON_FINITE_ADVICE)
    return result
