"""`optim-grader batch`: grade a whole class into a gradebook that a crash cannot lose.

    result = run_batch(Path("submissions"), "adaptive", Path("grades"), jobs=2)

discover.py finds one submission per student, gradebook.py keeps every grading in SQLite
(one transaction each; schema.py holds its tables and migrates older ones), run.py grades in
threads and resumes where a run stopped, and outputs.py regenerates grades.csv, the feedback
pages and the class report (class_report.py) from each student's current grading.
"""

from autograder.batch.discover import ClassEntry, discover
from autograder.batch.gradebook import open_gradebook
from autograder.batch.run import BatchResult, run_batch

__all__ = [
    "BatchResult",
    "ClassEntry",
    "discover",
    "open_gradebook",
    "run_batch",
]
