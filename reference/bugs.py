"""The known-bug library: every family's variants, for diagnosis and for the kit's tests."""

from importlib import import_module

from reference import FUNCTIONS
from reference.known_bug import KnownBug
from reference.plain_step import plain_steps

# Modules by name: `reference.adam` the attribute is the function, not the module.
_FAMILIES = (
    "sgd", "minibatch", "adagrad", "rmsprop", "adadelta", "adam", "adamax", "nadam", "radam",
    "adabound", "schedules", "cyclical", "swats", "training",
)  # fmt: skip

KNOWN_BUGS: tuple[KnownBug, ...] = (
    *(bug for family in _FAMILIES for bug in import_module(f"reference.{family}").BUGS),
    *plain_steps(FUNCTIONS),
)


def known_bugs(function: str) -> tuple[KnownBug, ...]:
    """The variants of one graded function, e.g. known_bugs("adam")."""
    return tuple(bug for bug in KNOWN_BUGS if bug.function == function)
