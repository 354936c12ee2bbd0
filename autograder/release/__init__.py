"""`optim-grader release`: assignments/ regenerated from solutions/, or checked to be fresh.

The pipeline, one module a step: `regions` finds nbgrader's solution markers; `stub` turns a
solution module into the student's stub; `notebook` and `readme` make the other student
files; `artifacts` lists what one assignment releases; `sync` writes it or compares it with
the disk.
"""

from autograder.release.artifacts import (
    ARTIFACT_BUILDERS,
    UNMANAGED,
    ArtifactBuilder,
    Artifacts,
    AssignmentSource,
    build_assignment,
    read_source,
)
from autograder.release.stub import NOTE, make_stub, not_implemented_message
from autograder.release.sync import (
    PROJECT_ROOT,
    Difference,
    build_release,
    differences,
    run_release,
    write_release,
)

__all__ = [
    "ARTIFACT_BUILDERS",
    "NOTE",
    "PROJECT_ROOT",
    "UNMANAGED",
    "ArtifactBuilder",
    "Artifacts",
    "AssignmentSource",
    "Difference",
    "build_assignment",
    "build_release",
    "differences",
    "make_stub",
    "not_implemented_message",
    "read_source",
    "run_release",
    "write_release",
]
