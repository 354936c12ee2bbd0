"""How fast the kit grades, beside its targets: a class through `batch -j 2`, the cost of
isolation, nbgrader's autograde of the same students, `check`, one `grade`, peak memory.

    .venv/bin/python benchmarks/grading_speed.py [--students 200] [--repeats 3]
        [--assignment gradient_descent] [--nbgrader-students 2] [--out figures.json]

The class cycles through the solution, the solution with each known bug (written as students
write them, tests/fixtures/students/), a module that does not parse, and a hostile one that
hangs. Figures are medians of `--repeats` runs, each a fresh process; the machine is noisy,
so each batch is followed by its in-process run, and the isolation overhead is the median of
their ratios.
The default class has the 200 students of the throughput target; a smaller one shows the
fixed costs more (importing torch, each hanging student's limits). The kit's modules are
compiled to bytecode first, as pip compiles an installed wheel's.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.catalog import ASSIGNMENTS  # noqa: E402
from autograder.catalog import assignment as find_assignment  # noqa: E402
from tests.fixtures.students.apply_mutation import mutate  # noqa: E402

GRADER = [sys.executable, "-m", "autograder"]
TARGETS = {  # figure: (target, "<" the figure must stay under it, ">" above it)
    "seconds_per_submission": (60 / 200, "<"),
    "isolation_overhead": (1.5, "<"),
    "nbgrader_ratio": (10.0, ">"),
    "check_seconds": (2.0, "<"),
    "grade_seconds": (2.5, "<"),
    "batch_peak_memory_gb": (2.0, "<"),
}
BROKEN = "def broken(:\n"
HANGING = ROOT / "tests" / "fixtures" / "hostile" / "hanging" / "gradient_descent.py"


def compile_the_kit() -> None:
    """Write the bytecode of the kit's modules, as pip does when it installs the wheel: from a
    checkout where nothing writes it (PYTHONDONTWRITEBYTECODE), every process the kit starts
    would compile them again (about 0.4 s of a `check`), which no installed kit does. The
    packages are the wheel's, as pyproject.toml lists them ("autograder*", "reference*")."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        compileall.compile_dir(ROOT / pattern.removesuffix("*"), quiet=1)


def class_sources(assignment: str, students: int) -> list[str]:
    """`students` module texts: the solution, each known bug, a broken and a hostile one."""
    solution = (ROOT / "solutions" / find_assignment(assignment).module).read_text()
    mutations = importlib.import_module(f"tests.fixtures.students.{assignment}_mutations")
    buggy = [
        mutate(solution, bug.split("/")[0], edits) for bug, edits in mutations.MUTATIONS.items()
    ]
    kinds = [solution, *buggy, BROKEN]
    if assignment == "gradient_descent":
        kinds.append(HANGING.read_text())
    return [kinds[i % len(kinds)] for i in range(students)]


# nbgrader calls its own tools (alembic) by name: the kit's environment comes first on PATH.
ENVIRONMENT = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
}


