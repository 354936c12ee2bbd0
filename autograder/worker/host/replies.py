"""Turn a worker's reply into a CaseOutcome, trusting nothing: every field is checked here.

The worker runs student code, so its reply may be forged or garbled. A reply that breaks the
protocol in any way becomes an "invalid_reply" outcome; no exception escapes for it.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any

import torch
from torch import Tensor

from autograder.config import MAX_STATE_KEY
from autograder.errors import ProtocolError
from autograder.status import Status
from autograder.training import minibatch_count
from autograder.trajectory import Trajectory
from autograder.worker import messages
from autograder.worker.budget import MAX_STATE_ENTRIES, array_budget, header_budget, recorded_steps
from autograder.worker.protocol import ReadExact, read_reply
from autograder.worker.records import CaseOutcome, CaseRequest, FinalSample

REPORTED: frozenset[Status] = frozenset(
    {
        "ran",
        "not_implemented",
        "missing_function",
        "wrong_signature",
        "raised",
        "bad_return",
        "crashed",
        "host_sync",
        "wrong_device",
        "slow",
        "unavailable",
    }
)
ARGUMENTS = ("x", "grad")
FLOATS = (torch.float64, torch.float32, torch.float16, torch.bfloat16)
FINAL_SAMPLE = 4096  # coordinates of an efficiency run's last x kept for the comparison
_SAMPLE_SEED = secrets.randbits(63)  # drawn when the grading process starts, never sent


@functools.cache
def sampled_coordinates(size: int) -> Tensor:
    """The coordinates of an efficiency run's last x that this grading process checks, out of
    `size`: drawn from a seed the worker never sees, the same for every submission, so that
    the reference's values there are computed once."""
    if size <= FINAL_SAMPLE:
        return torch.arange(size)
    generator = torch.Generator().manual_seed(_SAMPLE_SEED)
    return torch.randint(size, (FINAL_SAMPLE,), generator=generator)


def receive_outcome(
    request: CaseRequest,
    read_exact: ReadExact,
    *,
    case_id: int,
    file: str,
    max_payload: int | None = None,
) -> CaseOutcome:
    """Read one reply and check it; a malformed one is an "invalid_reply" outcome, and so is
    one heavier than its request can make (budget.py) or than `max_payload` bytes of arrays.

    ChannelClosed and ChannelTimeout from `read_exact` propagate: they concern the worker
    process, which the caller must replace.
    """
    payload = array_budget(request)
    try:
        header, arrays = read_reply(
            read_exact,
            max_header=header_budget(request),
            max_payload=payload if max_payload is None else min(payload, max_payload),
        )
        return outcome_from_reply(request, header, arrays, case_id=case_id, file=file)
    except ProtocolError as error:
        reason = messages.one_line(str(error), 200)
        message = messages.render(
            "invalid_reply", file=file, function=request.function, reason=reason
        )
        return CaseOutcome(request, "invalid_reply", message)


def outcome_from_reply(
    request: CaseRequest,
    header: dict[str, Any],
    arrays: list[Tensor],
    *,
    case_id: int,
    file: str = "the submission",
) -> CaseOutcome:
    """The outcome a reply describes; ProtocolError if any field is missing or wrong.

    `file` names the student's file in the message of a modified input.
    """
    if _field(header, "id", int) != case_id:
        raise ProtocolError(f"the reply is not for case {case_id}")
    status = header.get("status")
    if status not in REPORTED:
        raise ProtocolError(f"unknown status {str(status)[:40]!r}")
    line = optional(header, "line", int)
    step = optional(header, "step", int)
    if (line is not None and line < 1) or (step is not None and step < 0):
        raise ProtocolError("a negative step or line")
    data = _Data(header, arrays, recorded_steps(request))
    trajectory = data.trajectory() if request.kind == "optimizer" else None
    losses, parameters = data.training(request) if request.kind == "training" else (None, None)
    outcome = CaseOutcome(
        request,
        status,
        message=text(header, "message"),
        step=step,
        error_type=optional_text(header, "error_type"),
        error_message=optional_text(header, "error_message"),
        line=line,
        trajectory=trajectory,
        lrs=data.lrs() if request.kind == "schedule" else None,
        batches=data.batches() if request.kind == "sampler" else None,
        losses=losses,
        parameters=parameters,
        modified=_modified(header, request, trajectory, stopped=step is not None, file=file),
        delegated=optional_text(header, "delegated"),
        final=data.final(request) if request.measure == "efficiency" else None,
        tampered=optional_text(header, "tampered"),
    )
    if status == "ran" and not recorded_all(outcome):
        raise ProtocolError("the case ran, but the reply lacks what the case records")
    return outcome


