"""The rubric's schema: every key, type and name of a rubric TOML checked before any case is
built, each error with the file, the line, what is wrong and the nearest valid name.

A case's keys are the block keys of its function's kind (below) and the function's
hyperparameters: the keyword-only parameters of its reference (`reference.FUNCTIONS`), which
the released stub and solution share (`optim-grader rubric check` grades solutions/ on every
case, so a mismatch cannot pass). Categories come from `rubric.CATEGORIES` alone.
"""

from __future__ import annotations

import difflib
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from autograder.catalog import Assignment, FunctionKind, GradedFunction
from autograder.errors import RubricError
from autograder.problems import PROBLEMS
from autograder.problems import problem as find_problem

TOP_KEYS = ("weights", "functions")
FUNCTION_KEYS = ("points", "cases", "allow_delegation")
KIT_SUPPLIED = frozenset({"generator"})  # keyword-only parameters the kit passes itself
BLOCK_KEYS: dict[FunctionKind, tuple[str, ...]] = {
    "optimizer": (
        "problems", "options", "visible", "category", "dtype", "shape", "steps", "measure",
        "device", "size", "when_unavailable", "raises",
    ),
    "schedule": ("options", "visible", "category", "steps", "raises"),
    "training": ("optimizer", "n", "options", "visible", "category", "seeds", "raises"),
    "sampler": ("n", "batch_size", "visible", "category", "seeds", "raises"),
}  # fmt: skip
REFUSABLE = ("n", "batch_size")  # sizes an error case may set out of range, to be refused
WhenUnavailable = Literal["skip", "fail"]
CHOICES: dict[str, tuple[str, ...]] = {
    "dtype": ("float64", "float32"),
    "measure": ("trajectory", "device", "efficiency"),
    "device": ("cpu", "cuda"),
    "when_unavailable": get_args(WhenUnavailable),
    "raises": ("ValueError",),  # what an error case may expect the function to raise
}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _ints(value: object) -> bool:
    return isinstance(value, list) and all(_count(v) for v in value)


TYPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "problems": (lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
                 'a list of problem names, e.g. ["quadratic_2d"]'),
    "options": (lambda v: isinstance(v, list) and all(isinstance(o, dict) for o in v),
                "a list of tables of hyperparameters, e.g. [{}, { weight_decay = 0.1 }]"),
    "visible": (lambda v: isinstance(v, bool), "true or false"),
    "category": (lambda v: isinstance(v, str), "a category name"),
    "shape": (_ints, "a list of non-negative integers, e.g. [5, 10] ([] for 0-d)"),
    "steps": (_positive, "a positive integer"),
    "size": (_positive, "a positive integer"),
    "seeds": (_ints, "a list of non-negative integers, e.g. [0, 7]"),
    "n": (_positive, "a positive integer"),
    "batch_size": (_positive, "a positive integer"),
    "optimizer": (lambda v: isinstance(v, dict), '{ name = "sgd", lr = 0.1 }'),
}  # fmt: skip


def hyperparameters(function: GradedFunction) -> frozenset[str]:
    """The keyword-only parameters of `function`'s reference, less those the kit supplies."""
    from reference import FUNCTIONS

    parameters = inspect.signature(FUNCTIONS[function.name]).parameters.values()
    keywords = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return frozenset(keywords - KIT_SUPPLIED)


@dataclass(frozen=True)
class _Text:
    """The rubric's file and text, to name the line of a key (tomllib gives no positions)."""

    path: Path
    text: str

    def at(self, section: str, key: str, value: object = None) -> str:
        """'FILE:LINE' of `key` (with `value` after it, when given) at or after the `section`
        header; of the header itself when `key` is ''."""
        lines = self.text.splitlines()
        start = next(
            (i for i, line in enumerate(lines) if line.strip().startswith(f"[{section}]")), 0
        )
        if not key:  # the section's header itself
            return f"{self.path}:{start + 1}"
        pattern = rf'(^|[\s{{,])"?{re.escape(key)}"?\s*='
        shown = "" if value is None else _toml(value)
        for number in range(start, len(lines)):
            found = re.search(pattern, lines[number].split("#")[0])
            if found and shown in lines[number][found.end() :]:
                return f"{self.path}:{number + 1}"
        return f"{self.path}:{start + 1}" if start else str(self.path)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value) if _number(value) else ""


def _nearest(name: str, valid: Iterator[str] | tuple[str, ...] | frozenset[str]) -> str:
    """'; did you mean `x`?' for the closest valid name, or '' when none is close."""
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def validate(data: Mapping[str, Any], text: str, path: Path, assignment: Assignment) -> None:
    """Raise a RubricError for the first thing wrong in the rubric of `assignment`, saying how
    many more there are."""
    errors = sorted(_errors(data, _Text(path, text), assignment), key=_line_number)
    if errors:
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        raise RubricError(errors[0] + more)


def _line_number(error: str) -> int:
    """The LINE of 'FILE:LINE: ...', to report in file order (last: an error without a line)."""
    match = re.match(r"[^:]*:(\d+): ", error)
    return int(match[1]) if match else sys.maxsize


