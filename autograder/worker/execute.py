"""Inside the worker: run one case on the student's function, checking every call it makes.

A case stops at the first problem (an exception, a wrong return), and the reply says which,
where, and carries what was recorded before it. A modified input does not stop it: the reply
names the first one and the run goes on with what the function returned.
"""

from __future__ import annotations

import inspect
import linecache
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from autograder.catalog import FunctionKind
from autograder.problems import problem as find_problem
from autograder.training import (
    NOISE,
    OPTIMIZERS,
    SCHEDULES,
    ContractOptimizer,
    make_mlp,
    minibatch_count,
    two_moons,
)
from autograder.trajectory import default_lr, snapshot
from autograder.worker import messages
from autograder.worker.case import CaseRequest, Status

MAX_STATE_KEY = 200


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


def run_case(student: Student, request: CaseRequest) -> Reply:
    """Run `request` on the student's function; a reply with status "ok" or the first problem."""
    reply = Reply()
    status: Status = "ok"
    step: int | None = None
    facts: dict[str, Any] = {}
    try:
        function = _function(student, request)
        runner = RUNNERS[request.kind]
        runner(student, function, request, reply)
    except CaseStop as stop:
        status, step, facts = stop.status, stop.step, stop.facts
    message_facts = {"file": student.file, "function": request.function, **facts}
    message_facts.setdefault("where", messages.location(step=step))
    reply.header.update(
        status=status,
        step=step,
        message="" if status == "ok" else messages.render(status, **message_facts),
        error_type=facts.get("error_type"),
        error_message=facts.get("error_message"),
        line=facts.get("line"),
    )
    reply.header.setdefault("modified", None)
    return reply


def _function(student: Student, request: CaseRequest) -> Callable[..., Any]:
    call = messages.call_shape(request.kind, request.function)
    function = getattr(student.module, request.function, None)
    if function is None:
        raise CaseStop("missing_function", None, call=call)
    if not callable(function):
        reason = f"it is {messages.describe_value(function)}, not a function"
        raise CaseStop("wrong_signature", None, call=call, reason=reason)
    return function


def _check_signature(
    function: Callable[..., Any],
    request: CaseRequest,
    args: Mapping[str, Any],
    kwargs: Mapping[str, Any],
) -> None:
    """A wrong_signature stop unless `function` accepts these positional and keyword arguments."""
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
        return function(*args, **kwargs)
    except NotImplementedError as error:
        if _innermost_in(error, student):
            raise CaseStop("not_implemented", step) from None
        stop = _raised(error, student, step)
    except SystemExit as error:
        line, code = student_frame(error, student.path)
        exit_code = "" if error.code is None else messages.one_line(repr(error.code), 40)
        where = messages.location(step=step, line=line, code=code)
        stop = CaseStop(
            "crashed", step, how=f"called sys.exit({exit_code})", where=where, line=line
        )
    except BaseException as error:  # student code may raise anything, KeyboardInterrupt included
        stop = _raised(error, student, step)
    raise stop


def _raised(error: BaseException, student: Student, step: int | None) -> CaseStop:
    line, code = student_frame(error, student.path)
    text = messages.one_line(str(error))
    name = type(error).__name__
    return CaseStop(
        "raised",
        step,
        error=f"{name}: {text}" if text else name,
        where=messages.location(step=step, line=line, code=code),
        error_type=name,
        error_message=text,
        line=line,
    )


def _bad_return(
    request: CaseRequest, step: int | None, what: str, expected: str | None = None
) -> CaseStop:
    expected = expected or messages.EXPECTED_RETURNS[request.kind]
    return CaseStop("bad_return", step, what=what, expected=expected)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _check_tensor(
    request: CaseRequest, step: int, result: object, x: Tensor, finite_inputs: bool
) -> Tensor:
    """`result` if it is a plain tensor like x (finite when the inputs were); else a stop."""
    if not isinstance(result, Tensor):
        raise _bad_return(request, step, messages.describe_value(result))
    if type(result) is not Tensor:
        what = f"{messages.describe_value(result)} (a subclass of torch.Tensor)"
        raise _bad_return(request, step, what)
    if result.shape != x.shape:
        what = f"a tensor of shape {tuple(result.shape)} for x of shape {tuple(x.shape)}"
        raise _bad_return(request, step, what)
    if result.dtype != x.dtype:
        what = f"a {_dtype_name(result.dtype)} tensor for {_dtype_name(x.dtype)} x"
        raise _bad_return(request, step, what)
    if result.device != x.device:
        raise _bad_return(request, step, f"a tensor on {result.device} for x on {x.device}")
    if finite_inputs and request.require_finite and not bool(torch.isfinite(result).all()):
        kind = "NaN" if bool(torch.isnan(result).any()) else "inf"
        what = f"a tensor holding {kind} from finite x and grad"
        raise _bad_return(request, step, what, messages.NON_FINITE_ADVICE)
    return result


