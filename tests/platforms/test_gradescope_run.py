"""run_autograder's engine (autograder/platforms/gradescope.py) when the grader fails: it
died, or wrote results that are not its own. Each time results.json is valid and gives no
point; a results.json that was there before is never kept. The grader is replaced by a script
that plays the failure, so these run in a moment."""

import json
import sys
from pathlib import Path

import pytest

from autograder.platforms import gradescope
from tests.platforms.results_schema import validate_results

TEST = {"name": "gd/p", "score": 2.0, "max_score": 2.0, "status": "passed"}
VALID = {"score": 2.0, "output": "", "stdout_visibility": "hidden", "tests": [TEST]}

# Each grader: a shell script standing for `python -m autograder grade ... --out FILE`.
GRADERS = {
    "killed": ("kill -9 $$", None),
    "timed-out": ("sleep 5", None),
    "forged-score": (
        f"printf '%s' '{json.dumps({**VALID, 'score': 1000.0})}' > \"${{@: -1}}\"",
        None,
    ),
    "not-json": ("echo 'results' > \"${@: -1}\"", None),
    "honest": (f"printf '%s' '{json.dumps(VALID)}' > \"${{@: -1}}\"", 2.0),
}


@pytest.mark.parametrize("grader", GRADERS, ids=GRADERS)
def test_results_are_valid_and_earn_only_what_the_grader_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grader: str
) -> None:
    script, score = GRADERS[grader]
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!/usr/bin/env bash\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    monkeypatch.setattr(gradescope, "GRADE_TIMEOUT", 1)
    (tmp_path / "submission").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text('{"score": 1000.0}')
    assert gradescope.grade("gradient_descent", tmp_path) == 0
    document = json.loads((tmp_path / "results" / "results.json").read_text())
    validate_results(document)
    assert isinstance(document["execution_time"], int)
    if score is None:
        assert document["score"] == 0.0 and document["tests"] == []
        assert "Could not grade" in document["output"]
    else:
        assert document["score"] == score and document["tests"] == VALID["tests"]
