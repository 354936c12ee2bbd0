"""Every report format on hand-built grade reports: the binding JSON shape, Gradescope's
specification, shown scores that add up, escaping, hidden cases, and the HTML page's plots."""

from __future__ import annotations

import base64
import json
import math
import re
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.compare import Divergence
from autograder.config import REPORT_FORMATS
from autograder.reports import render
from autograder.reports.gradescope import MAX_OUTPUT, render_gradescope
from autograder.reports.scores import CENT, Shown, apportion, rounded, shown_scores
from autograder.results import CaseResult, Diagnosis, FunctionResult, GradeReport, Plot

NAN = math.nan
SCRIPT = "<script>alert('x')</script>"
ERROR = "adaptive.py: it has a syntax error at line 3; fix it and grade again"
DIAGNOSIS = Diagnosis("no_bias_correction", "m and v are not bias-corrected", "re-read line 4")
# A reference path with a value (7.777) that only its later steps hold: a hidden case must
# never show it.
QUADRATIC_2D = (*((-5.0 + 0.5 * k, -2.0 + 0.2 * k) for k in range(8)), (7.777, 7.777))
HIDDEN_PLOT = Plot("quadratic_2d", QUADRATIC_2D[:2], ((-5.0, -2.0), (-4.4, -1.7), (-3.8, -1.4)), 1)


def check(
    name: str,
    max_score: float,
    *,
    passed: bool,
    visible: bool = True,
    message: str = "",
    plot: Plot | None = None,
    status: str = "diverged",
) -> CaseResult:
    function = name.split("/")[0]
    return CaseResult(
        name, function, "convex", visible, max_score, max_score if passed else 0.0,
        "passed" if passed else status, message or f"{function}: matches the reference",
        None if passed else Divergence(1, "x", (0,), -4.5, NAN),
        None if passed else DIAGNOSIS, plot,
    )  # fmt: skip


def function(name: str, *checks: CaseResult, headline: str = "") -> FunctionResult:
    failing = sum(not c.passed for c in checks)
    summary = f"{failing} of {len(checks)} cases fail"
    return FunctionResult(
        name, checks, f"{headline} [{summary}]" if headline else f"{name}: {summary}"
    )


def curve_plot(k: int) -> Plot:
    return Plot("quadratic_1d", ((3.0,), (2.4,), (1.9,)), ((3.0,), (2.4 + k / 10,), (NAN,)), 1)


GD = function("gd", *(check(f"gd/quadratic_2d/lr=0.{i}", 10 / 3, passed=True) for i in (1, 2, 3)))
ADAM = function(
    "adam",
    check(
        "adam/quadratic_2d/lr=0.1", 10 / 3, passed=False,
        message=f"adam: after step 1, x[0] is nan, expected -4.5 | {SCRIPT} & *more*",
        plot=Plot("quadratic_2d", QUADRATIC_2D, ((-5.0, -2.0), (NAN, NAN)), 1),
    ),
    check("adam/noisy_quadratic/lr=0.1", 10 / 3, passed=True),
    check(
        "adam/rosenbrock/lr=0.01", 10 / 3, passed=False, visible=False,
        message="adam: after step 1, x[0] is -4.4, expected -4.5", plot=HIDDEN_PLOT,
    ),
)  # fmt: skip
RMSPROP = function(
    "rmsprop",
    *(check(f"rmsprop/quadratic_1d/lr=0.{k}", 10 / 6, passed=False, plot=curve_plot(k),
            message=f"rmsprop: case {k} diverged") for k in range(1, 6)),
    check("rmsprop/zero_gradient/lr=0.1", 10 / 6, passed=False, status="raised",
          message="rmsprop: it raised ZeroDivisionError: float division by zero"),
)  # fmt: skip
MIXED = GradeReport("adaptive", "alice/adaptive.py", (GD, ADAM, RMSPROP))
ALL_PASSED = GradeReport("adaptive", "bob/adaptive.py", (GD,))
UNLOADABLE = GradeReport(
    "adaptive",
    "carol/adaptive.py",
    tuple(
        function(f.function, *(
            CaseResult(c.name, c.function, c.category, c.visible, c.max_score, 0.0,
                        "load_error", ERROR) for c in f.checks
        ), headline=ERROR)
        for f in (GD, ADAM)
    ),
    (ERROR,),
)  # fmt: skip
REPORTS = {"mixed": MIXED, "all passed": ALL_PASSED, "unloadable": UNLOADABLE}
DRAWN_CASES = 2 + 3  # adam's two drawable failures, and rmsprop's five capped at three