def _unchanged(given: Tensor, original: Tensor) -> bool:
    """Bit for bit the same (NaN included), with the same shape and dtype."""
    if given.shape != original.shape or given.dtype != original.dtype:
        return False
    as_bytes = [t.contiguous().reshape(-1).view(torch.uint8) for t in (given, original)]
    return torch.equal(*as_bytes)


def _modification(step: int, **arguments: tuple[Tensor, Tensor]) -> dict[str, Any] | None:
    """{"argument": name, "step": step} for the first (given, original) pair that differs."""
    for name, (given, original) in arguments.items():
        if not _unchanged(given, original):
            return {"argument": name, "step": step}
    return None


def _base_lr(function: Callable[..., Any], hyperparameters: Mapping[str, Any]) -> Any:
    """The lr that `lr_scale` multiplies: the case's, else the default of the function's `lr`
    keyword, as `trajectory.run_optimizer` takes it in process; None when there is neither."""
    if "lr" in hyperparameters:
        return hyperparameters["lr"]
    try:
        return default_lr(function)
    except Exception:  # a default the student wrote may be anything: None, a string, an object
        return None


def _snapshot(state: Mapping[Any, Any], step: int) -> dict[str, Tensor]:
    try:
        copied = snapshot(state)
    except Exception as error:  # a state entry of the student's may raise anything
        what = f"a state the grader cannot copy ({messages.one_line(str(error), 80)})"
        raise CaseStop(
            "bad_return", step, what=what, expected="keep tensors, ints and floats in state"
        ) from None
    return {str(name)[:MAX_STATE_KEY]: value for name, value in copied.items()}


