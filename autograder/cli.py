"""The `optim-grader` command (also `python -m autograder`): a thin parser over the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from autograder.catalog import ASSIGNMENTS, Assignment


def _assignment_record(assignment: Assignment) -> dict[str, object]:
    return {
        "name": assignment.name,
        "module": assignment.module,
        "title": assignment.title,
        "max_score": assignment.max_score,
        "functions": [
            {
                "name": f.name,
                "kind": f.kind,
                "points": f.points,
                "torch_equivalent": f.torch_equivalent,
            }
            for f in assignment.functions
        ],
    }


def list_assignments(args: argparse.Namespace) -> int:
    """Print the assignments, their graded functions and points."""
    if args.json:
        print(json.dumps({"assignments": [_assignment_record(a) for a in ASSIGNMENTS]}, indent=2))
        return 0
    for assignment in ASSIGNMENTS:
        print(f"{assignment.name}  ({assignment.module}, {assignment.max_score} points)")
        print(f"  {assignment.title}")
        for f in assignment.functions:
            oracle = f.torch_equivalent or "not in torch: its docstring gives the source"
            print(f"    {f.name:<22} {f.points:>3} pts   {oracle}")
    return 0


def demo(args: argparse.Namespace) -> int:
    """Run every reference optimizer on the problem suite and print the final losses."""
    from autograder.demo import print_reference_table

    print_reference_table(sys.stdout)
    return 0


def release(args: argparse.Namespace) -> int:
    """Regenerate assignments/ from solutions/, or with --check report what is stale."""
    from autograder.release import run_release

    return run_release(check=args.check)


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
    release_parser.set_defaults(run=release)

    demo_parser = commands.add_parser("demo", help="grade the bundled sample class")
    demo_parser.set_defaults(run=demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status
