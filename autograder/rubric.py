"""Cases and points of an assignment, read from its instructor-editable TOML rubric.

A rubric gives each function its points and a list of case blocks; a block expands to one
case per problem and option set. Each function's points split across the categories its cases
use, in proportion to the rubric's weights, then equally among the cases of a category.

A case this machine cannot run (one on "cuda" where there is no CUDA) is left out of that
split when its block says `when_unavailable = "skip"` (the default): it is reported as
skipped and worth nothing, and the other cases of its category share its points (the
function's other categories, when none of them can run). With "fail" it keeps its points and
scores zero.
"""

from __future__ import annotations

import itertools
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from autograder.catalog import Assignment, GradedFunction
from autograder.catalog import assignment as find_assignment
from autograder.errors import RubricError
from autograder.problems import CATEGORIES as PROBLEM_CATEGORIES
from autograder.problems import problem as find_problem
from autograder.rubric_schema import WhenUnavailable, validate
from autograder.training import OPTIMIZERS, SCHEDULES
from autograder.worker import CaseRequest

RUBRICS = Path(__file__).parent / "rubrics"
CATEGORIES = (
    *PROBLEM_CATEGORIES, "state", "purity", "dtype/shape", "values", "batches", "training",
    "device", "efficiency", "errors",
)  # fmt: skip
CHECKS = ("state", "purity", "device", "efficiency", "errors")  # named in a case's name
_BLOCK_KEYS = {
    "problems", "options", "visible", "category", "dtype", "shape", "steps", "seeds",
    "measure", "device", "size", "when_unavailable", "raises",
}  # fmt: skip
EFFICIENCY_PROBLEM = "quadratic_1d"  # f = x², coordinate by coordinate on any number of them
ELEMENTWISE_PROBES = (7, 11)  # sizes no problem of the suite fixes


@dataclass(frozen=True)
class Case:
    """One graded run: what the reference runs, what the student's function runs, the rubric
    category it counts for, and its points.

    `reference_request` is always a run of the reference on the CPU, whose values the case
    compares with; `student_request` is the same request, or a device or efficiency check, or
    the same steps on a GPU, compared by value with the reference's. `unavailable` says what
    this machine lacks to run it (None: nothing); such a case is skipped or failed as
    `when_unavailable` says. `raises` names the exception the function must raise on this
    run's hyperparameters (an error case; None: it must run). `allow_delegation` (the
    function's `allow_delegation = true`) lets the function call torch.optim or the kit, as
    `train` drives the kit's adapter.
    """

    reference_request: CaseRequest
    student_request: CaseRequest
    category: str
    visible: bool
    points: float
    unavailable: str | None = None
    when_unavailable: WhenUnavailable = "skip"
    allow_delegation: bool = False
    raises: str | None = None

    @property
    def function(self) -> str:
        return self.reference_request.function

    @property
    def name(self) -> str:
        """FUNCTION/PROBLEM/options[/dtype][/shape][/size][/device], the name reports and the
        JSON use, and the category for the checks that are not comparisons of values."""
        r = self.student_request
        parts = [r.function]
        if r.problem is not None:
            parts.append(r.problem)
        if r.kind == "sampler":
            parts.append(f"n={r.n},batch_size={r.batch_size},seed={r.seed}")
        if r.kind == "training":
            parts.append(f"{r.optimizer}{_show(r.optimizer_options)}")
        options = _show(r.hyperparameters)[1:-1]
        parts.append(options or "defaults")
        if r.kind == "training":
            parts.append(f"n={r.n},seed={r.seed}")
        if r.dtype != "float64":
            parts.append(r.dtype)
        if r.shape is not None:
            parts.append("shape=" + ("x".join(map(str, r.shape)) or "scalar"))
        if r.measure == "efficiency":
            parts.append(f"size={r.size}")
        if r.device != "cpu":
            parts.append(r.device)
        if self.category in CHECKS:
            parts.append(self.category)
        return "/".join(parts)

    @property
    def by_value(self) -> bool:
        """Whether the case is graded on the values of its run, not a check of how it ran
        (an error, device or efficiency check, whose verdict is what the run does)."""
        return self.raises is None and self.student_request.measure == "trajectory"

    @property
    def compares_state(self) -> bool:
        """State is compared in the state category, and in every run below float64, where
        rounding the moments through a lower precision would otherwise go unseen."""
        return self.category == "state" or self.student_request.dtype != "float64"