def no_constants(name: str) -> None:
    raise AssertionError(f"{name} in the JSON")


# --- json: docs/design.md §8 is binding ---------------------------------------------------------


@pytest.mark.parametrize("report", REPORTS.values(), ids=REPORTS.keys())
def test_json_has_exactly_the_contract_keys_types_and_finite_numbers(report: GradeReport) -> None:
    document = json.loads(render(report, "json"), parse_constant=no_constants)
    assert set(document) == {"assignment", "score", "max_score", "tests", "errors"}
    assert document["assignment"] == "adaptive" and document["errors"] == list(report.errors)
    assert len(document["tests"]) == len(report.checks)
    for test, case in zip(document["tests"], report.checks, strict=True):
        assert set(test) == {"name", "score", "max_score", "status", "output"}
        assert test["name"] == case.name and test["name"].count("/") >= 2
        assert test["status"] == ("passed" if case.passed else "failed")
        assert isinstance(test["output"], str) and case.message in test["output"]
        assert "\n" not in test["output"]
        for key in ("score", "max_score"):
            assert isinstance(test[key], float | int) and not isinstance(test[key], bool)
    assert sum(t["score"] for t in document["tests"]) == pytest.approx(document["score"])
    assert sum(t["max_score"] for t in document["tests"]) == pytest.approx(document["max_score"])


def test_json_keeps_full_precision_and_names_the_failure_kind() -> None:
    document = json.loads(render(MIXED, "json"))
    assert document["score"] == pytest.approx(10 + 10 / 3, rel=1e-15)
    assert document["max_score"] == pytest.approx(30)
    outputs = {t["name"]: t["output"] for t in document["tests"]}
    assert outputs["adam/quadratic_2d/lr=0.1"].startswith("[diverged] adam: after step 1")
    assert "is nan" in outputs["adam/quadratic_2d/lr=0.1"]
    assert outputs["adam/rosenbrock/lr=0.01"].startswith("[diverged, hidden case] ")
    assert outputs["rmsprop/zero_gradient/lr=0.1"].startswith("[raised] ")
    assert outputs["gd/quadratic_2d/lr=0.1"] == "gd: matches the reference"


def test_json_refuses_a_score_that_is_not_a_number() -> None:
    broken = CaseResult("gd/quadratic_2d/lr=0.1", "gd", "convex", True, 1.0, NAN, "passed", "")
    report = GradeReport("adaptive", "x.py", (function("gd", broken),))
    with pytest.raises(ValueError, match="JSON compliant"):
        render(report, "json")


# --- shown scores: half-even cents that add up -----------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.125, "0.12"), (0.135, "0.14"), (2.675, "2.68"), (9.999999999999998, "10.00"),
     (10 / 3, "3.33"), (0.0, "0.00")],
    ids=["half to even down", "half to even up", "decimal not binary 2.675", "float artefact",
         "a third of ten", "zero"],
)  # fmt: skip
def test_rounding_is_half_even_on_the_shortest_decimal(value: float, expected: str) -> None:
    assert rounded(value) == Decimal(expected)


def test_three_thirds_show_ten_and_their_rows_add_up_to_it() -> None:
    assert apportion([10 / 3] * 3, Decimal("10.00")) == [
        Decimal(v) for v in ("3.34", "3.33", "3.33")
    ]
    scores = shown_scores(MIXED)
    assert str(scores.total) == "13.33 / 30"
    assert [str(s) for s in scores.functions] == ["10 / 10", "3.33 / 10", "0 / 10"]


def graded(*functions: tuple[float, list[bool]]) -> GradeReport:
    """A report of functions, each (points, which of its equal cases pass)."""
    return GradeReport("a", "s", tuple(
        function(f"f{i}", *(
            check(f"f{i}/p/{j}", points / len(passes), passed=passed)
            for j, passed in enumerate(passes)
        ))
        for i, (points, passes) in enumerate(functions)
    ))  # fmt: skip


