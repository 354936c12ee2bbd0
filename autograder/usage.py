"""The checks of a command's arguments that run before any grading: formats, limits and the
paths a command will write, each failing with a UsageError that names the argument and the fix."""

from __future__ import annotations

import os
from pathlib import Path

from autograder.config import REPORT_FORMATS
from autograder.errors import UsageError


def check_formats(given: str) -> list[str]:
    """The formats of `--format a,b`, each one the kit can write."""
    formats = [f.strip() for f in given.split(",") if f.strip()]
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"--format {given!r}: {', '.join(unknown) or 'no format'} is not a report format; "
            f"choose from {', '.join(REPORT_FORMATS)} (several: --format text,json)"
        )
    return formats


def check_report_file(out: Path | None) -> None:
    """`--out FILE`: a file (new or to replace) in a folder that exists and can be written."""
    if out is None:
        return
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name, e.g. --out {out}/report.txt")
    _check_writable_folder(out.parent, f"--out {out}")


def check_output_folder(out: Path) -> None:
    """`--out DIR` of a batch: a folder, or a name a folder can be made at."""
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {out} is a file, not a folder; give a new or existing folder for the "
            "gradebook and the reports"
        )
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is a file; choose a folder path")
    _check_writable_folder(existing, f"--out {out}")


def _check_writable_folder(folder: Path, argument: str) -> None:
    folder = folder if str(folder) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{argument}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{argument}: the folder {folder} cannot be written; choose another")


def check_submission(submission: Path, module: str) -> None:
    """SUBMISSION exists (or names `module` without its suffix, as "solutions/adaptive")."""
    if not submission.exists() and not submission.with_name(module).is_file():
        raise UsageError(
            f"{submission} does not exist; give the student's folder, {module}, .zip or .ipynb"
        )
