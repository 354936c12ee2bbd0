"""The one-line messages of every case status: what went wrong, where, and what to do.

Every message names the student's file and function. Facts that come from student code
(exception texts, source lines) are flattened to one line and truncated.
"""

from __future__ import annotations

from autograder.catalog import FunctionKind
from autograder.safe_text import printable
from autograder.status import Status

TEXT_LIMIT = 300
MESSAGE_LIMIT = 1000

TEMPLATES: dict[Status, str] = {
    "ran": "{file}: {function} ran to the end",
    "not_implemented": "{file}: {function} is not implemented yet",
    "missing_function": "{file}: there is no function {function}; define {call} at the top "
    "level of {file}",
    "wrong_signature": "{file}: {function} cannot be called as {call} ({reason}); keep the "
    "signature of the skeleton",
    "raised": "{file}: {function} raised {error}{where}; fix the code there",
    "bad_return": "{file}: {function} returned {what}{where}; {expected}",
    "timeout": "{file}: {function} did not finish within {limit:g} s; look for an endless loop "
    "or far too much work per step",
    "crashed": "{file}: {function} {how}{where}; a graded function must return, never end the "
    "process",
    "invalid_reply": "{file}: the worker's reply for {function} was invalid ({reason}); do not "
    "write to the grader's pipe or change the grader's code",
    "load_error": "{file}: {reason}; fix it so that the module imports on its own",
    "host_sync": "{file}: {function} calls {call} (or another host sync) inside the step{where}: "
    "this synchronises with the GPU every step; keep every quantity a tensor on x's device "
    "(Python numbers come only from the hyperparameters and the step count)",
    "wrong_device": "{file}: {function}: {what} while x is {x_is}{where}; make tensors from x "
    "(torch.zeros_like(x), x.new_zeros(())) or pass device=x.device and dtype=x.dtype, so that "
    "they follow x",
    "slow": "{file}: {function} is about {ratio}x slower than a vectorised step: is there a "
    "Python loop over elements? ({time} per step on {size} coordinates, where a vectorised "
    "step takes {baseline}; the limit is {limit}); compute with whole-tensor operations",
    "unavailable": "{file}: {function} was not run on {device}: {reason}",
}

OUT_OF_TIME = (
    "{file}: {function} was not run: the submission used up its {budget:g} s of grading time "
    "(cases that time out or do far too much work per step); make the slow functions fast first"
)

MODIFIED_INPUT = (
    "{file}: {function} modified {argument} in place{where}; leave x and grad unchanged and "
    "return a new tensor"
)

CALLS: dict[FunctionKind, str] = {
    "optimizer": "{function}(x, grad, state, **hyperparameters)",
    "schedule": "{function}(step, **hyperparameters)",
    "sampler": "{function}(n, batch_size, *, generator)",
    "training": "{function}(model, data, optimizer, *, epochs, batch_size, schedule, "
    "schedule_kwargs, generator)",
}

EXPECTED_RETURNS: dict[FunctionKind, str] = {
    "optimizer": "return a new torch.Tensor of x's shape, dtype and device",
    "schedule": "return the learning rate as a Python float",
    "sampler": "return a list of 1-D integer tensors of indices",
    "training": "return a list of Python floats, the loss of each minibatch (loss.item())",
}
NON_FINITE_ADVICE = "look for a division by zero, a log or root of a negative number, or overflow"


def one_line(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` on one line, control characters escaped (safe_text.printable), cut to `limit`
    characters (a 20 MB message is cut before it is split, so it costs no more than a short
    one). Every student-controlled text goes through here before it reaches a report."""
    flat = printable(" ".join(text[: 4 * limit + 64].split()))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def render(status: Status, **facts: object) -> str:
    """The message for `status`, filled with the facts of the case."""
    return one_line(TEMPLATES[status].format(**facts), MESSAGE_LIMIT)


def out_of_time(*, file: str, function: str, budget: float) -> str:
    """The message of a case left unrun when its submission's time budget ran out."""
    return one_line(OUT_OF_TIME.format(file=file, function=function, budget=budget), MESSAGE_LIMIT)


def modified_input(*, file: str, function: str, argument: str, step: int) -> str:
    """The message for a call that changed x or grad in place: not a status, since the case
    goes on, but a fact of the outcome that the purity check reports."""
    facts = {"file": file, "function": function, "argument": argument}
    return one_line(MODIFIED_INPUT.format(**facts, where=location(step=step)), MESSAGE_LIMIT)


def call_shape(kind: FunctionKind, function: str) -> str:
    """How the grader calls a function of this kind, e.g. `adam(x, grad, state, ...)`."""
    return CALLS[kind].format(function=function)


def location(*, step: int | None = None, line: int | None = None, code: str = "") -> str:
    """' at line 12 (`m = b1 * m`) at step 3', leaving out what is unknown."""
    where = ""
    if line is not None:
        where += f" at line {line}" + (f" (`{one_line(code, 80)}`)" if code.strip() else "")
    if step is not None:
        where += f" at step {step}"
    return where


def describe_value(value: object) -> str:
    """What a returned object is, for a student: 'None', 'a list', 'a numpy.ndarray'."""
    if value is None:
        return "None"
    kind = type(value)
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    name = module + kind.__qualname__
    article = "an" if name[0].lower() in "aeiou" else "a"
    return f"{article} {name}"
