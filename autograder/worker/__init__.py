"""Run a student's functions in a separate worker process and bring back checked outcomes.

    outcomes = run_cases(module_path, [CaseRequest("adam", "optimizer", "quadratic_2d",
                                                   {"lr": 0.1})])

The grading process never unpickles or evaluates what the worker sends: arrays travel as raw
bytes with a checked dtype and shape (protocol.py), and every reply field is validated
(replies.py). The worker (child.py) imports torch and the student's module once and runs the
cases one by one (execute.py); a case that times out, kills the worker or answers garbage gets
its own status and a fresh worker for the rest (session.py). launch.py alone starts and stops
the process.
"""

from autograder.worker.host.replies import receive_outcome
from autograder.worker.host.session import Shared, run_cases
from autograder.worker.records import CaseOutcome, CaseRequest

__all__ = [
    "CaseOutcome",
    "CaseRequest",
    "Shared",
    "receive_outcome",
    "run_cases",
]