def recorded_all(outcome: CaseOutcome) -> bool:
    """Whether a run that went to its end carries what its request records: a trajectory, the
    rates, the batches, or the losses and parameters (a device or efficiency check's records
    are the grading process's verdict to judge: grading.py)."""
    request = outcome.request
    if request.measure != "trajectory":
        return True
    needed = {
        "optimizer": (outcome.trajectory,),
        "schedule": (outcome.lrs,),
        "sampler": (outcome.batches,),
        "training": (outcome.losses, outcome.parameters),
    }[request.kind]
    return all(value is not None for value in needed)


def _modified(
    header: dict[str, Any],
    request: CaseRequest,
    trajectory: Trajectory | None,
    *,
    stopped: bool,
    file: str,
) -> str | None:
    """The message for header["modified"], {"argument": "x" or "grad", "step": k}, where k is a
    step the run reached: a completed one, or the one it stopped at; None when it is null."""
    modified = header.get("modified")
    if modified is None:
        return None
    if not isinstance(modified, dict) or set(modified) != {"argument", "step"}:
        raise ProtocolError("'modified' is not an object of an argument and a step")
    argument, step = modified["argument"], modified["step"]
    if not isinstance(argument, str) or argument not in ARGUMENTS:
        raise ProtocolError("'modified' names no argument of the call")
    reached = 0 if trajectory is None else len(trajectory.points) - (0 if stopped else 1)
    if not isinstance(step, int) or isinstance(step, bool) or not 1 <= step <= reached:
        raise ProtocolError("'modified' names a step outside the run")
    return messages.modified_input(
        file=file, function=request.function, argument=argument, step=step
    )


def _field(header: dict[str, Any], key: str, kind: type) -> Any:
    value = header.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"{key!r} is not a {kind.__name__}")
    return value


def optional(header: dict[str, Any], key: str, kind: type) -> Any:
    """header[key] when it has type `kind`, None when absent or null, else a ProtocolError."""
    return None if header.get(key) is None else _field(header, key, kind)


def text(header: dict[str, Any], key: str) -> str:
    """A string field, flattened to one line of bounded length."""
    return messages.one_line(_field(header, key, str), messages.MESSAGE_LIMIT)


def optional_text(header: dict[str, Any], key: str) -> str | None:
    """A string field flattened to one line, or None when absent or null."""
    return None if header.get(key) is None else text(header, key)


