"""`python -m autograder.github_action [PATH] [--html FILE]`: the grading step of the GitHub
Classroom workflow that `optim-grader bundle github` writes.

It grades the student's module on the visible cases against the public expected values (what
`optim-grader check` runs; the hidden cases are never in a student's repository), then hands
each part of the result to what GitHub reads:

    $GITHUB_STEP_SUMMARY   the Markdown report: score table, then per failing function the
                           first divergence and the diagnosed mistake
    stdout                 one `::error file=...,line=...::` annotation per failing function,
                           on the line that defines it in the student's module
    FILE                   the HTML feedback, for the workflow's artifact upload
    $GITHUB_OUTPUT         `result`: base64 of the JSON that GitHub Classroom's
                           autograding-grading-reporter decodes ({version, status, max_score,
                           tests: [{name, status, score, message, ...}]}); Classroom adds up
                           the tests' scores out of max_score

Exit status 0 when graded, whatever the score (the reporter step fails the job when a test
fails); 2 when PATH holds no assignment.
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from autograder.commands import EXIT_GRADED, EXIT_NOT_GRADED, find_assignment, visible_report
from autograder.reports import render
from autograder.reports.scores import shown_scores
from autograder.results import GradeReport

RUNNER = "optimgrader"  # the grading step's id; the reporter reads env OPTIMGRADER_RESULTS
RESULT_VERSION = 1
DEFAULT_HTML = "feedback/feedback.html"


def classroom_result(
    report: GradeReport, filename: str, lines: dict[str, int]
) -> dict[str, object]:
    """The reporter's JSON: one test per graded function, scored in the feedback's cents."""
    shown = shown_scores(report)
    failed = "error" if report.errors else "fail"
    tests = [
        {
            "name": result.function,
            "status": "pass" if result.passed and not report.errors else failed,
            "score": float(scores.score),
            "max_score": float(scores.max_score),
            "message": "; ".join(report.errors) or result.headline,
            "filename": filename,
            "line_no": lines.get(result.function, 0),
            "test_code": f"optim-grader check --function {result.function}",
        }
        for result, scores in zip(report.functions, shown.functions, strict=True)
    ]
    passed = all(test["status"] == "pass" for test in tests)
    return {
        "version": RESULT_VERSION,
        "status": "pass" if passed else failed,
        "max_score": float(shown.total.max_score),
        "tests": tests,
    }


def encoded(result: dict[str, object]) -> str:
    """`result` as the step output holds it: base64 of its UTF-8 JSON."""
    return base64.b64encode(json.dumps(result).encode("utf-8")).decode("ascii")


def locate(source: str) -> tuple[dict[str, int], int]:
    """{function: the line of its `def`} for the module's top-level functions, and the line
    to put a load error on: the syntax error's line, else 1."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return {}, error.lineno or 1
    lines = {
        node.name: node.lineno
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    return lines, 1


def error_commands(
    report: GradeReport, filename: str, lines: dict[str, int], load_line: int
) -> list[str]:
    """A workflow `::error` command per load error (on `load_line`) and per failing function
    (on its `def`)."""
    found = [_error(filename, load_line, "could not grade", error) for error in report.errors]
    found += [
        _error(filename, lines.get(result.function, 1), f"{result.function} fails", result.headline)
        for result in report.functions
        if not result.passed and not report.errors
    ]
    return found


def _error(filename: str, line: int, title: str, message: str) -> str:
    return (
        f"::error file={_property(filename)},line={line},title={_property(title)}::{_data(message)}"
    )


def _data(text: str) -> str:
    """`text` escaped as a workflow command's message (GitHub's toolkit escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """`text` escaped as a workflow command's property (GitHub's toolkit escapeProperty)."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _append(variable: str, text: str) -> bool:
    """Append `text` to the file that environment `variable` names; False when unset."""
    target = os.environ.get(variable)
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as stream:
        stream.write(text)
    return True


def run(path: Path, html: Path) -> int:
    """Grade the assignment at `path` and write each GitHub channel; the exit status."""
    try:
        assignment, folder = find_assignment(path)
    except FileNotFoundError as error:
        print(f"::error title=optim-grader::{_data(str(error))}")
        _append("GITHUB_OUTPUT", "result=" + encoded(_unloaded(str(error))) + "\n")
        return EXIT_NOT_GRADED
    module = path if path.is_file() else folder / assignment.module
    report = visible_report(assignment, folder, module)
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    filename = os.path.relpath(module.resolve(), workspace.resolve())
    lines, load_line = locate(module.read_text(encoding="utf-8", errors="replace"))
    markdown = render(report, "markdown")
    if not _append("GITHUB_STEP_SUMMARY", markdown + "\n"):
        print(markdown)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render(report, "html"), encoding="utf-8")
    for line in error_commands(report, filename, lines, load_line):
        print(line)
    _append("GITHUB_OUTPUT", "result=" + encoded(classroom_result(report, filename, lines)) + "\n")
    return EXIT_GRADED


def _unloaded(reason: str) -> dict[str, object]:
    """The reporter's JSON when there was nothing to grade: one test, errored."""
    test = {"name": "optim-grader", "status": "error", "score": 0, "message": reason}
    return {"version": RESULT_VERSION, "status": "error", "max_score": 0, "tests": [test]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.github_action",
        description="Grade the visible cases in a GitHub Actions job: job summary, "
        "annotations, HTML feedback and the `result` output for GitHub Classroom.",
    )
    parser.add_argument("path", nargs="?", default=".", help="the assignment folder or module")
    parser.add_argument("--html", default=DEFAULT_HTML, help=f"default: {DEFAULT_HTML}")
    args = parser.parse_args(argv)
    return run(Path(args.path), Path(args.html))


if __name__ == "__main__":
    sys.exit(main())
