"""The sentences about compared values: divergences, diagnoses and per-function headlines.

The failures the worker meets (not implemented, raised, timed out, ...) are worded by the
templates of worker/messages.py; this module words what the grading process finds itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autograder.compare import Divergence
from autograder.results import FLOAT32_PRECISION, SEVERAL_MISTAKES, CaseResult, Diagnosis

NO_MATCH = (
    "it matches none of the known mistakes: go through {section} of the docstring line by line"
)
SEVERAL = (
    "more than one mistake: a known one explains part of this run, not all of it, so "
    "go through {section} of the docstring line by line"
)
FLOAT32 = (
    "the rule is right, but the values agree with the reference to float32's precision only, "
    "not float64's: something is computed in float32, such as a state entry kept as a float32 "
    "tensor (a `step` made with torch.tensor(0.0): the docstring asks for a Python int), a "
    "tensor made without x's dtype, or a float32 constant; keep every quantity in x's dtype "
    "and Python numbers where the docstring asks for them"
)
DOCSTRING_SECTIONS = {
    "x": "the update",
    "loss": "the update",
    "lr": "the formula",
    "batch": "how the permutation is cut into batches",
}


DELEGATION = (
    "{function} calls {target}: it hands its work to an existing implementation instead of "
    "computing it, so every case of {function} scores zero; write the update yourself from "
    "the docstring, with tensor operations only"
)


def delegation(function: str, target: str) -> str:
    """The message of every case of a function that called torch.optim or the kit."""
    return DELEGATION.format(function=function, target=target)


VALUES_FIRST = (
    "{function}: the {check} check earns its points once {function}'s values are right; fix "
    "the failing cases first"
)


def values_first(function: str, check: str) -> str:
    """A check passed by a function whose values are wrong (a placeholder passes them all)."""
    return VALUES_FIRST.format(function=function, check=check)


def _options(options: Mapping[str, Any]) -> str:
    """'lr=-0.1, betas=(1.0, 0.999)': sequences as tuples, as the rubric and JSON give either."""
    shown = [
        f"{name}={tuple(value) if isinstance(value, list) else value!r}"
        for name, value in options.items()
    ]
    return ", ".join(shown) or "the defaults"


def raised(function: str, options: Mapping[str, Any], error: str) -> str:
    return f"{function}: raises {error} for {_options(options)}, as its docstring asks"


def not_raised(
    function: str, options: Mapping[str, Any], error: str, got: str | None = None
) -> str:
    """What an error case says when the function accepted invalid hyperparameters."""
    did = "returned a step" if got is None else f"raised {got}"
    return (
        f"{function}: called with {_options(options)}, it {did}; its docstring's Errors line "
        f"asks for a {error} here: check the hyperparameters before the step and raise "
        f"{error}(...) naming the bad one"
    )


def _where(divergence: Divergence, kind: str) -> str:
    if kind == "schedule":
        return f"at step {divergence.step}"
    if kind == "sampler":
        return f"in batch {divergence.step}"
    if kind == "training":
        if divergence.quantity == "parameters":
            return f"after training ({divergence.step} minibatches)"
        return f"at minibatch {divergence.step}"
    return "at the start" if divergence.step == 0 else f"after step {divergence.step}"


def _quantity(divergence: Divergence) -> str:
    if not divergence.index:
        return divergence.quantity
    return f"{divergence.quantity}[{', '.join(map(str, divergence.index))}]"


def _distinct(got: float, expected: float) -> tuple[str, str]:
    """Both numbers with 6 significant digits, or as many more as it takes to tell them apart."""
    for digits in range(6, 18):
        shown = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if shown[0] != shown[1]:
            return shown
    return repr(got), repr(expected)


def _gap(divergence: Divergence) -> str:
    """' (off by 1.2e-07; the tolerance there is 1.5e-08)', when both are numbers."""
    off = abs(divergence.got - divergence.expected)
    if off != off or divergence.tolerance != divergence.tolerance:
        return ""
    return f" (off by {off:.2g}; the tolerance there is {divergence.tolerance:.2g})"


def divergence_message(
    function: str, kind: str, divergence: Divergence, diagnosis: Diagnosis
) -> str:
    """'adam: after step 3, x[1] is 0.12, expected 0.1; likely mistake: ... Hint: ...'."""
    where = _where(divergence, kind)
    if (
        divergence.quantity.startswith("state")
        and divergence.index == ()
        and divergence.got != divergence.got
    ):
        fact = f"{where}, {divergence.quantity} is missing from state"
    elif divergence.quantity.endswith("shape"):
        fact = f"{where}, {divergence.quantity[:-6]} has the wrong shape"
    else:
        got, expected = _distinct(divergence.got, divergence.expected)
        fact = f"{where}, {_quantity(divergence)} is {got}, expected {expected}{_gap(divergence)}"
    section = (
        "the training loop"
        if kind == "training"
        else DOCSTRING_SECTIONS.get(divergence.quantity, "the state names and updates")
    )
    return f"{function}: {fact}; {diagnosis_text(diagnosis, section)}"


def diagnosis_text(diagnosis: Diagnosis, section: str = "the update") -> str:
    """The diagnosis in words: the known mistake (or the two) and where to look."""
    if diagnosis.bug is None:
        said = {SEVERAL_MISTAKES: SEVERAL, FLOAT32_PRECISION: FLOAT32}
        return said.get(diagnosis.misconception, NO_MATCH).format(section=section)
    if "+" in diagnosis.bug:
        return (
            f"likely two mistakes: {diagnosis.misconception.rstrip('.')}. Hints: {diagnosis.hint}"
        )
    return f"likely mistake: {diagnosis.misconception.rstrip('.')}. Hint: {diagnosis.hint}"


def headline(
    function: str, checks: tuple[CaseResult, ...], skipped: tuple[CaseResult, ...] = ()
) -> str:
    """One line per function: passed, or its most telling failure (visible cases first); the
    cases this machine could not run are counted apart."""
    failed = [c for c in checks if not c.passed]
    if not failed:
        return f"{function}: passed ({len(checks)} cases{_skipped(len(skipped))})"
    if all(c.status == "load_error" for c in checks):
        return f"{function}: not graded, the module did not load (see the error above)"
    first = min(failed, key=lambda c: (not c.visible, c.diagnosis is None))
    return f"{first.message} [{len(failed)} of {len(checks)} cases fail]"


def _skipped(count: int) -> str:
    """', 2 skipped: this machine cannot run them', or nothing."""
    return f", {count} skipped: this machine cannot run them" if count else ""