class _Data:
    """The arrays a reply refers to by position, each checked for dtype and rank."""

    def __init__(self, header: dict[str, Any], arrays: list[Tensor], steps: int) -> None:
        self.header, self.arrays, self.steps = header, arrays, steps
        self._stacked: dict[int, tuple[Tensor, ...]] = {}  # a state array's rows, by position

    def _array(self, ref: object, dtypes: tuple[torch.dtype, ...], rank: int | None) -> Tensor:
        if not isinstance(ref, int) or isinstance(ref, bool) or not 0 <= ref < len(self.arrays):
            raise ProtocolError(f"no array number {str(ref)[:20]}")
        array = self.arrays[ref]
        if array.dtype not in dtypes or (rank is not None and array.ndim != rank):
            raise ProtocolError(f"array {ref} is {array.dtype} of rank {array.ndim}")
        return array

    def _present(self, *keys: str) -> bool:
        return all(self.header.get(key) is not None for key in keys)

    def trajectory(self) -> Trajectory | None:
        if not self._present("points", "losses", "states"):
            return None
        points = self._array(self.header["points"], FLOATS, None)
        losses = self._array(self.header["losses"], (torch.float64,), 1)
        states = self.header["states"]
        if points.ndim < 1 or len(points) < 1 or len(losses) != len(points):
            raise ProtocolError("points and losses do not match")
        if len(points) > self.steps + 1:
            raise ProtocolError(f"{len(points)} points for {self.steps} steps")
        if not isinstance(states, list) or len(states) != len(points) - 1:
            raise ProtocolError("there is not one state per step")
        return Trajectory(
            points=points.unbind(0),  # the rows as a tuple, without iterating in Python
            losses=tuple(losses.tolist()),
            states=tuple(self._state(entry) for entry in states),
        )

    def _state(self, entry: object) -> dict[str, Tensor]:
        """A step's state from {name: [array, row]}: row `row` of a stacked array."""
        if not isinstance(entry, dict) or len(entry) > MAX_STATE_ENTRIES:
            raise ProtocolError(f"a state is not a JSON object of {MAX_STATE_ENTRIES} entries")
        state = {}
        for name, reference in entry.items():
            if len(name) > MAX_STATE_KEY:
                raise ProtocolError("a state entry's name is too long")
            if (
                type(reference) is not list
                or len(reference) != 2
                or type(reference[0]) is not int
                or type(reference[1]) is not int
            ):
                raise ProtocolError(f"state {name[:20]!r} is not a reference [array, row]")
            rows = self._stacked.get(reference[0])
            if rows is None:  # a state's array holds a row per step at most
                array = self._array(reference[0], (torch.float64,), None)
                if array.ndim < 1 or len(array) > self.steps:
                    raise ProtocolError(f"array {reference[0]} is not a state's rows")
                rows = self._stacked[reference[0]] = array.unbind(0)
            if not 0 <= reference[1] < len(rows):
                raise ProtocolError(f"state {name[:20]!r} names a row outside its array")
            state[name] = rows[reference[1]]
        return state

    def final(self, request: CaseRequest) -> FinalSample | None:
        """The sampled coordinates of an efficiency run's last x: the rest is dropped at
        once, and the worker cannot tell which coordinates are checked."""
        if not self._present("final"):
            return None
        last = self._array(self.header["final"], (getattr(torch, request.dtype),), 1)
        if len(last) != request.size:
            raise ProtocolError(f"a last x of {len(last)} coordinates for {request.size}")
        indices = sampled_coordinates(request.size)
        return FinalSample(indices, last[indices])

    def lrs(self) -> tuple[float, ...] | None:
        if not self._present("lrs"):
            return None
        return tuple(self._array(self.header["lrs"], (torch.float64,), 1).tolist())

    def training(self, request: CaseRequest) -> tuple[tuple[float, ...] | None, Tensor | None]:
        """The minibatch losses, one per minibatch of the case, and the final parameters."""
        if not self._present("minibatch_losses", "parameters"):
            return None, None
        losses = self._array(self.header["minibatch_losses"], (torch.float64,), 1)
        parameters = self._array(self.header["parameters"], (torch.float64,), 1)
        settings = request.hyperparameters
        count = minibatch_count(request.n, settings["batch_size"], settings["epochs"])
        if len(losses) != count:
            raise ProtocolError(f"{len(losses)} losses for {count} minibatches")
        return tuple(losses.tolist()), parameters

    def batches(self) -> tuple[Tensor, ...] | None:
        if not self._present("indices", "lengths"):
            return None
        indices = self._array(self.header["indices"], (torch.int64,), 1)
        lengths = self._array(self.header["lengths"], (torch.int64,), 1)
        sizes = lengths.tolist()
        if any(size < 0 for size in sizes) or sum(sizes) != len(indices):
            raise ProtocolError("the batch lengths do not add up to the indices")
        return tuple(torch.split(indices, sizes))
