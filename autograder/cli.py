"""The `optim-grader` command (also `python -m autograder`): a thin parser over the subcommands."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from autograder.catalog import ASSIGNMENTS, Assignment
from autograder.commands import EXIT_NOT_GRADED
from autograder.config import CASE_TIME_LIMIT, SUBMISSION_TIME_BUDGET
from autograder.errors import OptimGraderError, UsageError


def _assignment_record(assignment: Assignment, points: Mapping[str, float]) -> dict[str, object]:
    return {
        "name": assignment.name,
        "module": assignment.module,
        "title": assignment.title,
        "max_score": sum(points.values()),
        "functions": [
            {
                "name": f.name,
                "kind": f.kind,
                "points": points[f.name],
                "torch_equivalent": f.torch_equivalent,
            }
            for f in assignment.functions
        ],
    }


def list_assignments(args: argparse.Namespace) -> int:
    """Print the assignments, their graded functions and the points their rubrics give."""
    from autograder.rubric import load_rubric

    points = {a.name: load_rubric(a.name).points for a in ASSIGNMENTS}
    if args.json:
        records = [_assignment_record(a, points[a.name]) for a in ASSIGNMENTS]
        print(json.dumps({"assignments": records}, indent=2))
        return 0
    for assignment in ASSIGNMENTS:
        mine = points[assignment.name]
        print(f"{assignment.name}  ({assignment.module}, {_pts(sum(mine.values()))} points)")
        print(f"  {assignment.title}")
        for f in assignment.functions:
            oracle = f.torch_equivalent or "not in torch: its docstring gives the source"
            print(f"    {f.name:<22} {_pts(mine[f.name]):>3} pts   {oracle}")
    return 0


def _pts(value: float) -> str:
    return f"{value:g}"


def demo(args: argparse.Namespace) -> int:
    """Grade the course's sample class and print its gradebook."""
    from autograder.course import SAMPLE_CLASS, course_root

    sample_class = course_root(args.course, SAMPLE_CLASS) / SAMPLE_CLASS
    from autograder.demo import run_demo  # imports torch: only once the class is found

    run_demo(sys.stdout, sample_class)
    return 0


def release(args: argparse.Namespace) -> int:
    """Regenerate assignments/ from solutions/, or with --check report what is stale."""
    from autograder.course import course_root
    from autograder.release import run_release

    return run_release(check=args.check, root=course_root(args.course, Path("solutions")))


def grade(args: argparse.Namespace) -> int:
    """Grade one submission on the visible and hidden cases."""
    from autograder.catalog import assignment as find_assignment
    from autograder.commands import grade as grade_command
    from autograder.usage import check_formats, check_report_file, check_submission

    _check_limits(args)
    check_submission(Path(args.submission), find_assignment(args.assignment).module)
    formats = check_formats(args.format)
    check_report_file(args.out)
    return grade_command(
        Path(args.submission), args.assignment, formats, args.out, args.case_time_limit,
        args.time_budget,
    )  # fmt: skip


def check(args: argparse.Namespace) -> int:
    """Run the visible cases of the assignment in PATH against its public expected values."""
    from autograder.commands import check as check_command

    return check_command(Path(args.path), args.function, verbose=args.verbose)


def batch(args: argparse.Namespace) -> int:
    """Grade every submission of a class folder into a resumable gradebook."""
    from autograder.commands import batch as batch_command
    from autograder.usage import check_output_folder

    if args.jobs < 1:
        raise UsageError("-j must be a positive number of submissions graded at once")
    _check_limits(args)
    check_output_folder(Path(args.out))
    return batch_command(
        Path(args.submissions), args.assignment, Path(args.out), jobs=args.jobs,
        regrade=args.regrade, students=args.student, case_time_limit=args.case_time_limit,
        time_budget=args.time_budget,
    )  # fmt: skip


def rubric(args: argparse.Namespace) -> int:
    """Validate an assignment's rubric, then grade solutions/ on every case; 1 below full marks."""
    from autograder.course import course_root
    from autograder.rubric_check import check_rubric

    _check_limits(args)
    solutions = course_root(args.course, Path("solutions")) / "solutions"
    return check_rubric(
        args.assignment, args.file, solutions, args.case_time_limit, args.time_budget
    )


def bundle(args: argparse.Namespace) -> int:
    """Write what one platform installs for one assignment into OUT."""
    from autograder.bundles import writer

    writer(args.kind)(args.assignment, Path(args.output))
    print(f"wrote the {args.kind} bundle of {args.assignment} to {args.output}")
    return 0


