"""`python -m autograder` is the `optim-grader` command.

`python -m` puts the current folder first on sys.path; run inside a student's folder, that
would import the student's `numpy.py` or `torch/` into the grading process. It is dropped
before anything else is imported (the kit's own folder stays, for a checkout run in place).
"""

import os
import sys

_KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [
    entry
    for entry in sys.path
    if os.path.abspath(entry or os.curdir) != os.getcwd() or os.path.abspath(entry) == _KIT
]

from autograder.cli import run  # noqa: E402  (after sys.path is safe)

run()
