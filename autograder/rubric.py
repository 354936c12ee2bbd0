"""Cases and points of an assignment, read from its instructor-editable TOML rubric.

A rubric gives each function its points and a list of case blocks; a block expands to one
case per problem and option set. Each function's points split across the categories its cases
use, in proportion to the rubric's weights, then equally among the cases of a category.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.catalog import Assignment, GradedFunction
from autograder.catalog import assignment as find_assignment
from autograder.problems import problem as find_problem
from autograder.training import OPTIMIZERS, SCHEDULES
from autograder.worker import CaseRequest

RUBRICS = Path(__file__).parent / "rubrics"
PROBLEM_CATEGORIES = ("convex", "ill-conditioned", "saddle", "non-convex", "stochastic", "probe")
CATEGORIES = (
    *PROBLEM_CATEGORIES, "state", "purity", "dtype/shape", "values", "batches", "training",
)  # fmt: skip
_BLOCK_KEYS = {"problems", "options", "visible", "category", "dtype", "shape", "steps", "seeds"}


class RubricError(ValueError):
    """A rubric file that cannot be used; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class Case:
    """One graded run: what the worker runs, the rubric category it counts for, and its points."""

    request: CaseRequest
    category: str
    visible: bool
    points: float

    @property
    def name(self) -> str:
        """FUNCTION/PROBLEM/options[/dtype][/shape], the name reports and the JSON use."""
        r = self.request
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
        if self.category in ("state", "purity"):
            parts.append(self.category)
        return "/".join(parts)

    @property
    def compares_state(self) -> bool:
        return self.category == "state"


@dataclass(frozen=True)
class Rubric:
    """An assignment's cases, in rubric order."""

    assignment: Assignment
    cases: tuple[Case, ...]

    def for_function(self, function: str) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.request.function == function)

    @property
    def visible(self) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.visible)


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "(" + ",".join(_show(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return "(" + ",".join(f"{k}={_show(v)}" for k, v in sorted(value.items())) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def load_rubric(name: str, path: Path | None = None) -> Rubric:
    """The rubric of assignment `name`, from `path` (default: the kit's rubrics/NAME.toml)."""
    path = path or RUBRICS / f"{name}.toml"
    assignment = find_assignment(name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(f"{path}: no rubric for assignment {name!r}") from None
    except tomllib.TOMLDecodeError as error:
        raise RubricError(f"{path}: not valid TOML ({error})") from None
    weights = _weights(data.get("weights", {}), path)
    functions = data.get("functions", {})
    for unknown in set(functions) - {f.name for f in assignment.functions}:
        raise RubricError(f"{path}: [functions.{unknown}] is not a function of {name}")
    cases: list[Case] = []
    for graded in assignment.functions:
        entry = functions.get(graded.name)
        if entry is None:
            raise RubricError(f"{path}: no [functions.{graded.name}] section; add its cases")
        cases.extend(_function_cases(graded, entry, weights, path))
    return Rubric(assignment, tuple(cases))


def _weights(raw: Mapping[str, Any], path: Path) -> dict[str, float]:
    for category, weight in raw.items():
        if category not in CATEGORIES:
            raise RubricError(f"{path}: [weights] {category!r} is not a category ({CATEGORIES})")
        if not isinstance(weight, int | float) or weight < 0:
            raise RubricError(f"{path}: [weights] {category} must be a non-negative number")
    return {category: float(raw.get(category, 1.0)) for category in CATEGORIES}


def _function_cases(
    graded: GradedFunction, entry: Mapping[str, Any], weights: Mapping[str, float], path: Path
) -> list[Case]:
    where = f"{path}: [functions.{graded.name}]"
    points = entry.get("points", graded.points)
    blocks = entry.get("cases", [])
    if not blocks:
        raise RubricError(f"{where} has no cases")
    unweighted = [
        (request, category, visible)
        for index, block in enumerate(blocks)
        for request, category, visible in _expand(graded, block, f"{where} case {index + 1}")
    ]
    per_category: dict[str, int] = {}
    for _, category, _ in unweighted:
        per_category[category] = per_category.get(category, 0) + 1
    total_weight = sum(weights[c] for c in per_category)
    if total_weight <= 0:
        raise RubricError(f"{where}: its categories {sorted(per_category)} all weigh 0")
    return [
        Case(
            request,
            category,
            visible,
            points * weights[category] / total_weight / per_category[category],
        )
        for request, category, visible in unweighted
    ]


def _expand(
    graded: GradedFunction, block: Mapping[str, Any], where: str
) -> Iterator[tuple[CaseRequest, str, bool]]:
    common = {k: v for k, v in block.items() if k not in _BLOCK_KEYS}
    option_sets = block.get("options", [{}])
    visible = bool(block.get("visible", False))
    dtype = block.get("dtype", "float64")
    shape = block.get("shape")
    steps = block.get("steps")
    try:
        if graded.kind == "optimizer":
            problems = block.get("problems") or []
            if not problems:
                raise RubricError(f"{where}: an optimizer case needs `problems = [...]`")
            for problem_name, options in itertools.product(problems, option_sets):
                category = block.get("category") or find_problem(problem_name).category
                request = CaseRequest(
                    graded.name, "optimizer", problem_name, {**common, **options},
                    steps=steps, dtype=dtype, shape=None if shape is None else tuple(shape),
                )  # fmt: skip
                yield request, _category(category, where), visible
        elif graded.kind == "schedule":
            for options in option_sets:
                request = CaseRequest(
                    graded.name, "schedule", None, {**common, **options}, steps=steps or 100
                )
                yield request, _category(block.get("category", "values"), where), visible
        elif graded.kind == "training":
            for seed, options in itertools.product(block.get("seeds", [0]), option_sets):
                request = _training_request(graded.name, {**common, **options}, seed, where)
                yield request, _category(block.get("category", "training"), where), visible
        else:
            for seed in block.get("seeds", [0]):
                request = CaseRequest(
                    graded.name,
                    "sampler",
                    n=common["n"],
                    batch_size=common["batch_size"],
                    seed=seed,
                )
                yield request, _category(block.get("category", "batches"), where), visible
    except KeyError as error:
        raise RubricError(f"{where}: {error.args[0]}") from None
    except (TypeError, ValueError) as error:
        if isinstance(error, RubricError):
            raise
        raise RubricError(f"{where}: {error}") from None


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