def export(args: argparse.Namespace) -> int:
    """Write a batch's grades in an LMS's import format, through a roster."""
    from autograder.export import export as export_command

    return export_command(
        args.format, Path(args.out_dir), Path(args.roster), Path(args.output),
        column=args.column, missing_as_zero=args.missing_as_zero,
    )  # fmt: skip


def _add_course(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--course",
        type=Path,
        metavar="DIR",
        help="the course repository (default: the working folder or the one above it that "
        "holds it, else the kit's own checkout)",
    )


def _add_time_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--case-time-limit",
        type=float,
        metavar="SECONDS",
        help=f"wall-clock limit per case (default: {CASE_TIME_LIMIT:g})",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="wall-clock limit for all the cases of one submission "
        f"(default: {SUBMISSION_TIME_BUDGET:g})",
    )


def _check_limits(args: argparse.Namespace) -> None:
    for option, value in (("--case-time-limit", args.case_time_limit),
                          ("--time-budget", args.time_budget)):  # fmt: skip
        if value is not None and not value > 0:
            raise UsageError(f"{option} must be a positive number of seconds, not {value:g}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optim-grader",
        description="Grade students' optimizers and learning-rate schedules.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="the assignments, their functions and points")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(run=list_assignments)

    release_parser = commands.add_parser(
        "release", help="regenerate assignments/ from solutions/ (--check: fail if stale)"
    )
    release_parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if assignments/ is stale"
    )
    _add_course(release_parser)
    release_parser.set_defaults(run=release)

    grade_parser = commands.add_parser("grade", help="grade one submission")
    grade_parser.add_argument("submission", help="a folder, a .py file, a .zip or an .ipynb")
    grade_parser.add_argument("--assignment", required=True, choices=[a.name for a in ASSIGNMENTS])
    grade_parser.add_argument(
        "--format", default="text", help="text, json, gradescope, markdown or html"
    )
    grade_parser.add_argument("--out", type=Path, help="write the report here (default: stdout)")
    _add_time_limits(grade_parser)
    grade_parser.set_defaults(run=grade)

    check_parser = commands.add_parser("check", help="a student's local check of the visible cases")
    check_parser.add_argument(
        "path", nargs="?", default=".", help="the assignment folder or module"
    )
    check_parser.add_argument("--function", help="check this function only")
    check_parser.add_argument(
        "--verbose", action="store_true", help="print every case, passing ones too"
    )
    check_parser.set_defaults(run=check)

    batch_parser = commands.add_parser(
        "batch",
        help="grade a whole class into a resumable gradebook",
        description="Grade every submission in SUBMISSIONS_DIR: each direct child is one "
        "student's folder, .py, .zip or .ipynb, named by the student (hidden entries are "
        "ignored). Each graded submission is committed to DIR/gradebook.sqlite at once; a "
        "re-run grades only new or changed submissions (and those that could not be graded), "
        "then rewrites DIR/grades.csv, DIR/feedback/STUDENT.html and DIR/class_report.html. "
        "A batch that was killed loses nothing it committed: run it again (a submission the "
        "grader died on is then graded alone; one it died on twice alone is reported, not run "
        "again). Exit status: 0 all graded, 1 some could not be graded (each with its reason), "
        "2 SUBMISSIONS_DIR is missing or holds no submission (or none of a --student), or DIR "
        "holds another gradebook.",
    )
    batch_parser.add_argument(
        "submissions", metavar="SUBMISSIONS_DIR", help="one folder, .py, .zip or .ipynb per student"
    )
    batch_parser.add_argument("--assignment", required=True, choices=[a.name for a in ASSIGNMENTS])
    batch_parser.add_argument("--out", required=True, metavar="DIR", help="the output folder")
    batch_parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run the workers of N submissions at once",
    )
    batch_parser.add_argument(
        "--regrade", action="store_true", help="grade every submission again, changed or not"
    )
    batch_parser.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="NAME",
        help="grade this student again and no other (repeatable); the gradebook keeps every "
        "grading, the latest one current",
    )
    _add_time_limits(batch_parser)
    batch_parser.set_defaults(run=batch)

    rubric_parser = commands.add_parser(
        "rubric", help="check a rubric: its schema, then solutions/ earn full marks on it"
    )
    rubric_actions = rubric_parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rubric_check = rubric_actions.add_parser(
        "check",
        help="validate NAME's rubric and grade solutions/ on every case, hidden ones too",
        description="Validate the rubric (unknown keys, types, points, names), then grade the "
        "instructor's solution on every case. Exit status: 0 full marks, 1 the solution loses "
        "points (the rubric would blame students for the kit's own cases), 2 an invalid rubric.",
    )
    rubric_check.add_argument("assignment", metavar="NAME", choices=[a.name for a in ASSIGNMENTS])
    rubric_check.add_argument(
        "--file", type=Path, metavar="TOML", help="the rubric to check (default: the kit's)"
    )
    _add_time_limits(rubric_check)
    _add_course(rubric_check)
    rubric_check.set_defaults(run=rubric)

    bundle_parser = commands.add_parser(
        "bundle", help="what a platform installs: student, gradescope, nbgrader, github"
    )
    bundle_parser.add_argument(
        "kind", metavar="KIND", help="student, gradescope, nbgrader or github"
    )
    bundle_parser.add_argument("assignment", metavar="NAME", choices=[a.name for a in ASSIGNMENTS])
    bundle_parser.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="where to write it"
    )
    bundle_parser.set_defaults(run=bundle)

    export_parser = commands.add_parser(
        "export",
        help="a batch's grades in Canvas's or Moodle's import format, or a plain CSV",
        description="Write the current grades of the batch in OUT_DIR (its gradebook.sqlite) "
        "as FILE, one row per student of ROSTER.csv, a CSV with the column submission (the "
        "name in the class folder) and any of name, id, sis_user_id, sis_login_id, section, "
        "email, idnumber. A student with no grade is left empty (--missing-as-zero: 0); a "
        "graded submission without a roster row is named on stderr. Exit status: 0 every "
        "submission matched, 1 some did not, 2 bad input.",
    )
    export_parser.add_argument("format", choices=["canvas", "moodle", "csv"], metavar="FORMAT")
    export_parser.add_argument("out_dir", metavar="OUT_DIR", help="the --out folder of a batch")
    export_parser.add_argument("--roster", required=True, metavar="ROSTER.csv")
    export_parser.add_argument("-o", "--output", required=True, metavar="FILE")
    export_parser.add_argument(
        "--column", help="the grade column's header (default: the assignment's name)"
    )
    export_parser.add_argument(
        "--missing-as-zero", action="store_true", help="give 0, not an empty cell, to a "
        "student with no grade",
    )  # fmt: skip
    export_parser.set_defaults(run=export)

    demo_parser = commands.add_parser("demo", help="grade the course's sample class")
    _add_course(demo_parser)
    demo_parser.set_defaults(run=demo)
    return parser


