"""The kit in an nbgrader grade cell: grade one function of the notebook being autograded.

    from autograder.nbgrader_cell import grade

    grade("gradient_descent", "momentum", points=10)

As a grade cell's last expression it takes the cells the kernel has run so far (IPython's raw
input history, in the order they ran, so a cell's number is its `In [N]`), grades the function
on its visible and hidden cases exactly as `optim-grader grade` grades a notebook (student code
runs in the kit's worker, never in the kernel), prints the feedback to stdout and returns the
points earned: nbgrader's partial credit is a grade cell's value. Nothing reaches stderr, not
even a warning, since nbgrader gives no point to a cell that writes there.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

__all__ = ["executed_cells", "grade", "grade_cells"]


def grade(assignment: str, function: str, *, points: float) -> float:
    """Grade `function` of `assignment` as the kernel defined it; print the feedback, return
    the points earned out of `points` (the grade cell's points)."""
    report_text, fraction = grade_cells(executed_cells(), assignment, function)
    print(report_text, end="")
    return round(points * fraction, 6)


def executed_cells() -> list[tuple[int, str]]:
    """The kernel's raw input history: (execution count, cell source), in the order they ran."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("grade() runs in a grade cell of a notebook, inside its kernel")
    history: Sequence[str] = shell.history_manager.input_hist_raw
    return [(count, source) for count, source in enumerate(history) if count > 0]


def grade_cells(
    cells: Sequence[tuple[int, str]], assignment: str, function: str
) -> tuple[str, float]:
    """The text feedback on `function` and the fraction of its points earned, for the
    notebook made of `cells` (numbered as given); quiet on stderr, warnings included."""
    from autograder.worker.host.forks import warm_up

    warm_up()  # the fork server imports torch while the kernel loads the reference
    from autograder.expectations import shared_reference
    from autograder.grading import grade_submission
    from autograder.reports import render
    from autograder.rubric import load_rubric

    with _scratch_notebook(cells, f"{assignment}.ipynb") as notebook, _quiet():
        report = grade_submission(
            notebook, load_rubric(assignment), shared_reference(), functions=[function]
        )
    report = replace(report, submission=notebook.name)
    fraction = report.score / report.max_score if report.max_score > 0 else 0.0
    return render(report, "text"), min(max(fraction, 0.0), 1.0)


@contextlib.contextmanager
def _scratch_notebook(cells: Sequence[tuple[int, str]], name: str) -> Iterator[Path]:
    """A notebook of `cells` whose cell N is the N-th given (gaps filled with empty cells),
    in a temporary folder that is removed afterwards."""
    numbered = dict(cells)
    count = max(numbered, default=0)
    document = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": numbered.get(n, "")}
            for n in range(1, count + 1)
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    folder = Path(tempfile.mkdtemp(prefix="optim-grader-nbgrader-"))
    try:
        notebook = folder / name
        notebook.write_text(json.dumps(document), encoding="utf-8")
        yield notebook
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warning shown and nothing written to stderr, by Python or by a child process (the
    kernel forwards what reaches its fd 2 to the notebook as stderr)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
