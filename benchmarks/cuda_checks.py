"""The checks that need a GPU, in one run for a machine that has one: the CUDA tests
(tests/autograder/test_device.py, tests/reference/test_swats.py) and the rubrics' efficiency
cases on the GPU (10 million coordinates), the same cases on the CPU beside them. It prints
each figure and writes them all to a JSON file. Without CUDA the tests skip and the GPU
cases are "unavailable": the CPU column is still measured.

    .venv/bin/python benchmarks/cuda_checks.py [--out cuda_checks.json] [--size N]
        [--assignment NAME ...] [--no-tests] [--test-timeout 300]

`--size` replaces the cases' size (a quick run); every case runs on the solution, through
the grader's own workers, and gets the grading process's verdict (time and values).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from autograder.catalog import ASSIGNMENTS  # noqa: E402
from autograder.catalog import assignment as find_assignment  # noqa: E402
from autograder.expectations import shared_reference  # noqa: E402
from autograder.measured_checks import efficiency_verdict, time_limit, with_secret_seed  # noqa: E402
from autograder.rubric import load_rubric  # noqa: E402
from autograder.worker import CaseRequest, run_cases  # noqa: E402

CUDA_TESTS = ("tests/autograder/test_device.py", "tests/reference/test_swats.py")
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?)")


def cuda_tests(timeout: float) -> dict[str, Any]:
    """pytest's counts and seconds for the CUDA tests."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CUDA_TESTS],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"timed_out": True, "seconds": timeout}
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {kind.rstrip("s"): int(number) for number, kind in SUMMARY.findall(last)}
    return {**counts, "exit": done.returncode, "seconds": time.perf_counter() - started}


def efficiency_requests(name: str, size: int | None) -> list[CaseRequest]:
    """The rubric's efficiency cases on the GPU (at `size` coordinates, when given)."""
    requests = [
        case.student_request
        for case in load_rubric(name).cases
        if case.student_request.measure == "efficiency" and case.student_request.device == "cuda"
    ]
    return [with_secret_seed(r if size is None else replace(r, size=size)) for r in requests]


def efficiency_figures(name: str, size: int | None) -> list[dict[str, Any]]:
    """Each GPU efficiency case of the assignment run on its solution, on the GPU and on the
    CPU: the round trip, the limit it must stay under, and the verdict."""
    solution = ROOT / "solutions" / find_assignment(name).module
    figures = []
    for device in ("cuda", "cpu"):
        requests = [replace(r, device=device) for r in efficiency_requests(name, size)]
        for outcome in run_cases(solution, requests):
            request = outcome.request
            verdict = (
                efficiency_verdict(outcome, shared_reference())[0] if outcome.ok else outcome.status
            )
            figures.append({
                "assignment": name, "function": request.function, "device": device,
                "size": request.size, "seconds": outcome.elapsed,
                "limit": time_limit(request), "verdict": verdict,
            })  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("cuda_checks.json"))
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--assignment", action="append", choices=[a.name for a in ASSIGNMENTS])
    parser.add_argument("--no-tests", action="store_true")
    parser.add_argument("--test-timeout", type=float, default=300.0)
    args = parser.parse_args()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print(f"GPU: {device or 'none (the CUDA tests skip, the GPU cases are unavailable)'}")
    figures: dict[str, Any] = {"gpu": device, "torch": torch.__version__}
    if not args.no_tests:
        figures["cuda_tests"] = cuda_tests(args.test_timeout)
        print(f"CUDA tests: {figures['cuda_tests']}")
    names = args.assignment or [a.name for a in ASSIGNMENTS]
    figures["efficiency"] = [row for name in names for row in efficiency_figures(name, args.size)]
    for row in figures["efficiency"]:
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.3f} s"
        where = f"{row['assignment']:<18}{row['function']:<12}{row['device']:<6}{row['size']:>11,}"
        print(f"{where}{seconds:>10}   limit {row['limit']:.2f} s   {row['verdict']}")
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"all figures in {args.out}")


if __name__ == "__main__":
    main()
