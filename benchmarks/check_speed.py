"""How long a student waits for `optim-grader check`, and an instructor for `grade`.

Prints the median wall-clock time of each command over several runs, as a new process each
time (what a student's shell does), on every assignment with the solution in place.
Target: check under 3 s for a whole assignment on the development machine (2 cores).

    .venv/bin/python benchmarks/check_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.catalog import ASSIGNMENTS  # noqa: E402

CHECK_TARGET_S = 3.0


def wall_time(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    grader = [sys.executable, "-m", "autograder"]
    print(f"median of {runs} runs, each a fresh process")
    print(f"{'assignment':<18}{'check':>9}{'vs 3 s':>9}{'grade':>9}{'functions':>11}")
    with tempfile.TemporaryDirectory() as scratch:
        for assignment in ASSIGNMENTS:
            folder = Path(scratch) / assignment.name
            shutil.copytree(ROOT / "assignments" / assignment.name, folder)
            shutil.copy(ROOT / "solutions" / assignment.module, folder / assignment.module)
            check = statistics.median(wall_time([*grader, "check"], folder) for _ in range(runs))
            grade_command = [*grader, "grade", ".", "--assignment", assignment.name]
            grade = statistics.median(
                wall_time([*grade_command, "--format", "json"], folder) for _ in range(runs)
            )
            functions = len(assignment.functions)
            print(
                f"{assignment.name:<18}{check:>8.2f}s{check / CHECK_TARGET_S:>8.2f}x"
                f"{grade:>8.2f}s{functions:>11}"
            )


if __name__ == "__main__":
    main()