def test_whole_points_show_whole_even_when_few_of_many_cases_pass() -> None:
    few = [True] + [False] * 54
    half = [False, True] * 25 + [False]
    report = graded((10, [True] * 45), (10, few), (10, half), (10, [True, True, False]),
                    (10, [True, False, False]), (10, [False] * 3))  # fmt: skip
    scores = shown_scores(report)
    # 10, 10/55, 25 * 10/51, 20/3, 10/3 and 0: 25.0838 in all
    assert [str(s) for s in scores.functions] == [
        "10 / 10", "0.18 / 10", "4.9 / 10", "6.67 / 10", "3.33 / 10", "0 / 10",
    ]  # fmt: skip
    assert str(scores.total) == "25.08 / 60"


def assert_adds_up(report: GradeReport) -> None:
    """Shown scores: the rounded total, columns that add up, passed full and failed zero."""
    scores = shown_scores(report)
    assert scores.total == Shown(rounded(report.score), rounded(report.max_score))
    assert sum(s.score for s in scores.functions) == scores.total.score
    assert sum(s.max_score for s in scores.functions) == scores.total.max_score
    for result, shown, per_check in zip(
        report.functions, scores.functions, scores.checks, strict=True
    ):
        assert sum(s.score for s in per_check) == shown.score
        assert sum(s.max_score for s in per_check) == shown.max_score
        for case, mine in zip(result.checks, per_check, strict=True):
            assert 0 <= mine.score <= mine.max_score
            assert abs(mine.max_score - Decimal(repr(case.max_score))) < Decimal("0.02")
            if case.passed or case.score == 0:
                assert mine.score == (mine.max_score if case.passed else 0)


def test_half_cents_that_round_apart_still_add_up() -> None:
    # Found by search: shares of half cents whose parts cannot all round to floor or ceiling.
    halves = [(0.03125, 0.0625), (0.00625, 0.0125), (0.0125, 0.025)]
    partial = tuple(
        CaseResult(f"f/p/{i}", "f", "convex", True, top, score, "diverged", "")
        for i, (score, top) in enumerate(halves)
    )
    assert_adds_up(
        GradeReport("a", "s", (function("f", *partial), graded((0.125, [True])).functions[0]))
    )


POINTS = st.sampled_from([10 / 3, 10 / 6, 10 / 7, 0.005, 0.125, 2.675, 1.0, 5.0])
OUTCOMES = st.lists(st.booleans(), min_size=1, max_size=60)


@given(st.lists(st.tuples(POINTS, OUTCOMES), min_size=1, max_size=5))
def test_shown_scores_add_up_at_every_level(functions: list[tuple[float, list[bool]]]) -> None:
    assert_adds_up(graded(*functions))


@given(st.lists(st.tuples(st.sampled_from([5.0, 10.0, 12.5, 40.0]), OUTCOMES), max_size=9))
def test_whole_points_show_exactly_and_scores_to_the_nearest_cent(
    functions: list[tuple[float, list[bool]]],
) -> None:
    report = graded(*functions)
    assert_adds_up(report)
    shown = shown_scores(report).functions
    for (points, _), result, mine in zip(functions, report.functions, shown, strict=True):
        assert mine.max_score == Decimal(repr(points))
        assert abs(mine.score - Decimal(repr(result.score))) < CENT


# --- gradescope ------------------------------------------------------------------------

# The fields of results.json in Gradescope's "Autograder Specifications", section "Output
# format" (https://gradescope-autograders.readthedocs.io/en/latest/specs/), with its lists of
# visibility values, output formats ("Output String Formatting") and test statuses.
GRADESCOPE_FIELDS = {
    "score", "execution_time", "output", "output_format", "test_output_format",
    "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard",
}  # fmt: skip
GRADESCOPE_TEST_FIELDS = {
    "score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
    "tags", "visibility", "extra_data",
}  # fmt: skip
GRADESCOPE_VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
GRADESCOPE_OUTPUT_FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def assert_gradescope_shape(document: dict[str, Any]) -> None:
    assert set(document) <= GRADESCOPE_FIELDS
    assert isinstance(document["score"], float) and isinstance(document["output"], str)
    assert document["output_format"] in GRADESCOPE_OUTPUT_FORMATS
    assert document["test_output_format"] in GRADESCOPE_OUTPUT_FORMATS
    assert {document["visibility"], document["stdout_visibility"]} <= GRADESCOPE_VISIBILITIES
    for test in document["tests"]:
        assert set(test) <= GRADESCOPE_TEST_FIELDS
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in GRADESCOPE_VISIBILITIES
        assert test["output_format"] in GRADESCOPE_OUTPUT_FORMATS
        assert all(isinstance(tag, str) for tag in test["tags"])
        assert 0 <= test["score"] <= test["max_score"]


