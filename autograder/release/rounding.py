"""Whether a released expected/ file on disk holds the values release makes now, up to the
rounding of another machine.

torch's kernels round differently on different CPUs (vector widths, libm): expected values
made on one machine differ from another's in their last bits (float32 runs by up to 9e-7 of
their scale, float64 runs by up to 4e-14, between two x86-64 machines), and a run that
overflows may end in inf on one and nan on another. Such a file is not stale; one whose
structure, text or numbers differ by more is. The bound is a sixty-fourth of what grading
accepts for the run's dtype (`compare.relative_tolerance`): far above what rounding does, far
below what could turn a student's verdict.
"""

from __future__ import annotations

import json
import math
from typing import Any

import torch

from autograder.compare import relative_tolerance

SHARE = 1 / 64  # of the grading tolerance of the run's dtype
FLOAT64 = relative_tolerance(torch.float64) * SHARE
FLOAT32 = relative_tolerance(torch.float32) * SHARE


def same_values(disk: bytes, made: bytes) -> bool:
    """Whether two expected/ files (JSON) agree up to another machine's rounding."""
    try:
        return _agree(json.loads(disk), json.loads(made), FLOAT64)
    except (ValueError, RecursionError):
        return False


def _agree(disk: Any, made: Any, tolerance: float) -> bool:
    """`disk` and `made` alike in structure, text and whole numbers, their floats within
    `tolerance` (relative to the largest magnitude of their list); a float32 run's outcome
    (its points in float32) gets float32's tolerance for everything in it."""
    if isinstance(made, dict):
        if not isinstance(disk, dict) or disk.keys() != made.keys():
            return False
        points = made.get("points")
        if isinstance(points, dict) and points.get("dtype") == "float32":
            tolerance = FLOAT32
        return all(_agree(disk[key], made[key], tolerance) for key in made)
    if isinstance(made, list):
        if not isinstance(disk, list) or len(disk) != len(made):
            return False
        if made and all(type(value) is float for value in (*made, *disk)):
            return _close(disk, made, tolerance)
        return all(_agree(a, b, tolerance) for a, b in zip(disk, made, strict=True))
    if type(disk) is float and type(made) is float:
        return _close([disk], [made], tolerance)
    return type(disk) is type(made) and disk == made


def _close(disk: list[float], made: list[float], tolerance: float) -> bool:
    """Floats within `tolerance` of their list's scale, or both not finite: a run that
    overflows may end in inf on one machine and in nan on another."""
    scale = max((abs(v) for v in made if math.isfinite(v)), default=0.0)
    return all(
        abs(a - b) <= tolerance * (abs(b) + scale)
        if math.isfinite(a) and math.isfinite(b)
        else not (math.isfinite(a) or math.isfinite(b))
        for a, b in zip(disk, made, strict=True)
    )
