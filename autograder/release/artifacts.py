"""What release produces for one assignment: artifacts, each a relative path and its bytes.

Each builder is a pure function of an `AssignmentSource` that returns the files it makes,
keyed by their path below assignments/NAME/. Adding a product of release is one more builder
in `ARTIFACT_BUILDERS`; `UNMANAGED` names the entries of assignments/NAME/ that release
neither writes nor checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.catalog import Assignment
from autograder.errors import ReleaseError
from autograder.release.notebook import release_notebook
from autograder.release.readme import student_readme
from autograder.release.stub import make_stub

# Entries of assignments/NAME/ that release leaves alone: the caches that running the checks
# or a notebook leaves behind.
UNMANAGED = frozenset({"__pycache__", ".ipynb_checkpoints", ".pytest_cache"})


@dataclass(frozen=True)
class AssignmentSource:
    """An assignment and the texts of its instructor files, with the paths they came from."""

    assignment: Assignment
    solution: str
    solution_path: str
    notebook: str | None = None
    notebook_path: str | None = None

    @property
    def notebook_name(self) -> str:
        return f"{self.assignment.name}.ipynb"


Artifacts = dict[str, bytes]
ArtifactBuilder = Callable[[AssignmentSource], Artifacts]


def stub_artifact(source: AssignmentSource) -> Artifacts:
    """The stub module, named as in solutions/."""
    graded = [f.name for f in source.assignment.functions]
    module = source.assignment.module
    stub = make_stub(source.solution, source.solution_path, module, graded)
    return {module: stub.encode()}


def readme_artifact(source: AssignmentSource) -> Artifacts:
    """README.md for students."""
    notebook = source.notebook_name if source.notebook is not None else None
    readme = student_readme(source.assignment, source.solution, notebook)
    return {"README.md": readme.encode()}


def notebook_artifact(source: AssignmentSource) -> Artifacts:
    """NAME.ipynb, when solutions/ has one."""
    if source.notebook is None or source.notebook_path is None:
        return {}
    notebook = release_notebook(source.notebook, source.notebook_path, source.notebook_name)
    return {source.notebook_name: notebook.encode()}


def expected_artifact(source: AssignmentSource) -> Artifacts:
    """expected/FUNCTION.json: the public expected values of the visible cases, computed from
    the reference (none for an assignment without a rubric)."""
    from autograder.expectations import ReferenceExpectations
    from autograder.public_expected import expected_files
    from autograder.rubric import RUBRICS, load_rubric

    if not (RUBRICS / f"{source.assignment.name}.toml").is_file():
        return {}
    return expected_files(load_rubric(source.assignment.name), ReferenceExpectations())


ARTIFACT_BUILDERS: tuple[ArtifactBuilder, ...] = (
    stub_artifact,
    readme_artifact,
    notebook_artifact,
    expected_artifact,
)


def _read(path: Path, where: str) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReleaseError(f"{where}: not UTF-8 text ({error.reason})") from error


def read_source(root: Path, assignment: Assignment) -> AssignmentSource:
    """The instructor files of `assignment` below `root`/solutions/."""
    solution_path = f"solutions/{assignment.module}"
    if not (root / solution_path).is_file():
        raise ReleaseError(f"{solution_path}: missing; release makes the stub from it")
    notebook_path = f"solutions/{assignment.name}.ipynb"
    has_notebook = (root / notebook_path).is_file()
    return AssignmentSource(
        assignment,
        _read(root / solution_path, solution_path),
        solution_path,
        _read(root / notebook_path, notebook_path) if has_notebook else None,
        notebook_path if has_notebook else None,
    )


def build_assignment(
    source: AssignmentSource, builders: Sequence[ArtifactBuilder] = ARTIFACT_BUILDERS
) -> Artifacts:
    """Every artifact of one assignment; two builders may not claim the same path."""
    artifacts: Artifacts = {}
    for builder in builders:
        for path, content in builder(source).items():
            if path in artifacts:
                raise ReleaseError(f"two release steps both produce {path}")
            if UNMANAGED.intersection(path.split("/")):
                raise ReleaseError(f"{builder.__name__} writes {path}, below an unmanaged entry")
            artifacts[path] = content
    return artifacts
