"""The shipped rubrics: well-formed, runnable by the reference, and covering every option."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import reference
from autograder.catalog import ASSIGNMENTS
from autograder.errors import RubricError
from autograder.expectations import ReferenceExpectations, run_in_process
from autograder.rubric import RUBRICS, load_rubric

NAMES = [a.name for a in ASSIGNMENTS]
# Keywords with a single valid value, which no case can vary.
FIXED = {("nesterov", "dampening")}  # torch: "Nesterov momentum requires ... zero dampening"


@pytest.mark.parametrize("name", NAMES)
def test_case_points_add_up_to_the_rubrics_points(name: str):
    rubric = load_rubric(name)
    assert set(rubric.points) == {f.name for f in rubric.assignment.functions}
    for graded in rubric.assignment.functions:
        cases = rubric.for_function(graded.name)
        assert cases, f"{graded.name} has no case"
        assert sum(c.points for c in cases) == pytest.approx(rubric.points[graded.name])
        assert any(c.visible for c in cases), f"{graded.name} has no visible case"
        assert any(not c.visible for c in cases), f"{graded.name} has no hidden case"
    names = [c.name for c in rubric.cases]
    assert len(names) == len(set(names)), "two cases share a name"


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_runs_every_case(name: str):
    expectations = ReferenceExpectations()
    for case in load_rubric(name).cases:
        if case.raises is None:
            assert expectations.expected(case).ok, case.name
            continue
        outcome = run_in_process(reference.FUNCTIONS[case.function], case.reference_request)
        assert (outcome.status, outcome.error_type) == ("raised", case.raises), case.name


@pytest.mark.parametrize("name", NAMES)
def test_hidden_cases_vary_every_option(name: str):
    """Every keyword of every function is set to a non-default value by some hidden case."""
    rubric = load_rubric(name)
    for graded in rubric.assignment.functions:
        signature = inspect.signature(reference.FUNCTIONS[graded.name])
        keywords = {
            p.name: p.default
            for p in signature.parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name != "generator"
        }
        varied = {
            key
            for case in rubric.for_function(graded.name)
            if not case.visible
            for key, value in case.reference_request.hyperparameters.items()
            if key in keywords and value != keywords[key]
        }
        required = {k for k, d in keywords.items() if d is inspect.Parameter.empty}
        fixed = {k for k in keywords if (graded.name, k) in FIXED}
        never = set(keywords) - required - fixed - varied
        assert not never, f"{graded.name}: no hidden case varies {sorted(never)}"


def test_optimizers_see_0d_to_3d_shapes_and_float32():
    for name in NAMES:
        rubric = load_rubric(name)
        for graded in rubric.assignment.functions:
            if graded.kind != "optimizer":
                continue
            cases = rubric.for_function(graded.name)
            ranks = {
                len(c.reference_request.shape)
                for c in cases
                if c.reference_request.shape is not None
            }
            assert {0, 2} <= ranks or {0, 3} <= ranks, f"{graded.name}: shapes {ranks}"
            assert any(c.reference_request.dtype == "float32" for c in cases), graded.name


MINIBATCHES = "[functions.minibatches]\npoints = 10\ncases = ["


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        (MINIBATCHES, MINIBATCHES + "]\nold = [", "no cases"),
        ("[functions.nesterov]", "[functions.nope]", "not a function of gradient_descent"),
        ("[weights]", "[weights]\nbogus = 1", "not a category"),
        ('"monkey_saddle"', '"no_such_problem"', "no_such_problem"),
        ('{ problems = ["monkey_saddle"], lr = 0.01 }', "{ lr = 0.01 }", "needs `problems"),
        ("[functions.gd]", "[functions.gd", "not valid TOML"),
        (
            '{ measure = "efficiency", size = 250000,',
            '{ measure = "efficiency", problems = ["random_quadratic"], size = 250000,',
            "no gradient coordinate by coordinate",
        ),
    ],
)
def test_a_bad_rubric_names_the_file_and_the_problem(
    tmp_path: Path, old: str, new: str, complaint: str
):
    shipped = (RUBRICS / "gradient_descent.toml").read_text(encoding="utf-8")
    assert old in shipped
    path = tmp_path / "gradient_descent.toml"
    path.write_text(shipped.replace(old, new, 1))
    with pytest.raises(RubricError, match=complaint) as error:
        load_rubric("gradient_descent", path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("name", NAMES)
def test_reference_paths_stay_finite_and_bounded(name: str):
    """A path that overflows turns equivalent arithmetic into inf - inf = nan for some
    students and not others: no case may come near it."""
    expectations = ReferenceExpectations()
    for case in load_rubric(name).cases:
        if case.raises is not None:
            continue
        path = expectations.expected(case).trajectory
        if path is not None:
            largest = max(p.abs().max().item() for p in path.points)
            assert largest < 1e6, f"{case.name} reaches {largest:.3g}"