def timed(command: Sequence[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=False, env=ENVIRONMENT)
    return time.perf_counter() - start


def median(run: Callable[[], float], repeats: int) -> float:
    return statistics.median(run() for _ in range(repeats))


def batch_seconds(folder: Path, assignment: str, scratch: Path) -> float:
    out = scratch / f"out-{time.monotonic_ns()}"
    return timed([*GRADER, "batch", str(folder), "--assignment", assignment, "--out", str(out),
                  "-j", "2", "--case-time-limit", "2"])  # fmt: skip


def in_process_seconds(folder: Path, assignment: str) -> float:
    """The same student functions on the same cases, in this process, with no worker."""
    from autograder.rubric import load_rubric
    from autograder.worker.child.runners import Student, run_case

    rubric = load_rubric(assignment)
    start = time.perf_counter()
    for entry in sorted(folder.iterdir()):
        source = (entry / find_assignment(assignment).module).read_text()
        if source in (BROKEN, HANGING.read_text()):
            continue  # neither runs: one never imports, the other never returns
        module = type(sys)("student")
        exec(compile(source, str(entry), "exec"), module.__dict__)
        for case in rubric.cases:
            if case.unavailable is None:
                run_case(Student(module, entry / "module.py"), case.student_request)
    return time.perf_counter() - start


def nbgrader_seconds_per_submission(sources: list[str], assignment: str, scratch: Path) -> float:
    """Seconds per submission of `nbgrader autograde` through the kit's nbgrader bundle."""
    course = scratch / "nbgrader-course"
    subprocess.run([*GRADER, "bundle", "nbgrader", assignment, "-o", str(course)], check=True,
                   capture_output=True)  # fmt: skip
    nbgrader = [str(Path(sys.executable).parent / "nbgrader")]
    subprocess.run([*nbgrader, "generate_assignment", assignment, "--force"], cwd=course,
                   check=True, capture_output=True, env=ENVIRONMENT)  # fmt: skip
    for number, source in enumerate(sources):
        folder = course / "submitted" / f"student{number}" / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(notebook_of(course, assignment, source))
    took = timed([*nbgrader, "autograde", assignment, "--force"], cwd=course)
    return took / len(sources)


def notebook_of(course: Path, assignment: str, source: str) -> str:
    """The released nbgrader notebook with each solution cell holding the student's function
    of that name (and the module's imports); a module that does not parse fills the first."""
    notebook = json.loads((course / "release" / assignment / f"{assignment}.ipynb").read_text())
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    nodes = [] if tree is None else tree.body
    imports = "\n".join(
        str(ast.get_source_segment(source, n))
        for n in nodes
        if isinstance(n, ast.Import | ast.ImportFrom)
    )
    functions = {
        n.name: f"{imports}\n\n{ast.get_source_segment(source, n)}"
        for n in nodes
        if isinstance(n, ast.FunctionDef)
    }
    solution_cells = [
        c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution")
    ]
    for number, cell in enumerate(solution_cells):
        name = cell["metadata"]["nbgrader"].get("grade_id")
        cell["source"] = functions.get(name, source if tree is None and number == 0 else "")
    return json.dumps(notebook)


def check_seconds(repeats: int, scratch: Path) -> dict[str, float]:
    found = {}
    for graded in ASSIGNMENTS:
        folder = scratch / f"check-{graded.name}"
        shutil.copytree(ROOT / "assignments" / graded.name, folder)
        shutil.copy(ROOT / "solutions" / graded.module, folder / graded.module)
        found[graded.name] = median(lambda f=folder: timed([*GRADER, "check"], f), repeats)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--assignment", default="gradient_descent")
    parser.add_argument("--nbgrader-students", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("grading_speed.json"))
    args = parser.parse_args()
    compile_the_kit()
    figures: dict[str, object] = {"students": args.students, "assignment": args.assignment}
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        folder = scratch / "class"
        sources = class_sources(args.assignment, args.students)
        for number, source in enumerate(sources):
            (folder / f"student{number:03d}").mkdir(parents=True)
            (folder / f"student{number:03d}" / find_assignment(args.assignment).module).write_text(
                source
            )
        pairs = [
            (batch_seconds(folder, args.assignment, scratch),
             in_process_seconds(folder, args.assignment))
            for _ in range(args.repeats)
        ]  # fmt: skip
        batch = statistics.median(graded for graded, _ in pairs)
        figures["batch_seconds"] = batch
        figures["batch_runs"] = [graded for graded, _ in pairs]
        figures["seconds_per_submission"] = batch / args.students
        figures["batch_peak_memory_gb"] = (
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        )
        figures["in_process_seconds"] = statistics.median(bare for _, bare in pairs)
        figures["in_process_runs"] = [bare for _, bare in pairs]
        # each batch beside the in-process run right after it: both see the machine alike
        figures["isolation_overhead"] = statistics.median(graded / bare for graded, bare in pairs)
        solution = ROOT / "solutions" / find_assignment(args.assignment).module
        figures["grade_seconds"] = median(
            lambda: timed(
                [
                    *GRADER,
                    "grade",
                    str(solution),
                    "--assignment",
                    args.assignment,
                    "--format",
                    "json",
                ]
            ),
            args.repeats,
        )
        checks = check_seconds(args.repeats, scratch)
        figures["check_seconds_per_assignment"] = checks
        figures["check_seconds"] = max(checks.values())
        if args.nbgrader_students and shutil.which(
            "nbgrader", path=str(Path(sys.executable).parent)
        ):
            kept = sources[: args.nbgrader_students]
            nbgrader = nbgrader_seconds_per_submission(kept, args.assignment, scratch)
            figures["nbgrader_seconds_per_submission"] = nbgrader
            figures["nbgrader_ratio"] = nbgrader / figures["seconds_per_submission"]  # type: ignore[operator]
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    for name, (target, sense) in TARGETS.items():
        value = figures.get(name)
        shown = "not measured" if value is None else f"{value:.3g}"
        met = value is not None and (value < target if sense == "<" else value > target)
        print(f"{name:<28}{shown:>14}   target {sense} {target:g}   {'met' if met else 'NOT met'}")
    print(f"all figures in {args.out}")


if __name__ == "__main__":
    main()
