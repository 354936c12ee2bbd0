"""Gradescope's side of the kit: what setup.sh and run_autograder call inside the container.

`grade NAME` grades $GRADESCOPE_ROOT/submission (default root /autograder) with `optim-grader
grade --format gradescope` in a child process and writes $GRADESCOPE_ROOT/results/results.json:
the grader's results and their execution time, or, when the grader died, hung or wrote no
valid results, a fallback that gives no point. A results.json already there (a forgery) is
removed first and never read.

`lock SOURCE` (setup.sh, as root): the kit's answer key (the reference and the rubrics) and
the autograder's own files in SOURCE become unreadable to other users, so to student code,
which the worker runs as an unprivileged user.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path("/autograder")
GRADE_TIMEOUT = 30 * 60  # seconds: past it, the submission gets the fallback


def gradescope_root() -> Path:
    """$GRADESCOPE_ROOT, else /autograder."""
    return Path(os.environ.get("GRADESCOPE_ROOT") or DEFAULT_ROOT)


def _prepare(root: Path) -> Path:
    """results/ emptied of any results.json, writable by root alone; the submission readable
    (not writable) by the worker's unprivileged user. The path results.json will take."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    target = results / "results.json"
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    if os.geteuid() == 0:
        os.chown(results, 0, 0)
        os.chmod(results, 0o755)
        submission = root / "submission"
        for path in [submission, *submission.rglob("*")] if submission.is_dir() else []:
            if not path.is_symlink():
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return target


def _valid(document: Any) -> bool:
    """Whether `document` is results.json as the grader writes it, with a score it can earn."""
    if not isinstance(document, dict) or not isinstance(document.get("tests"), list):
        return False
    tests = document["tests"]
    if not all(isinstance(t, dict) and isinstance(t.get("max_score"), float) for t in tests):
        return False
    score = document.get("score")
    return isinstance(score, float) and 0 <= score <= sum(t["max_score"] for t in tests) + 1e-9


def _run_grader(name: str, submission: Path) -> tuple[dict[str, Any] | None, str]:
    """The grader's results.json as a dict, or None and the reason it has none."""
    with tempfile.TemporaryDirectory(prefix="optim-grader-") as private:
        out = Path(private) / "results.json"
        command = [
            sys.executable, "-m", "autograder", "grade", str(submission), "--assignment", name,
            "--format", "gradescope", "--out", str(out),
        ]  # fmt: skip
        try:
            finished = subprocess.run(
                command, cwd=private, stdin=subprocess.DEVNULL, timeout=GRADE_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return None, f"the grader did not finish within {GRADE_TIMEOUT} seconds"
        if finished.returncode not in (0, 2):
            return None, f"the grader stopped with exit status {finished.returncode}"
        try:
            document = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None, "the grader wrote no readable results"
    if not _valid(document):
        return None, "the grader's results were not valid"
    return document, ""


def grade(name: str, root: Path) -> int:
    """Grade root/submission on assignment `name` into root/results/results.json."""
    started = time.monotonic()
    target = _prepare(root)
    document, reason = _run_grader(name, root / "submission")
    elapsed = round(time.monotonic() - started)
    if document is None:
        from autograder.reports.gradescope import fallback_results  # imports torch: only now

        text = fallback_results(reason, elapsed)
        print(f"optim-grader: {reason}; wrote a fallback results.json (score 0)")
    else:
        text = json.dumps({**document, "execution_time": elapsed}, indent=2)
        print(f"optim-grader: graded in {elapsed} s: {document['score']} points")
    partial = target.with_name(".results.json.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return 0


def lock(source: Path) -> int:
    """Make the kit's reference and rubrics, and `source`, readable by their owner alone."""
    if os.geteuid() != 0:
        print("optim-grader: not root, so nothing to lock (student code runs as this user)")
        return 0
    import reference
    from autograder.rubric import RUBRICS

    for top in (Path(reference.__file__).parent, RUBRICS, source):
        for path in [top, *top.rglob("*")]:
            if not path.is_symlink():
                os.chmod(path, path.stat().st_mode & 0o700)
    print(f"optim-grader: locked the reference, the rubrics and {source} to root")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.platforms.gradescope")
    steps = parser.add_subparsers(dest="step", required=True)
    grade_parser = steps.add_parser("grade", help="grade the submission into results.json")
    grade_parser.add_argument("assignment")
    lock_parser = steps.add_parser("lock", help="lock the answer key away (setup.sh, as root)")
    lock_parser.add_argument("source", type=Path)
    args = parser.parse_args(argv)
    if args.step == "grade":
        return grade(args.assignment, gradescope_root())
    return lock(args.source)


if __name__ == "__main__":
    sys.exit(main())
