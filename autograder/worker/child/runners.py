"""Inside the worker: run one case on the student's function, checking every call it makes.

A case stops at the first problem (an exception, a wrong return), and the reply says which,
where, and carries what was recorded before it. A modified input does not stop it: the reply
names the first one and the run goes on with what the function returned. An optimizer case
runs as its check says: its trajectory here (on the CPU or a GPU), the device check in
device_check.py, the efficiency check in efficiency.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from autograder.catalog import FunctionKind
from autograder.config import MAX_STATE_KEY, dtype_name
from autograder.problems import problem as find_problem
from autograder.status import Status
from autograder.training import (
    NOISE,
    OPTIMIZERS,
    SCHEDULES,
    ContractOptimizer,
    make_mlp,
    minibatch_count,
    two_moons,
)
from autograder.trajectory import optimizer_steps, snapshot
from autograder.worker import messages
from autograder.worker.budget import MAX_STATE_ENTRIES
from autograder.worker.child import integrity
from autograder.worker.child.calls import (
    CaseStop,
    Reply,
    Student,
    bad_return,
    base_lr,
    call_on_device,
    call_student,
    check_signature,
    checked_return,
    misplaced_stop,
    require_device,
    student_frame,
)
from autograder.worker.child.device_runner import run_device_check
from autograder.worker.child.efficiency_runner import run_efficiency
from autograder.worker.child.gpu import CUDA
from autograder.worker.records import CaseRequest, Measure

__all__ = ["Reply", "Student", "run_case", "student_frame"]


def run_case(student: Student, request: CaseRequest) -> Reply:
    """Run `request` on the student's function; a reply with status "ran" or the first problem."""
    reply = Reply()
    status: Status = "ran"
    step: int | None = None
    facts: dict[str, Any] = {}
    try:
        function = _function(student, request)
        optimizer = request.kind == "optimizer"
        runner = MEASURE_RUNNERS[request.measure] if optimizer else RUNNERS[request.kind]
        runner(student, function, request, reply)
    except CaseStop as stop:
        status, step, facts = stop.status, stop.step, stop.facts
    if request.measure == "device":
        reply.header["tampered"] = integrity.changed(_INTACT, MEASURE_RUNNERS)
    message_facts = {"file": student.file, "function": request.function, **facts}
    message_facts.setdefault("where", messages.location(step=step))
    reply.header.update(
        status=status,
        step=step,
        message="" if status == "ran" else messages.render(status, **message_facts),
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


_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}  # by element size


def _first_modification(
    inputs: list[tuple[Tensor, Tensor, Tensor, Tensor]],
) -> dict[str, Any] | None:
    """{"argument": name, "step": step} for the first step whose x or grad (x first), as the
    student's call left it, differs from what it was given; `inputs` holds each step's (x
    given, x, grad given, grad). Compared once a case has ended, all its steps at once: a
    comparison at every step took 8% of a case's time."""
    found = []
    for position, name in ((0, "x"), (2, "grad")):
        given = [step[position] for step in inputs]
        originals = [step[position + 1] for step in inputs]
        first = _first_changed(given, originals)
        if first is not None:
            found.append((first, position, name))
    if not found:
        return None
    step, _, name = min(found)
    return {"argument": name, "step": step + 1}


def _first_changed(given: list[Tensor], originals: list[Tensor]) -> int | None:
    """The index of the first tensor of `given` that differs from its original: in shape,
    dtype, device or a bit of a value (NaN included), both read as integers of their
    element's size, or as bytes where no integer has that size; None when none does."""
    remade = next(
        (
            k
            for k, (a, b) in enumerate(zip(given, originals, strict=True))
            if (a.shape, a.dtype, a.device) != (b.shape, b.dtype, b.device)
        ),
        None,
    )
    count = len(given) if remade is None else remade
    if count:
        pair = [torch.stack(tensors[:count]).reshape(count, -1) for tensors in (given, originals)]
        bits = _BITS.get(pair[0].element_size())
        if bits is None:
            pair = [tensor.contiguous().view(torch.uint8) for tensor in pair]
        else:
            pair = [tensor.view(bits) for tensor in pair]
        if not torch.equal(*pair):  # rarely; equal is one operation and makes no tensor
            differs = (pair[0] != pair[1]).any(dim=1)
            return int(differs.to(torch.uint8).argmax())
    return remade


