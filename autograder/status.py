"""How a case ended: one vocabulary from the worker's reply to the reports.

The worker answers a case with "ran" (it ran to its end) or a failure; the grading process
turns "ran" into "passed" or "diverged" (values compared), "modified_input" (the purity
check), every case of a function whose code called torch.optim or the kit into "delegated"
(unless its rubric allows it), an error case whose call did not raise into "missing_error",
and a case this machine cannot run into "skipped" (worth nothing) or "unavailable" (the
rubric says it fails). Every other status is a failure named by the worker or by the grading
process when the worker could not answer (timeout, crashed, invalid_reply), or "unvouched":
a purity, device or efficiency check passed by a function whose values are wrong (a
placeholder, or code that forges the worker's report, passes them all).
"""

from __future__ import annotations

from typing import Literal

Status = Literal[
    "ran",
    "passed",
    "diverged",
    "modified_input",
    "delegated",
    "missing_error",
    "skipped",
    "unavailable",
    "not_implemented",
    "missing_function",
    "wrong_signature",
    "raised",
    "bad_return",
    "timeout",
    "crashed",
    "invalid_reply",
    "load_error",
    "host_sync",
    "wrong_device",
    "slow",
    "unvouched",
]
