"""Bring assignments/ in line with solutions/, or (`--check`) say where it is not.

The whole release is built in memory first, so an error in any solution writes nothing, and
the check is a file-by-file comparison of those bytes with the disk: a file is stale (its bytes
differ, or for expected values, their numbers beyond another machine's rounding: rounding.py),
missing, or a leftover (on disk below assignments/NAME/ but not produced by release).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.errors import ReleaseError
from autograder.public_expected import FOLDER
from autograder.release.artifacts import UNMANAGED, build_assignment, read_source
from autograder.release.rounding import same_values

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RELEASE_DIR = "assignments"

DifferenceKind = Literal["stale", "missing", "leftover"]

_EXPLANATIONS: dict[DifferenceKind, str] = {
    "stale": "stale (differs from what release makes from solutions/)",
    "missing": "missing",
    "leftover": "leftover (release does not produce it)",
}


@dataclass(frozen=True)
class Difference:
    """One file where assignments/ on disk and the release disagree."""

    path: str
    kind: DifferenceKind

    def describe(self) -> str:
        return f"{self.path}: {_EXPLANATIONS[self.kind]}"


def build_release(root: Path, assignments: Sequence[Assignment]) -> dict[str, bytes]:
    """Every released file, keyed by its path from `root`, e.g. 'assignments/gd/README.md'."""
    release: dict[str, bytes] = {}
    for assignment in assignments:
        artifacts = build_assignment(read_source(root, assignment))
        for path, content in artifacts.items():
            release[f"{RELEASE_DIR}/{assignment.name}/{path}"] = content
    return release


def _files_on_disk(root: Path, assignments: Sequence[Assignment]) -> set[str]:
    """The files below each assignments/NAME/, leaving out unmanaged entries at any depth."""
    found: set[str] = set()
    for assignment in assignments:
        folder = root / RELEASE_DIR / assignment.name
        for directory, subdirectories, files in os.walk(folder):
            subdirectories[:] = sorted(d for d in subdirectories if d not in UNMANAGED)
            found.update(
                (Path(directory) / name).relative_to(root).as_posix()
                for name in files
                if name not in UNMANAGED
            )
    return found


def differences(
    root: Path, release: dict[str, bytes], assignments: Sequence[Assignment]
) -> list[Difference]:
    """Where the disk differs from `release`, in path order."""
    found: list[Difference] = []
    on_disk = _files_on_disk(root, assignments)
    for path in sorted(set(release) | on_disk):
        if path not in on_disk:
            found.append(Difference(path, "missing"))
        elif path not in release:
            found.append(Difference(path, "leftover"))
        elif not _same(path, (root / path).read_bytes(), release[path]):
            found.append(Difference(path, "stale"))
    return found


def _same(path: str, disk: bytes, made: bytes) -> bool:
    """Whether the file at `path` on disk holds what release made (expected values: up to
    the rounding of the machine that made them)."""
    if disk == made:
        return True
    return f"/{FOLDER}/" in path and path.endswith(".json") and same_values(disk, made)


def write_release(root: Path, release: dict[str, bytes], found: Sequence[Difference]) -> None:
    """Write the stale and missing files (atomically, each) and remove the leftovers."""
    for difference in found:
        target = root / difference.path
        if difference.kind == "leftover":
            target.unlink()
            _remove_empty_parents(target.parent, root / RELEASE_DIR)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(release[difference.path])
        partial.replace(target)


def _remove_empty_parents(directory: Path, top: Path) -> None:
    while directory != top and directory.parent != top and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def run_release(
    check: bool, root: Path = PROJECT_ROOT, assignments: Sequence[Assignment] = ASSIGNMENTS
) -> int:
    """`optim-grader release [--check]`: 0 when assignments/ is (now) up to date, 1 otherwise.

    With `check`, nothing is written; each stale, missing or leftover file is named on stderr.
    """
    try:
        release = build_release(root, assignments)
    except ReleaseError as error:
        print(f"optim-grader release: {error}", file=sys.stderr)
        return 1
    found = differences(root, release, assignments)
    if check:
        for difference in found:
            print(difference.describe(), file=sys.stderr)
        if found:
            print(
                f"{RELEASE_DIR}/ is stale: run `optim-grader release` to regenerate it",
                file=sys.stderr,
            )
            return 1
        print(f"{RELEASE_DIR}/ is up to date ({len(release)} files)")
        return 0
    write_release(root, release, found)
    for difference in found:
        action = "removed" if difference.kind == "leftover" else "wrote"
        print(f"{action} {difference.path}")
    print(
        f"released {len(assignments)} assignments to {RELEASE_DIR}/: {len(release)} files, "
        f"{len(found)} changed"
    )
    return 0