def run() -> NoReturn:
    """The `optim-grader` command: exit with main's status once the exit handlers have run
    (the fork server's stop) and the output is flushed, skipping the interpreter's teardown:
    with torch loaded it takes a tenth of a second more, a twentieth of a `check`. Every
    file the kit writes is closed by then."""
    status = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a kit error becomes one line and exit status 2, and any other
    exception is reported as a bug of the kit, its traceback written to a file."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except OptimGraderError as error:
        print(f"optim-grader {args.command}: {error}", file=sys.stderr)
        return EXIT_NOT_GRADED
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # a bug of the kit, or a command this install lacks
        print(f"optim-grader {args.command}: {unexpected(error)}", file=sys.stderr)
        return EXIT_NOT_GRADED
    return status


def unexpected(error: Exception) -> str:
    """What to say of an exception the kit did not raise on purpose: a module of the kit that
    this install lacks (the student checker holds `check` only), else a bug of the kit."""
    missing = error.name if isinstance(error, ModuleNotFoundError) else None
    if missing and missing.split(".")[0] in {"autograder", "reference"}:
        return (
            f"this install does not hold {missing}; the student checker runs "
            "`optim-grader check` only, the instructor's kit runs every command"
        )
    return internal_error(error)


def internal_error(error: Exception) -> str:
    """A short account of a bug of the kit, with the file its full traceback was written to."""
    with tempfile.NamedTemporaryFile(
        "w", prefix="optim-grader-traceback-", suffix=".txt", delete=False
    ) as stream:
        traceback.print_exception(error, file=stream)
    from autograder.worker.messages import one_line

    summary = one_line(f"{type(error).__name__}: {error}", 200)
    return (
        f"internal error of optim-grader ({summary}); the full traceback is in {stream.name}: "
        "please send that file to the course staff"
    )