def run_optimizer(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Step the optimizer on the case's problem, recording points, losses, state snapshots and
    the first call that modified x or grad (the student gets clones, so the run can go on)."""
    problem = find_problem(str(request.problem))
    x = problem.start(getattr(torch, request.dtype), request.device)
    view = tuple(x.shape) if request.shape is None else request.shape
    points, losses, states = [x], [float(problem.f(x))], []
    state: dict[Any, Any] = {}
    hyperparameters = dict(request.hyperparameters)
    modified: dict[str, Any] | None = None
    try:
        arguments = {"x": x.reshape(view), "grad": x.reshape(view), "state": state}
        _check_signature(function, request, arguments, hyperparameters)
        base_lr = _base_lr(function, hyperparameters)
        for step in range(1, 1 + (problem.steps if request.steps is None else request.steps)):
            kwargs = dict(hyperparameters)
            if base_lr is not None:
                kwargs["lr"] = base_lr * problem.lr_scale(step - 1)
            grad = problem.grad(x, step - 1)
            x_view, grad_view = x.reshape(view), grad.reshape(view)
            x_in, grad_in = x_view.clone(), grad_view.clone()
            result = call_student(student, function, step, x_in, grad_in, state, **kwargs)
            modified = modified or _modification(step, x=(x_in, x_view), grad=(grad_in, grad_view))
            finite = bool(torch.isfinite(x).all()) and bool(torch.isfinite(grad).all())
            checked = _check_tensor(request, step, result, x_view, finite)
            x = checked.detach().reshape(x.shape).clone()
            states.append(_snapshot(state, step))
            points.append(x)
            losses.append(float(problem.f(x)))
    finally:
        reply.header["modified"] = modified
        reply.header["points"] = reply.add(torch.stack(points))
        reply.header["losses"] = reply.add(torch.tensor(losses, dtype=torch.float64))
        reply.header["states"] = [
            {name: reply.add(value) for name, value in entry.items()} for entry in states
        ]


def run_schedule(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Evaluate the schedule at steps 0..steps-1; each value must be a Python number."""
    lrs: list[float] = []
    kwargs = dict(request.hyperparameters)
    try:
        _check_signature(function, request, {"step": 0}, kwargs)
        for step in range(request.steps or 0):
            value = call_student(student, function, step, step, **kwargs)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _bad_return(request, step, messages.describe_value(value))
            try:
                number = float(value)
            except OverflowError:  # an int beyond the range of floats
                number = math.copysign(math.inf, value)
            if request.require_finite and not math.isfinite(number):
                raise _bad_return(request, step, str(number), messages.NON_FINITE_ADVICE)
            lrs.append(number)
    finally:
        reply.header["lrs"] = reply.add(torch.tensor(lrs, dtype=torch.float64))


INDEX_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def run_sampler(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Draw one epoch of index batches with a generator seeded by the case."""
    generator = torch.Generator().manual_seed(request.seed)
    arguments = {"n": request.n, "batch_size": request.batch_size}
    _check_signature(function, request, arguments, {"generator": generator})
    batches = call_student(student, function, None, *arguments.values(), generator=generator)
    if not isinstance(batches, list | tuple):
        raise _bad_return(request, None, messages.describe_value(batches))
    for number, batch in enumerate(batches):
        if type(batch) is not Tensor or batch.ndim != 1 or batch.dtype not in INDEX_DTYPES:
            what = f"a list whose batch {number} is {_describe_batch(batch)}"
            raise _bad_return(request, None, what)
    indices = [batch.to("cpu", torch.int64) for batch in batches]
    everything = torch.cat(indices) if indices else torch.zeros(0, dtype=torch.int64)
    reply.header["indices"] = reply.add(everything)
    lengths = torch.tensor([len(batch) for batch in indices], dtype=torch.int64)
    reply.header["lengths"] = reply.add(lengths)


def _describe_batch(batch: object) -> str:
    if type(batch) is not Tensor:
        return messages.describe_value(batch)
    return f"a {batch.ndim}-D {_dtype_name(batch.dtype)} tensor"


GLOBAL_SEED_OFFSET = 1  # the global generator's seed is the case's plus this: never the same


def run_training(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Train a fresh network on two moons with the kit's optimizer and schedule, all seeded by
    the case, and record the returned minibatch losses and the final parameters.

    The global generator is seeded too (inside `fork_rng`, so the caller's state survives):
    a loop that draws its permutations from it instead of `generator` is then reproducible.
    """
    model = make_mlp(request.seed)
    parameters = list(model.parameters())
    data = two_moons(request.n, noise=NOISE, seed=request.seed)
    optimizer = ContractOptimizer(
        parameters, OPTIMIZERS[str(request.optimizer)], **request.optimizer_options
    )
    kwargs = dict(request.hyperparameters)
    if kwargs.get("schedule") is not None:
        kwargs["schedule"] = SCHEDULES[kwargs["schedule"]]
        kwargs["schedule_kwargs"] = dict(kwargs.get("schedule_kwargs") or {})
    kwargs["generator"] = torch.Generator().manual_seed(request.seed)
    arguments = {"model": model, "data": data, "optimizer": optimizer}
    _check_signature(function, request, arguments, kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(request.seed + GLOBAL_SEED_OFFSET)
        losses = call_student(student, function, None, *arguments.values(), **kwargs)
    count = minibatch_count(request.n, kwargs["batch_size"], kwargs["epochs"])
    reply.header["minibatch_losses"] = reply.add(_checked_losses(request, losses, count))
    final = [p.detach().reshape(-1).to("cpu", torch.float64) for p in parameters]
    reply.header["parameters"] = reply.add(torch.cat(final))


def _checked_losses(request: CaseRequest, losses: object, count: int) -> Tensor:
    """The losses as a float64 tensor if they are `count` Python numbers (finite unless the
    case allows otherwise); else a bad_return stop."""
    if not isinstance(losses, list | tuple):
        raise _bad_return(request, None, messages.describe_value(losses))
    for number, loss in enumerate(losses):
        if isinstance(loss, bool) or not isinstance(loss, int | float):
            what = f"a list whose item {number} is {messages.describe_value(loss)}"
            raise _bad_return(request, None, what)
    if len(losses) != count:
        what = f"{len(losses)} losses for the {count} minibatches of the run"
        raise _bad_return(request, None, what)
    try:
        values = torch.tensor([float(loss) for loss in losses], dtype=torch.float64)
    except OverflowError:  # an int beyond the range of floats
        raise _bad_return(request, None, "a loss too large for a float") from None
    if request.require_finite and not bool(torch.isfinite(values).all()):
        step = int(torch.nonzero(~torch.isfinite(values))[0, 0])
        what = f"a list whose item {step} is {values[step].item()}"
        raise _bad_return(request, None, what, messages.NON_FINITE_ADVICE)
    return values


Runner = Callable[[Student, Callable[..., Any], CaseRequest, Reply], None]
RUNNERS: dict[FunctionKind, Runner] = {
    "optimizer": run_optimizer,
    "schedule": run_schedule,
    "sampler": run_sampler,
    "training": run_training,
}
