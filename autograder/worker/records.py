"""What the grader asks the worker to run (a `CaseRequest`) and what it learns (a `CaseOutcome`).

Both are plain frozen records. A request travels to the worker as JSON; an outcome is built in
the grading process from a validated reply, never from an object the worker made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from torch import Tensor

from autograder.catalog import FunctionKind
from autograder.status import Status
from autograder.trajectory import Trajectory

Measure = Literal["trajectory", "device", "efficiency"]
MEASURES: tuple[Measure, ...] = get_args(Measure)
DTYPES = ("float64", "float32", "float16", "bfloat16")
DEVICES = ("cpu", "cuda")
KINDS: tuple[FunctionKind, ...] = get_args(FunctionKind)


@dataclass(frozen=True)
class CaseRequest:
    """One function run once: an optimizer on a problem, a schedule over steps, or a sampler.

    Optimizers use `problem`, `hyperparameters`, `steps` (None: the problem's), `dtype`,
    `device` and `shape` (None: the problem's own; otherwise the student sees x and grad
    reshaped to it and the result is reshaped back; state entries keep the shape the student
    gave them, and the reference runs the same way). Schedules use
    `hyperparameters` as their keyword arguments and `steps` (the values at steps
    0..steps-1). Samplers use `n`, `batch_size` and `seed`. A training loop trains a fresh
    network on `n` points of two moons, both drawn from `seed`, with the kit's optimizer
    `optimizer` (autograder/training.py) built with `optimizer_options` (lr included);
    `hyperparameters` are its keyword arguments, a schedule given by its kit name. `seed` also
    seeds the generator it is given. `require_finite` flags a NaN or inf result computed from
    finite inputs; turn it off for cases that diverge on purpose.

    `check` says what an optimizer case looks at: "trajectory" (record the run on `device`,
    "cpu" or "cuda", for comparison), "device" (run the problem on a GPU emulated on the CPU,
    which every machine has: a host round trip or state left on the default device shows
    there without a GPU; `device` stays "cpu") or "efficiency" (time steps on `size`
    coordinates of the problem, whose gradient must be elementwise, against a vectorised
    baseline step on `device`).
    """

    function: str
    kind: FunctionKind
    problem: str | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict, hash=False)
    steps: int | None = None
    dtype: str = "float64"
    device: str = "cpu"
    shape: tuple[int, ...] | None = None
    n: int = 0
    batch_size: int = 1
    seed: int = 0
    require_finite: bool = True
    optimizer: str | None = None
    optimizer_options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    measure: Measure = "trajectory"
    size: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown function kind {self.kind!r}; known kinds: {KINDS}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unsupported dtype {self.dtype!r}; supported: {DTYPES}")
        self._validate_check()
        if self.kind == "optimizer" and self.problem is None:
            raise ValueError(f"the optimizer case of {self.function} names no problem")
        if self.kind == "schedule" and self.steps is None:
            raise ValueError(f"the schedule case of {self.function} gives no number of steps")
        if self.kind == "training" and self.optimizer is None:
            raise ValueError(f"the training case of {self.function} names no optimizer")
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        try:
            json.dumps([dict(self.hyperparameters), dict(self.optimizer_options)])
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"the hyperparameters of {self.function} are not JSON values: {error}"
            ) from None

    def _validate_check(self) -> None:
        """A ValueError for a device or a check that the kind or the other fields rule out."""
        if self.device not in DEVICES:
            raise ValueError(f"unsupported device {self.device!r}; supported: {DEVICES}")
        if self.measure not in MEASURES:
            raise ValueError(f"unknown measure {self.measure!r}; known: {MEASURES}")
        if self.measure != "trajectory" and self.kind != "optimizer":
            raise ValueError(f"the {self.measure} check of {self.function} needs an optimizer")
        if self.measure == "device" and self.device != "cpu":
            raise ValueError(
                f"the device check of {self.function} runs on a GPU emulated on the CPU: leave "
                '`device` "cpu" (a trajectory case on "cuda" is the check on a real GPU)'
            )
        if (self.measure == "efficiency") != (self.size > 0):
            raise ValueError(f"the {self.function} case: `size` goes with the efficiency check")

    @property
    def needs_cuda(self) -> bool:
        return self.device == "cuda"

    def to_json(self) -> dict[str, Any]:
        """A JSON object with every field (tuples become lists); the optimizer fields only for
        a training case and the check fields only for a check other than the trajectory, so
        that the other cases' JSON does not change."""
        data: dict[str, Any] = {
            "function": self.function,
            "kind": self.kind,
            "problem": self.problem,
            "hyperparameters": dict(self.hyperparameters),
            "steps": self.steps,
            "dtype": self.dtype,
            "device": self.device,
            "shape": None if self.shape is None else list(self.shape),
            "n": self.n,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "require_finite": self.require_finite,
        }
        if self.kind == "training":
            data["optimizer"] = self.optimizer
            data["optimizer_options"] = dict(self.optimizer_options)
        if self.measure != "trajectory":
            data["measure"] = self.measure
            data["size"] = self.size
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseRequest:
        """The request `to_json` wrote; lists among the hyperparameters become tuples again."""
        fields = dict(data)
        for mapping in ("hyperparameters", "optimizer_options"):
            if mapping in fields:
                fields[mapping] = {
                    name: as_tuples(value) for name, value in dict(fields[mapping]).items()
                }
        if fields.get("shape") is not None:
            fields["shape"] = tuple(fields["shape"])
        return cls(**fields)


def as_tuples(value: Any) -> Any:
    """JSON lists back to tuples, recursively (torch's betas, etas and step_sizes are tuples)."""
    if isinstance(value, list):
        return tuple(as_tuples(item) for item in value)
    return value


@dataclass(frozen=True)
class FinalSample:
    """Coordinates of an efficiency run's last x (`values` at `indices`, both 1-D), drawn by
    the grading process and never sent: the worker cannot know which ones count."""

    indices: Tensor
    values: Tensor


@dataclass(frozen=True)
class CaseOutcome:
    """What running one request gave: a status, where it stopped, and what was recorded.

    `step` is the optimizer step (1 = the first call) or the schedule's step argument at which
    the run stopped, None when it did not stop early or the status concerns no step. For
    "raised", `error_type`, `error_message` and `line` (in the student's file, None when no
    frame of it was on the stack) describe the exception. `trajectory` (optimizers), `lrs`
    (schedules) and `batches` (samplers) hold what was recorded before the stop; `losses` (the
    loss of every minibatch) and `parameters` (the network's final parameters, flattened in
    the order of `model.parameters()`) what a training loop returned and left. `modified`
    is the message naming the first call that changed x or grad in place, None if none did: it
    costs the purity check alone, since the run goes on with what the function returned.
    `delegated` names the torch.optim or kit entry point the student's code called, if any.
    An efficiency check's `final` holds coordinates of its last x, sampled by the grading
    process; `elapsed` is the case's round trip in seconds, timed by the grading process;
    `tampered` names what of the device check the worker found changed after a device case.
    """

    request: CaseRequest
    status: Status
    message: str
    step: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    line: int | None = None
    trajectory: Trajectory | None = None
    lrs: tuple[float, ...] | None = None
    batches: tuple[Tensor, ...] | None = None
    losses: tuple[float, ...] | None = None
    parameters: Tensor | None = None
    modified: str | None = None
    delegated: str | None = None
    final: FinalSample | None = None
    elapsed: float | None = None
    tampered: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ran"