@pytest.mark.parametrize("report", REPORTS.values(), ids=REPORTS.keys())
def test_gradescope_results_follow_the_specification_and_add_up(report: GradeReport) -> None:
    document = json.loads(render(report, "gradescope"), parse_constant=no_constants)
    assert_gradescope_shape(document)
    assert document["score"] == float(rounded(report.score))
    cents = sum(round(t["score"] * 100) for t in document["tests"])
    assert cents == round(document["score"] * 100)
    assert len(document["tests"]) == len(report.checks)


def test_gradescope_hides_hidden_cases_until_published_and_says_no_more_than_the_message() -> None:
    text = render(MIXED, "gradescope")
    document = json.loads(text)
    visibility = {t["name"]: t["visibility"] for t in document["tests"]}
    assert visibility.pop("adam/rosenbrock/lr=0.01") == "after_published"
    assert set(visibility.values()) == {"visible"}
    assert "7.777" not in text and "rosenbrock" not in document["output"]
    assert "1 hidden case is graded too" in document["output"]
    hidden = next(t for t in document["tests"] if t["visibility"] != "visible")
    assert hidden["output"] == "**diverged**: adam: after step 1, x\\[0\\] is -4.4, expected -4.5"


def test_gradescope_hidden_visibility_is_a_parameter_checked_against_the_specification() -> None:
    document = json.loads(render_gradescope(MIXED, hidden_visibility="after_due_date"))
    assert {t["visibility"] for t in document["tests"]} == {"visible", "after_due_date"}
    with pytest.raises(ValueError, match="after_published"):
        render_gradescope(MIXED, hidden_visibility="later")


def test_gradescope_outputs_are_escaped_markdown() -> None:
    document = json.loads(render(MIXED, "gradescope"))
    output = next(t["output"] for t in document["tests"] if t["name"] == "adam/quadratic_2d/lr=0.1")
    assert "<script>" not in output and "&lt;script&gt;" in output
    assert "\\*more\\*" in output and "&#124;" in output


def test_gradescope_outputs_are_cut_for_the_browser() -> None:
    huge = "x" * 100_000
    report = GradeReport(
        "adaptive", "eve/adaptive.py",
        (function("gd", check("gd/quadratic_2d/lr=0.1", 10.0, passed=False, message=huge)),),
        (huge,),
    )  # fmt: skip
    document = json.loads(render(report, "gradescope"))
    (test,) = document["tests"]
    assert MAX_OUTPUT < len(test["output"]) < MAX_OUTPUT + 100
    assert test["output"].endswith(f"(cut: {100_000 - MAX_OUTPUT} more characters)")
    assert len(document["output"]) < 2 * MAX_OUTPUT


# --- markdown ------------------------------------------------------------------------------


def test_markdown_is_a_job_summary_with_a_table_and_folded_failures() -> None:
    text = render(MIXED, "markdown")
    assert text.startswith("## adaptive: 13.33 / 30\n")
    rows = [line for line in text.splitlines() if line.startswith("| <code>")]
    assert rows == [
        "| <code>gd</code> | 10 / 10 | ✅ passed | gd: 0 of 3 cases fail |",
        "| <code>adam</code> | 3.33 / 10 | ⚠️ partial | adam: 2 of 3 cases fail |",
        "| <code>rmsprop</code> | 0 / 10 | ❌ failed | rmsprop: 6 of 6 cases fail |",
    ]
    assert text.count("<details>") == 2 and text.count("</details>") == 2
    assert "<script>" not in text and "&lt;script&gt;" in text
    hidden = next(line for line in text.splitlines() if "rosenbrock" in line)
    assert hidden.startswith("- **diverged, hidden case** <code>adam/rosenbrock/lr=0.01</code>")
    lines = text.splitlines()
    assert lines.index(hidden) > next(i for i, s in enumerate(lines) if "adam/quadratic_2d" in s)


def test_markdown_of_a_passing_submission_folds_nothing() -> None:
    text = render(ALL_PASSED, "markdown")
    assert "## adaptive: 10 / 10" in text and "<details>" not in text