def _snapshot(state: Mapping[Any, Any], step: int) -> dict[str, Tensor]:
    """A float64 copy of the state, by name as the reply gives it; a bad_return stop for an
    entry kept as a numpy array, which the grader would otherwise see as missing."""
    for name, value in state.items():
        if type(value).__module__.partition(".")[0] == "numpy" and hasattr(value, "shape"):
            what = f"state {str(name)[:MAX_STATE_KEY]!r} as a numpy array"
            expected = "keep state entries as torch tensors made from x (torch.zeros_like(x))"
            raise CaseStop("bad_return", step, what=what, expected=expected)
    try:
        copied = snapshot(state)
    except Exception as error:  # a state entry of the student's may raise anything
        what = f"a state the grader cannot copy ({messages.one_line(str(error), 80)})"
        raise CaseStop(
            "bad_return", step, what=what, expected="keep tensors, ints and floats in state"
        ) from None
    if len(copied) > MAX_STATE_ENTRIES:
        what = f"a state of {len(copied)} numeric entries"
        expected = f"keep at most {MAX_STATE_ENTRIES} entries in state"
        raise CaseStop("bad_return", step, what=what, expected=expected)
    named = {}
    for name, value in copied.items():  # a loop: a comprehension is one more traced call
        named[str(name)[:MAX_STATE_KEY]] = value
    return named


def _add_states(reply: Reply, states: list[dict[str, Tensor]]) -> list[dict[str, list[int]]]:
    """Each step's state as {name: [array, row]}: the copies of an entry that share a shape
    go into the reply stacked, one array for them all, in the order of the steps."""
    groups: dict[tuple[str, tuple[int, ...]], tuple[int, list[Tensor]]] = {}
    first = len(reply.arrays)
    references = []
    for state in states:
        reference = {}
        for name, value in state.items():
            position, rows = groups.setdefault(
                (name, tuple(value.shape)), (first + len(groups), [])
            )
            reference[name] = [position, len(rows)]
            rows.append(value)
        references.append(reference)
    for _, rows in groups.values():  # in the order of their positions
        reply.add(torch.stack(rows))
    return references


