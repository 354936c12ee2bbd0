"""Every report format on hand-built grade reports: shapes, escaping, hidden cases, plots."""

from __future__ import annotations

import json
import re

import pytest

from autograder.compare import Divergence
from autograder.reports import FORMATS, render
from autograder.results import CheckResult, Diagnosis, FunctionResult, GradeReport, Plot

DIAGNOSIS = Diagnosis("adam/no_bias_correction", "m and v are not corrected", "Re-read m̂ = ...")
PLOT = Plot("quadratic_2d", ((-5.0, -2.0), (-4.9, -1.9)), ((-5.0, -2.0), (-4.7, -1.6)), 1)


def check(name: str, *, passed: bool, visible: bool = True, message: str = "", plot=None):
    return CheckResult(
        name=name, function=name.split("/")[0], category="convex", visible=visible,
        max_score=10 / 3, score=10 / 3 if passed else 0.0,
        status="passed" if passed else "diverged", message=message or f"{name}: ok",
        divergence=None if passed else Divergence(1, "x", (0,), -4.9, -4.7),
        diagnosis=None if passed else DIAGNOSIS, plot=plot,
    )  # fmt: skip


def report(errors=()) -> GradeReport:
    adam = (
        check("adam/quadratic_2d/lr=0.1", passed=False, message="adam: x is <script>", plot=PLOT),
        check("adam/rosenbrock/lr=0.01", passed=False, visible=False, message="nan seen: nan"),
        check("adam/noisy_quadratic/lr=0.1", passed=True),
    )
    gd = tuple(check(f"gd/p{i}/lr=0.1", passed=True) for i in range(3))
    return GradeReport(
        "adaptive", "alice/adaptive.py",
        (FunctionResult("gd", gd, "gd: passed"), FunctionResult("adam", adam, "adam: <b>bad</b>")),
        tuple(errors),
    )  # fmt: skip


def test_json_has_exactly_the_contract_shape():
    document = json.loads(render(report(), "json"))
    assert set(document) == {"assignment", "score", "max_score", "tests", "errors"}
    assert document["score"] == pytest.approx(40 / 3) and document["max_score"] == pytest.approx(20)
    assert sum(t["score"] for t in document["tests"]) == pytest.approx(document["score"])
    for test in document["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["name"].count("/") >= 2


def test_gradescope_results_follow_the_specification():
    # Gradescope autograder specification, "Output format" of results.json.
    document = json.loads(render(report(), "gradescope"))
    assert {"score", "output", "tests"} <= set(document)
    visibility = {t["name"]: t["visibility"] for t in document["tests"]}
    assert visibility["adam/rosenbrock/lr=0.01"] == "after_published"
    assert visibility["adam/quadratic_2d/lr=0.1"] == "visible"
    allowed = {"visible", "hidden", "after_due_date", "after_published"}
    for test in document["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["visibility"] in allowed and test["status"] in ("passed", "failed")


def test_markdown_is_a_table_with_the_failures_folded():
    text = render(report(), "markdown")
    assert text.startswith("## adaptive: 13.33 / 20")
    assert "| `adam` | 3.33 / 10 | partial |" in text
    assert "<details>" in text and "(hidden case)" in text


def test_text_shows_every_function_and_marks_hidden_cases():
    text = render(report(), "text")
    assert "adam" in text and "gd" in text and "(hidden case)" in text
    assert "13.33 / 20" in text and "9.99" not in text


def test_html_is_self_contained_escaped_and_draws_the_visible_failure():
    page = render(report(), "html")
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;bad" in page
    assert not re.search(r'(src|href)="https?://', page)
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 1


def test_a_submission_that_could_not_be_graded_shows_why_everywhere():
    broken = report(errors=["adaptive.py: it has a syntax error at line 3"])
    for fmt in FORMATS:
        assert "syntax error at line 3" in render(broken, fmt)


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(ValueError, match="text, json, gradescope, markdown, html"):
        render(report(), "pdf")
