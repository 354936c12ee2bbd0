"""Run a student's functions in a separate worker process and bring back checked outcomes.

    outcomes = run_cases(module_path, [CaseRequest("adam", "optimizer", "quadratic_2d",
                                                   {"lr": 0.1})])

The grading process never unpickles or evaluates what the worker sends: arrays travel as raw
bytes with a checked dtype and shape (protocol.py), and every reply field is validated
(replies.py). The worker (child/main.py) imports torch and the student's module once and runs
the cases one by one (runners.py); a case that times out, kills the worker or answers garbage
gets its own status and a fresh worker for the rest (session.py). launch.py alone starts and
stops the process, forked by the fork server (forks.py) or cold.

The names below are imported on first use, so that importing a part of the package (the
fork server's client, which starts before anything imports torch) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.worker.host.replies import receive_outcome
    from autograder.worker.host.session import Shared, load_errors, run_cases, run_in_workers
    from autograder.worker.records import CaseOutcome, CaseRequest

__all__ = [
    "CaseOutcome",
    "CaseRequest",
    "Shared",
    "load_errors",
    "receive_outcome",
    "run_cases",
    "run_in_workers",
]

_HOMES = {
    "CaseOutcome": "autograder.worker.records",
    "CaseRequest": "autograder.worker.records",
    "Shared": "autograder.worker.host.session",
    "load_errors": "autograder.worker.host.session",
    "run_in_workers": "autograder.worker.host.session",
    "receive_outcome": "autograder.worker.host.replies",
    "run_cases": "autograder.worker.host.session",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