def run_optimizer(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Step the optimizer on the case's problem, recording points, losses, state snapshots and
    the first step whose x or grad the student's code changed in place, in its call or later
    (the student gets clones, so the run goes on).

    On a GPU, the steps run with host synchronisations made errors, the state must follow x,
    and what is recorded comes back to the CPU.
    """
    require_device(request)
    problem = find_problem(str(request.problem))
    x = problem.start(getattr(torch, request.dtype), request.device)
    view = tuple(x.shape) if request.shape is None else request.shape
    reshaped = view != tuple(x.shape)  # else the student sees x and grad as they are
    gpu = None if request.device == "cpu" else CUDA
    points, losses, states = [x.to("cpu")], [float(problem.f(x))], []
    state: dict[Any, Any] = {}
    hyperparameters = dict(request.hyperparameters)
    inputs: list[tuple[Tensor, Tensor, Tensor, Tensor]] = []  # for `_first_modification`

    def call(step: int, x: Tensor, grad: Tensor, kwargs: dict[str, Any]) -> Tensor:
        x_view, grad_view = (x.reshape(view), grad.reshape(view)) if reshaped else (x, grad)
        x_in, grad_in = x_view.clone(), grad_view.clone()
        given = (x_in, grad_in, state)
        result = (
            call_student(student, function, step, *given, **kwargs)
            if gpu is None
            else call_on_device(student, function, step, given, kwargs, gpu)
        )
        inputs.append((x_in, x_view, grad_in, grad_view))
        checked = checked_return(request, step, result, x_view, (x, grad))
        misplaced = None if gpu is None else misplaced_stop(state, x_view, step, gpu)
        if misplaced is not None:
            raise misplaced
        return (checked.reshape(x.shape) if reshaped else checked).detach().clone()

    try:
        arguments = {"x": x.reshape(view), "grad": x.reshape(view), "state": state}
        check_signature(function, request, arguments, hyperparameters)
        lr = base_lr(function, hyperparameters)
        walk = optimizer_steps(problem, x, call, hyperparameters, base_lr=lr, steps=request.steps)
        for step, point in walk:
            states.append(_snapshot(state, step))
            points.append(point if gpu is None else point.to("cpu"))
            losses.append(float(problem.f(point)))
    finally:
        reply.header["modified"] = _first_modification(inputs)
        reply.header["points"] = reply.add(torch.stack(points))
        reply.header["losses"] = reply.add(torch.tensor(losses, dtype=torch.float64))
        reply.header["states"] = _add_states(reply, states)


def run_schedule(
    student: Student, function: Callable[..., Any], request: CaseRequest, reply: Reply
) -> None:
    """Evaluate the schedule at steps 0..steps-1; each value must be a Python number."""
    lrs: list[float] = []
    kwargs = dict(request.hyperparameters)
    try:
        check_signature(function, request, {"step": 0}, kwargs)
        for step in range(request.steps or 0):
            value = call_student(student, function, step, step, **kwargs)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad_return(request, step, messages.describe_value(value))
            try:
                number = float(value)
            except OverflowError:  # an int beyond the range of floats
                number = math.copysign(math.inf, value)
            if request.require_finite and not math.isfinite(number):
                raise bad_return(request, step, str(number), messages.NON_FINITE_ADVICE)
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
    check_signature(function, request, arguments, {"generator": generator})
    batches = call_student(student, function, None, *arguments.values(), generator=generator)
    if not isinstance(batches, list | tuple):
        raise bad_return(request, None, messages.describe_value(batches))
    for number, batch in enumerate(batches):
        if type(batch) is not Tensor or batch.ndim != 1 or batch.dtype not in INDEX_DTYPES:
            what = f"a list whose batch {number} is {_describe_batch(batch)}"
            raise bad_return(request, None, what)
    indices = [batch.to("cpu", torch.int64) for batch in batches]
    everything = torch.cat(indices) if indices else torch.zeros(0, dtype=torch.int64)
    reply.header["indices"] = reply.add(everything)
    lengths = torch.tensor([len(batch) for batch in indices], dtype=torch.int64)
    reply.header["lengths"] = reply.add(lengths)


def _describe_batch(batch: object) -> str:
    if type(batch) is not Tensor:
        return messages.describe_value(batch)
    return f"a {batch.ndim}-D {dtype_name(batch.dtype)} tensor"


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
    check_signature(function, request, arguments, kwargs)
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
        raise bad_return(request, None, messages.describe_value(losses))
    for number, loss in enumerate(losses):
        if isinstance(loss, bool) or not isinstance(loss, int | float):
            what = f"a list whose item {number} is {messages.describe_value(loss)}"
            raise bad_return(request, None, what)
    if len(losses) != count:
        what = f"{len(losses)} losses for the {count} minibatches of the run"
        raise bad_return(request, None, what)
    try:
        values = torch.tensor([float(loss) for loss in losses], dtype=torch.float64)
    except OverflowError:  # an int beyond the range of floats
        raise bad_return(request, None, "a loss too large for a float") from None
    if request.require_finite and not bool(torch.isfinite(values).all()):
        step = int(torch.nonzero(~torch.isfinite(values))[0, 0])
        what = f"a list whose item {step} is {values[step].item()}"
        raise bad_return(request, None, what, messages.NON_FINITE_ADVICE)
    return values


Runner = Callable[[Student, Callable[..., Any], CaseRequest, Reply], None]
RUNNERS: dict[FunctionKind, Runner] = {
    "schedule": run_schedule,
    "sampler": run_sampler,
    "training": run_training,
}
MEASURE_RUNNERS: dict[Measure, Runner] = {
    "trajectory": run_optimizer,
    "device": run_device_check,
    "efficiency": run_efficiency,
}
_INTACT = integrity.fingerprint(MEASURE_RUNNERS)  # before any student module is imported