# --- text ----------------------------------------------------------------------------------


def test_text_shows_every_function_and_each_failing_case_visible_first() -> None:
    text = render(MIXED, "text")
    assert text.splitlines()[0] == "adaptive: 13.33 / 30  (alice/adaptive.py)"
    for name, score, word in [("gd", "10 / 10", "passed"), ("adam", "3.33 / 10", "partial"),
                              ("rmsprop", "0 / 10", "failed")]:  # fmt: skip
        assert re.search(rf"^{name} +{re.escape(score)}  {word} ", text, re.MULTILINE), name
    visible = text.index("adam/quadratic_2d/lr=0.1  [diverged]")
    assert text.index("adam/rosenbrock/lr=0.01  [diverged, hidden case]") > visible
    assert "rmsprop/zero_gradient/lr=0.1  [raised]" in text
    assert "\x1b" not in text and "9.99" not in text


def test_text_is_coloured_only_when_asked() -> None:
    assert "\x1b[32mpassed" in render(MIXED, "text", color=True)
    assert "\x1b" not in render(MIXED, "text", color=False)


def test_text_puts_errors_first_and_does_not_repeat_them_per_case() -> None:
    text = render(UNLOADABLE, "text")
    lines = text.splitlines()
    assert lines[1] == f"error: {ERROR}"
    assert text.count(ERROR) == 1 + len(UNLOADABLE.functions)  # the error, then each headline
    assert "cases fail\n" not in text


# --- html ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> str:
    return render(MIXED, "html")


def test_html_is_one_self_contained_page(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<html") == 1
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_html_escapes_what_the_grading_run_says(page: str) -> None:
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; *more*" in page


def test_html_draws_each_failing_case_up_to_the_cap_as_an_inline_svg(page: str) -> None:
    images = re.findall(r'<img [^>]*src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == DRAWN_CASES
    svg = "{http://www.w3.org/2000/svg}svg"
    assert all(ElementTree.fromstring(base64.b64decode(image)).tag == svg for image in images)
    assert "rmsprop: 6 of 6 cases fail" in page and "rmsprop: case 5 diverged" in page
    assert "ZeroDivisionError" in page
    assert "first divergence at step 1" in page


def test_html_draws_a_hidden_case_only_up_to_its_divergence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import autograder.reports.svg_plot

    drawn: list[dict[str, Any]] = []
    draw = autograder.reports.svg_plot.paths_svg

    def spy(problem: Any, paths: dict[str, Any], **options: Any) -> Any:
        drawn.append({label: [tuple(p) for p in points] for label, points in paths.items()})
        return draw(problem, paths, **options)

    monkeypatch.setattr(autograder.reports.svg_plot, "paths_svg", spy)
    leaky = Plot("quadratic_2d", QUADRATIC_2D, HIDDEN_PLOT.got, 1)  # more than grading gives
    hidden = check("adam/quadratic_2d/lr=0.5", 1.0, passed=False, visible=False, plot=leaky)
    render(GradeReport("adaptive", "s.py", (function("adam", hidden),)), "html")
    assert drawn == [{"reference": list(QUADRATIC_2D[:2]), "your code": list(HIDDEN_PLOT.got)}]


def test_html_falls_back_to_the_message_where_a_case_cannot_be_drawn() -> None:
    cases = (
        check("adam/quadratic_2d/lr=0.1", 1.0, passed=False, message="wrong shape",
              plot=Plot("quadratic_2d", ((1.0, 2.0),), ((1.0, 2.0, 3.0),), 0)),
        check("adam/elsewhere/lr=0.1", 1.0, passed=False, message="unknown problem",
              plot=Plot("no_such_problem", ((1.0,),), ((2.0,),), 0)),
    )  # fmt: skip
    page = render(GradeReport("adaptive", "s.py", (function("adam", *cases),)), "html")
    assert "wrong shape" in page and "unknown problem" in page and "<img" not in page


# --- every format --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_a_submission_that_could_not_be_graded_shows_why_everywhere(fmt: str) -> None:
    assert "syntax error at line 3" in render(UNLOADABLE, fmt)


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_submission_that_could_not_be_graded_shows_zero(fmt: str) -> None:
    assert "adaptive: 0 / 20" in render(UNLOADABLE, fmt)


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="text, json, gradescope, markdown, html"):
        render(MIXED, "pdf")