def _errors(data: Mapping[str, Any], text: _Text, assignment: Assignment) -> Iterator[str]:
    from autograder.rubric import CATEGORIES

    for key in data:
        if key not in TOP_KEYS:
            yield f"{text.at('', key)}: unknown table `{key}`{_nearest(key, TOP_KEYS)}"
    weights = data.get("weights", {})
    if not isinstance(weights, dict):
        yield f"{text.at('', 'weights')}: `weights` must be a table of category = weight"
        weights = {}
    for category, weight in weights.items():
        if category not in CATEGORIES:
            yield (
                f"{text.at('weights', category)}: [weights] `{category}` is not a category"
                f"{_nearest(category, CATEGORIES)} (categories: {', '.join(CATEGORIES)})"
            )
        elif not _number(weight) or weight < 0:
            yield (
                f"{text.at('weights', category)}: [weights] {category} = {weight!r}: a weight "
                "must be a non-negative number"
            )
    functions = data.get("functions", {})
    names = tuple(f.name for f in assignment.functions)
    for name in functions:
        if name not in names:
            yield (
                f"{text.at(f'functions.{name}', '')}: [functions.{name}] is not a function "
                f"of {assignment.name}{_nearest(name, names)} (its functions: "
                f"{', '.join(names)})"
            )
    for graded in assignment.functions:
        entry = functions.get(graded.name)
        if entry is None:
            yield f"{text.path}: no [functions.{graded.name}] table; add its points and cases"
        else:
            yield from _function_errors(graded, entry, text, CATEGORIES)


def _function_errors(
    graded: GradedFunction, entry: Mapping[str, Any], text: _Text, categories: tuple[str, ...]
) -> Iterator[str]:
    section = f"functions.{graded.name}"
    for key in entry:
        if key not in FUNCTION_KEYS:
            yield (
                f"{text.at(section, key)}: [{section}] unknown key `{key}`"
                f"{_nearest(key, FUNCTION_KEYS)} (keys: {', '.join(FUNCTION_KEYS)})"
            )
    if "points" not in entry:
        yield f"{text.at(section, '')}: [{section}] has no `points`; add e.g. points = 10"
    elif not _number(entry["points"]) or entry["points"] < 0:
        yield (
            f"{text.at(section, 'points')}: [{section}] points = {entry['points']!r}: points "
            "must be a non-negative number"
        )
    if not isinstance(entry.get("allow_delegation", False), bool):
        yield (
            f"{text.at(section, 'allow_delegation')}: [{section}] allow_delegation must be "
            "true or false"
        )
    blocks = entry.get("cases", [])
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        yield f"{text.at(section, 'cases')}: [{section}] cases must be a list of tables"
        return
    if not blocks:
        yield f"{text.at(section, 'cases')}: [{section}] has no cases"
    allowed_hyperparameters = hyperparameters(graded)
    block_keys = BLOCK_KEYS[graded.kind]
    for number, block in enumerate(blocks, start=1):
        where = f"[{section}] case {number}"
        for key, value in block.items():
            if key in block_keys:
                yield from _value_errors(
                    key, value, _Spot(text, section, key, where), categories,
                    raising="raises" in block,
                )  # fmt: skip
            elif key not in allowed_hyperparameters:
                yield _unknown_key(
                    key, f"{text.at(section, key)}: {where}", graded, block_keys,
                    allowed_hyperparameters,
                )  # fmt: skip
        for options in block.get("options", []) if isinstance(block.get("options"), list) else []:
            for key in options if isinstance(options, dict) else ():
                if key not in allowed_hyperparameters:
                    yield _unknown_key(
                        key,
                        f"{text.at(section, key)}: {where} options",
                        graded,
                        (),
                        allowed_hyperparameters,
                    )


def _unknown_key(
    key: str,
    where: str,
    graded: GradedFunction,
    block_keys: tuple[str, ...],
    allowed: frozenset[str],
) -> str:
    valid = frozenset(block_keys) | allowed
    return (
        f"{where}: unknown key `{key}`{_nearest(key, valid)} (keys of a {graded.kind} case: "
        f"{', '.join(block_keys) or '-'}; hyperparameters of {graded.name}: "
        f"{', '.join(sorted(allowed)) or 'none'})"
    )


@dataclass(frozen=True)
class _Spot:
    """Where a block's key is: 'FILE:LINE: [functions.f] case N' for one of its values."""

    text: _Text
    section: str
    key: str
    case: str

    def __call__(self, value: object) -> str:
        return f"{self.text.at(self.section, self.key, value)}: {self.case}"


def _value_errors(
    key: str, value: object, spot: _Spot, categories: tuple[str, ...], *, raising: bool
) -> Iterator[str]:
    """What is wrong with one block key's value; in an error case (`raising`) a size may be
    any integer, since the function must refuse it."""
    where = spot(value)
    if raising and key in REFUSABLE:
        if not isinstance(value, int) or isinstance(value, bool):
            yield f"{where}: {key} = {value!r} must be an integer"
        return
    if key in CHOICES:
        if value not in CHOICES[key]:
            yield (
                f"{where}: {key} = {value!r} is not one of {', '.join(CHOICES[key])}"
                f"{_nearest(str(value), CHOICES[key])}"
            )
        return
    accepts, expected = TYPES[key]
    if not accepts(value):
        yield f"{where}: {key} = {value!r} must be {expected}"
    elif key == "category" and value not in categories:
        yield (
            f"{where}: category {value!r} is not a category{_nearest(str(value), categories)} "
            f"(categories: {', '.join(categories)})"
        )
    elif key == "problems":
        for name in value:  # type: ignore[attr-defined]
            try:
                find_problem(name)
            except KeyError:
                known = tuple(p.name for p in PROBLEMS)
                yield (
                    f"{spot(name)}: problem {name!r} is not in the suite{_nearest(name, known)} "
                    "(the problems: autograder/problems/__init__.py; NAME@SEED for a seeded one)"
                )
