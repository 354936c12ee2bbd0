"""The students' HTML feedback page from `optim-grader batch`: failures grouped and worded,
the GPU cases this machine could not run said once, and hidden cases only by number; the
instructor's page from `grade --format html` keeps what the hidden cases were."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.cli import main

STUDENTS = Path(__file__).resolve().parents[1] / "fixtures" / "students"
HIDDEN_PROBLEM = "logistic_regression@3"  # a problem only the hidden cases use


@pytest.mark.slow
def test_the_student_page_hides_hidden_cases_and_speaks_in_words(tmp_path: Path, capsys):
    class_folder = tmp_path / "class"
    for student in ("rule_breaker", "delegating"):
        (class_folder / student).mkdir(parents=True)
        shutil.copy(STUDENTS / student / "gradient_descent" / "gradient_descent.py",
                    class_folder / student)  # fmt: skip
    out = tmp_path / "out"
    assert main(["batch", str(class_folder), "--assignment", "gradient_descent",
                 "--out", str(out)]) == 0  # fmt: skip
    page = (out / "feedback" / "rule_breaker.html").read_text()
    assert "hidden case 1 of momentum: failed" in page
    assert HIDDEN_PROBLEM not in page and ", hidden case</span>" not in page
    for code in ("host_sync", "modified_input", "missing_error", "not_implemented"):
        assert code not in page, code
    assert "reads values back to the CPU" in page and "accepts invalid hyperparameters" in page
    assert "The same in" in page
    assert page.count("Not run on this machine: needs CUDA") <= 1
    capsys.readouterr()
    main(["grade", str(class_folder / "rule_breaker"), "--assignment", "gradient_descent",
          "--format", "html"])  # fmt: skip
    instructor = capsys.readouterr().out
    assert ", hidden case</span>" in instructor and "hidden case 1 of" not in instructor
