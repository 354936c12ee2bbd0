"""What grading produces: one frozen result per check, aggregated per function and submission.

Reports render these; nothing patches a score after it is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.compare import Divergence
from autograder.status import Status

# A Diagnosis's misconception when no bug is named: more than one mistake shows, or the rule
# is right and only float32 rounding separates the run from the reference.
SEVERAL_MISTAKES = "several"
FLOAT32_PRECISION = "float32 precision"


@dataclass(frozen=True)
class Diagnosis:
    """The known bug that reproduces the student's run, or None in `bug` when none does (then
    `misconception` may say why: SEVERAL_MISTAKES or FLOAT32_PRECISION)."""

    bug: str | None
    misconception: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Plot:
    """What the HTML report needs to draw a failing case: the problem and the two paths.

    A hidden case's `expected` path stops at the divergence, so no reference value past what
    the student matched is ever drawn.
    """

    problem: str
    expected: tuple[tuple[float, ...], ...]
    got: tuple[tuple[float, ...], ...]
    divergence_step: int | None


@dataclass(frozen=True)
class CaseResult:
    """One case of one function, graded: `name` is FUNCTION/PROBLEM/... as in the JSON report."""

    name: str
    function: str
    category: str
    visible: bool
    max_score: float
    score: float
    status: Status
    message: str
    divergence: Divergence | None = None
    diagnosis: Diagnosis | None = None
    plot: Plot | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def skipped(self) -> bool:
        """Neither passed nor failed: the case could not run here, and counts for nothing."""
        return self.status == "skipped"


@dataclass(frozen=True)
class FunctionResult:
    """The checks of one graded function; `headline` is its one-line summary for students.

    `checks` are the graded ones; `skipped` those this machine could not run, kept apart since
    they are neither passed nor failed and count for nothing.
    """

    function: str
    checks: tuple[CaseResult, ...]
    headline: str
    skipped: tuple[CaseResult, ...] = ()

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass(frozen=True)
class GradeReport:
    """A graded submission: what every report format renders."""

    assignment: str
    submission: str
    functions: tuple[FunctionResult, ...]
    errors: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return sum(f.score for f in self.functions)

    @property
    def max_score(self) -> float:
        return sum(f.max_score for f in self.functions)

    @property
    def checks(self) -> tuple[CaseResult, ...]:
        return tuple(c for f in self.functions for c in f.checks)

    @property
    def skipped(self) -> tuple[CaseResult, ...]:
        return tuple(c for f in self.functions for c in f.skipped)
