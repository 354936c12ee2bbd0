"""The course repository that `release` and `demo` work on: `--course DIR`, or found.

The installed kit carries its engine, reference and rubrics; the course's own folders
(solutions/, assignments/, the sample class in examples/class/) live in the course
repository. Without `--course`, the kit looks in the working folder and its parents, then in
the checkout it runs from (an editable install).
"""

from __future__ import annotations

from pathlib import Path

from autograder.config import KIT_ROOT
from autograder.errors import UsageError

SAMPLE_CLASS = Path("examples") / "class"


def course_root(explicit: Path | None, needs: Path) -> Path:
    """The course folder holding `needs` (e.g. solutions/): `explicit`, else found; a
    UsageError naming the fix when there is none."""
    if explicit is not None:
        if not (explicit / needs).is_dir():
            raise UsageError(
                f"--course {explicit}: no {needs.as_posix()}/ there; give the course "
                "repository (the folder holding solutions/, assignments/ and examples/)"
            )
        return explicit
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents, KIT_ROOT):
        if (candidate / needs).is_dir():
            return candidate
    raise UsageError(
        f"no {needs.as_posix()}/ in {here} or above it: run this inside the course "
        "repository, or pass --course DIR"
    )
