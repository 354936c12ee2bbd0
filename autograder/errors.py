"""Every error the kit raises on purpose, under one base class that the CLI catches once.

    OptimGraderError                        explained in one line; the command exits with 2
     ├── UsageError (ValueError)            a bad argument, path or output of a command
     ├── RubricError (ValueError)           a rubric file that cannot be used
     ├── SubmissionError (ValueError)       a submission that cannot be graded as it is
     ├── ClassFolderError (ValueError)      a class folder with nothing to grade in it
     ├── GradebookError (RuntimeError)      a gradebook this batch must not write to
     ├── ReleaseError (ValueError)          solutions/ that cannot be released as they are
     ├── BundleError (ValueError)           a platform bundle that cannot be written as asked
     ├── WorkerError (RuntimeError)         the worker did not start: the kit's or the machine's
     ├── ProtocolError (ValueError)         a worker's message that breaks the wire format
     ├── ChannelClosed (EOFError)           the worker closed its pipe before a message ended
     └── ChannelTimeout (TimeoutError)      a message did not arrive before its deadline

Signals that end a case early are not errors and stay beside their one user: `CaseStop`
(worker/child/reply.py), `LoadFailure` (worker/host/session.py), `HostRoundTrip` and
`MixedDevices` (worker/child/emulated_gpu.py, shaped as torch's own RuntimeErrors) and
`NotImplementedYet` (experiments.py, which notebooks show in one line).
Any other exception that reaches the CLI is a bug of the kit: it says so, and where the
traceback was written.
"""

from __future__ import annotations


class OptimGraderError(Exception):
    """A problem the kit explains in one line: the thing, what is wrong, and the fix."""


class UsageError(OptimGraderError, ValueError):
    """A command given a bad argument, path or output; the message names it and the fix."""


class RubricError(OptimGraderError, ValueError):
    """A rubric file that cannot be used; the message names the file, the entry and the fix."""


class SubmissionError(OptimGraderError, ValueError):
    """A submission the kit cannot grade as it is; the message says what to submit instead."""


class ClassFolderError(OptimGraderError, ValueError):
    """The class folder itself cannot be graded (missing, not a folder, no submission)."""


class GradebookError(OptimGraderError, RuntimeError):
    """A gradebook file this batch must not write to; the message says what to do."""


class ReleaseError(OptimGraderError, ValueError):
    """solutions/ cannot be released as it is; the message names the file, the line and the fix."""


class BundleError(OptimGraderError, ValueError):
    """A bundle that cannot be written as asked; the message names the thing and the fix."""


class WorkerError(OptimGraderError, RuntimeError):
    """The worker could not start at all: a problem of the kit or the machine, not the student."""


class ProtocolError(OptimGraderError, ValueError):
    """A message that breaks the wire format: its sender is not a well-behaved worker."""


class ChannelClosed(OptimGraderError, EOFError):
    """The other end closed the pipe (the worker exited) before a message was complete."""


class ChannelTimeout(OptimGraderError, TimeoutError):
    """A message did not arrive before its deadline."""
