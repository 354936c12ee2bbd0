"""The kit's limits, defaults and places, each defined once: the CLI's defaults, the grading
process, the worker and the tests all read them from here."""

from __future__ import annotations

from pathlib import Path

import autograder

PACKAGE = Path(autograder.__file__).resolve().parent
KIT_ROOT = PACKAGE.parent  # the folder that holds the package: a checkout, or site-packages

CASE_TIME_LIMIT = 10.0  # seconds of wall clock per case, and for importing the module
DEMO_CASE_TIME_LIMIT = 2.0  # the sample class has students whose code never returns
SUBMISSION_TIME_BUDGET = 60.0  # seconds of wall clock for all the cases of one submission
LIMIT_AFTER_A_TIMEOUT = 1.0  # seconds per case once a case of the submission has timed out
# Workers at once for a submission graded alone (grade, check), cores allowing; its
# efficiency cases, timed by the wall clock, then run in a worker of their own, alone.
WORKERS_ALONE = 2
WORKER_START_TIME_LIMIT = 120.0  # seconds for a worker to import torch: the kit's to pay

REPORT_FORMATS = ("text", "json", "gradescope", "markdown", "html")  # what --format takes

MAX_STATE_KEY = 200  # characters of a state entry's name that travel back from the worker


def dtype_name(dtype: object) -> str:
    """'float32' for torch.float32: how messages and files name a dtype."""
    return str(dtype).removeprefix("torch.")