@dataclass(frozen=True)
class Rubric:
    """An assignment's cases, in rubric order, and each function's points: the one source of
    points for the CLI, the reports, the class report and the gradebook."""

    assignment: Assignment
    cases: tuple[Case, ...]
    points: Mapping[str, float] = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return sum(self.points.values())

    def for_function(self, function: str) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.function == function)

    @property
    def visible(self) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.visible)


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "(" + ",".join(_show(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return "(" + ",".join(f"{k}={_show(v)}" for k, v in sorted(value.items())) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def load_rubric(name: str, path: Path | None = None, *, cuda: bool | None = None) -> Rubric:
    """The rubric of assignment `name`, from `path` (default: the kit's rubrics/NAME.toml), for
    a machine with CUDA or without (`cuda`; default: whether this one has it)."""
    path = path or RUBRICS / f"{name}.toml"
    assignment = find_assignment(name)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise RubricError(f"{path}: no rubric for assignment {name!r}") from None
    except tomllib.TOMLDecodeError as error:
        raise RubricError(f"{path}: not valid TOML ({error})") from None
    validate(data, text, path, assignment)
    weights = {c: float(data.get("weights", {}).get(c, 1.0)) for c in CATEGORIES}
    functions = data["functions"]
    has_cuda = torch.cuda.is_available() if cuda is None else cuda
    cases: list[Case] = []
    for graded in assignment.functions:
        cases.extend(_function_cases(graded, functions[graded.name], weights, path, has_cuda))
    points = {f.name: float(functions[f.name]["points"]) for f in assignment.functions}
    return Rubric(assignment, tuple(cases), points)


@dataclass(frozen=True)
class _Draft:
    """A case before its points: what the student's function runs, and how it counts."""

    run: CaseRequest
    category: str
    visible: bool
    when_unavailable: WhenUnavailable = "skip"
    raises: str | None = None


def _function_cases(
    graded: GradedFunction,
    entry: Mapping[str, Any],
    weights: Mapping[str, float],
    path: Path,
    cuda: bool,
) -> list[Case]:
    where = f"{path}: [functions.{graded.name}]"
    points = entry["points"]
    blocks = entry["cases"]
    allow_delegation = entry.get("allow_delegation", False)
    drafts = [
        draft
        for index, block in enumerate(blocks)
        for draft in _expand(graded, block, f"{where} case {index + 1}")
    ]
    lacking = [_lacking(d.run, cuda) for d in drafts]
    counts = [
        why is None or d.when_unavailable == "fail" for d, why in zip(drafts, lacking, strict=True)
    ]
    per_category = Counter(d.category for d, n in zip(drafts, counts, strict=True) if n)
    total_weight = sum(weights[c] for c in per_category)
    if per_category and total_weight <= 0:
        raise RubricError(f"{where}: its categories {sorted(per_category)} all weigh 0")
    cases = []
    for draft, why, counted in zip(drafts, lacking, counts, strict=True):
        reference = _reference_request(draft.run)
        earned = (
            points * weights[draft.category] / total_weight / per_category[draft.category]
            if counted
            else 0.0
        )
        cases.append(Case(reference, draft.run, draft.category, draft.visible, earned, why,
                          draft.when_unavailable, allow_delegation, draft.raises))  # fmt: skip
    return cases


def _lacking(run: CaseRequest, cuda: bool) -> str | None:
    """What a machine with or without CUDA lacks to run `run`; None: nothing."""
    return "this machine has no CUDA device" if run.needs_cuda and not cuda else None


def _reference_request(run: CaseRequest) -> CaseRequest:
    """The reference's run a case compares with: the run itself when it records values on the
    CPU; else the same steps recorded on the CPU in float64."""
    if run.measure == "trajectory" and run.device == "cpu":
        return run
    return replace(run, measure="trajectory", size=0, device="cpu", dtype="float64")


def _expand(graded: GradedFunction, block: Mapping[str, Any], where: str) -> Iterator[_Draft]:
    """The block's cases; with `raises`, error cases: one step (one call) that must raise."""
    raises = block.get("raises")
    if raises is None:
        yield from _expand_runs(graded, block, where)
        return
    if "measure" in block or "device" in block:
        raise RubricError(f"{where}: an error case runs on the CPU; drop `measure` and `device`")
    one_call = {**block, "category": block.get("category", "errors"), "steps": 1}
    for draft in _expand_runs(graded, one_call, where):
        yield replace(draft, raises=raises)


def _expand_runs(graded: GradedFunction, block: Mapping[str, Any], where: str) -> Iterator[_Draft]:
    common = {k: v for k, v in block.items() if k not in _BLOCK_KEYS}
    option_sets = block.get("options", [{}])
    visible = bool(block.get("visible", False))
    try:
        if graded.kind == "optimizer":
            yield from _optimizer_drafts(graded, block, common, option_sets, where)
            return
        for key in ("measure", "device", "size", "when_unavailable"):
            if key in block:
                raise RubricError(f"{where}: `{key}` is for optimizer cases only")
        if graded.kind == "schedule":
            for options in option_sets:
                request = CaseRequest(
                    graded.name, "schedule", None, {**common, **options},
                    steps=block.get("steps") or 100,
                )  # fmt: skip
                yield _Draft(request, _category(block.get("category", "values"), where), visible)
        elif graded.kind == "training":
            for seed, options in itertools.product(block.get("seeds", [0]), option_sets):
                request = _training_request(graded.name, {**common, **options}, seed, where)
                yield _Draft(request, _category(block.get("category", "training"), where), visible)
        else:
            for seed in block.get("seeds", [0]):
                request = CaseRequest(
                    graded.name,
                    "sampler",
                    n=common["n"],
                    batch_size=common["batch_size"],
                    seed=seed,
                )
                yield _Draft(request, _category(block.get("category", "batches"), where), visible)
    except KeyError as error:
        raise RubricError(f"{where}: {error.args[0]}") from None
    except (TypeError, ValueError) as error:
        if isinstance(error, RubricError):
            raise
        raise RubricError(f"{where}: {error}") from None


def _optimizer_drafts(
    graded: GradedFunction,
    block: Mapping[str, Any],
    common: Mapping[str, Any],
    option_sets: list[Mapping[str, Any]],
    where: str,
) -> Iterator[_Draft]:
    """One case per problem and option set; `measure`, `device` and `size` make it a device or
    efficiency check, or a run on a GPU (hidden cases: `measure` compares values only)."""
    measure, device = block.get("measure", "trajectory"), block.get("device", "cpu")
    when_unavailable = block.get("when_unavailable", "skip")
    if block.get("visible", False) and device != "cpu":
        raise RubricError(
            f"{where}: a case on {device} cannot be visible: students check on their own "
            'machine; leave it hidden, or use `measure = "device"` (an emulated GPU)'
        )
    problems = block.get("problems") or ([EFFICIENCY_PROBLEM] if measure == "efficiency" else [])
    if not problems:
        raise RubricError(f"{where}: an optimizer case needs `problems = [...]`")
    shape = block.get("shape")
    for problem_name, options in itertools.product(problems, option_sets):
        request = CaseRequest(
            graded.name, "optimizer", problem_name, {**common, **options},
            steps=block.get("steps"), dtype=block.get("dtype", "float64"), device=device,
            shape=None if shape is None else tuple(shape), measure=measure,
            size=block.get("size", 0),
        )  # fmt: skip
        if measure == "efficiency":
            _check_elementwise(request, where)
        default = "efficiency" if measure == "efficiency" else "device"
        if measure == "trajectory" and device == "cpu":
            default = find_problem(problem_name).category
        category = _category(block.get("category") or default, where)
        yield _Draft(request, category, bool(block.get("visible", False)), when_unavailable)


def _check_elementwise(request: CaseRequest, where: str) -> None:
    """A RubricError unless the problem gives a gradient coordinate by coordinate, for any
    number of them: probed on x of ELEMENTWISE_PROBES sizes, which a gradient that mixes
    coordinates or fixes their number fails. The case's own size (up to millions) took a
    tenth of a second a case at every load of the rubric. The probes are CPU tensors: the
    first use of the "meta" device imports about 800 modules."""
    problem = find_problem(str(request.problem))
    for size in ELEMENTWISE_PROBES:
        x = torch.zeros(size, dtype=torch.float32)
        try:
            shape = problem.grad(x, 0).shape
        except (RuntimeError, IndexError, ValueError):
            shape = None
        if shape != x.shape:
            raise RubricError(
                f"{where}: problem {request.problem} has no gradient coordinate by coordinate "
                f"for an efficiency check of size {request.size}; use {EFFICIENCY_PROBLEM}"
            )


def _training_request(
    function: str, settings: Mapping[str, Any], seed: int, where: str
) -> CaseRequest:
    """A training case: `optimizer = { name = ..., lr = ..., ... }` (a kit optimizer and its
    options) and `n` build it; every other key is a keyword of the training loop."""
    missing = [key for key in ("optimizer", "n", "epochs", "batch_size") if key not in settings]
    if missing:
        raise RubricError(f"{where}: a training case needs {', '.join(missing)}")
    keywords = {k: v for k, v in settings.items() if k not in ("optimizer", "n")}
    optimizer = dict(settings["optimizer"])
    name = optimizer.pop("name", None)
    if name not in OPTIMIZERS or "lr" not in optimizer:
        raise RubricError(
            f"{where}: `optimizer` must give the `name` of one of {sorted(OPTIMIZERS)} and an "
            f'`lr`, e.g. {{ name = "sgd", lr = 0.1 }}, not {settings["optimizer"]}'
        )
    schedule = keywords.get("schedule")
    if schedule is not None and schedule not in SCHEDULES:
        raise RubricError(f"{where}: schedule {schedule!r} is not one of {sorted(SCHEDULES)}")
    return CaseRequest(
        function, "training", hyperparameters=keywords, n=settings["n"], seed=seed,
        optimizer=name, optimizer_options=optimizer,
    )  # fmt: skip


def _category(category: str, where: str) -> str:
    if category not in CATEGORIES:
        raise RubricError(f"{where}: category {category!r} is not one of {CATEGORIES}")
    return category
