"""What `optim-grader check` prints: per function, every failing visible case (those that say
the same collapsed into one), then a summary line; `--verbose` prints every case."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from autograder.results import CaseResult, FunctionResult, GradeReport

NAMED = 3  # cases named after a collapsed one (--verbose names them all)
NUMBERS = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def check_lines(report: GradeReport, *, verbose: bool = False) -> Iterator[str]:
    """The lines of the check's output for `report`."""
    for reason in report.errors:
        yield f"FAIL {reason}"
    if report.errors:
        return
    for result in report.functions:
        yield from _function_lines(result, verbose)
    yield _summary(report.functions)


def _function_lines(result: FunctionResult, verbose: bool) -> Iterator[str]:
    failing = [c for c in result.checks if not c.passed]
    count = len(result.checks)
    if not failing:
        yield f"ok   {result.function}: {count} visible case{'s' * (count != 1)} pass"
    else:
        yield f"FAIL {result.function}: {len(failing)} of {count} visible cases fail"
    shown = result.checks if verbose else failing
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for case in shown:
        key = (case.status, _gist(case))
        groups.setdefault(key, []).append(case)
    for cases in groups.values():
        if verbose:
            for case in cases:
                yield f"     {_line(case)}"
            continue
        yield f"     {_line(cases[0])}"
        if len(cases) > 1:
            others = ", ".join(c.name for c in cases[1 : 1 + NAMED])
            more = ", ..." if len(cases) > 1 + NAMED else ""
            count = len(cases) - 1
            yield f"     the same in {count} more case{'s' * (count > 1)}: {others}{more}"
    for case in result.skipped:
        if verbose:
            yield f"     {case.name}: not run on this machine: {case.message}"


def _line(case: CaseResult) -> str:
    """'NAME [status]: what happened', the function's name not repeated."""
    message = case.message.removeprefix(f"{case.function}: ")
    mark = "passed" if case.passed else case.status.replace("_", " ")
    return f"{case.name} [{mark}]: {message}"


def _gist(case: CaseResult) -> str:
    """The message without its numbers: two cases with the same gist say the same."""
    bug = case.diagnosis.bug if case.diagnosis is not None else None
    quantity = case.divergence.quantity if case.divergence is not None else ""
    return f"{bug}|{quantity}|" + NUMBERS.sub("#", case.message.split(";")[-1])


def _summary(functions: Sequence[FunctionResult]) -> str:
    passed = sum(f.passed for f in functions)
    score = sum(f.score for f in functions)
    worth = sum(f.max_score for f in functions)
    return (
        f"{passed} of {len(functions)} functions pass their visible cases; "
        f"visible cases: {score:.2f} of {worth:.2f} points"
    )
