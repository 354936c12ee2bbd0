"""`optim-grader bundle KIND NAME -o OUT`: what each platform installs, built from the kit.

Each kind is one module with one `write_*` function, registered in `BUNDLES` by its name on
the command line. A bundle writer takes the assignment's name and the output path, writes
there, and raises a `BundleError` naming the fix when it cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autograder.errors import BundleError

BundleWriter = Callable[[str, Path], None]

# kind -> "module:function", imported only when that kind is asked for.
BUNDLES: dict[str, str] = {
    "github": "autograder.bundles.github:write_github",
    "gradescope": "autograder.bundles.gradescope:write_gradescope",
    "nbgrader": "autograder.bundles.nbgrader:write_nbgrader",
    "student": "autograder.bundles.student:write_student",
}


def writer(kind: str) -> BundleWriter:
    """The writer of bundle `kind`; a BundleError that lists the kinds for an unknown one."""
    from importlib import import_module

    if kind not in BUNDLES:
        raise BundleError(f"unknown bundle {kind!r}; choose one of: {', '.join(sorted(BUNDLES))}")
    module, _, function = BUNDLES[kind].partition(":")
    found: BundleWriter = getattr(import_module(module), function)
    return found
