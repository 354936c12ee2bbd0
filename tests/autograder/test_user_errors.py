"""What a TA or an instructor gets wrong by accident, through the real command line: a rubric
edit (a misspelt key, negative points, a misspelt name), a bad argument or output path, a
student's wrong or ambiguous submission. Each is one line naming the thing and the fix, exit
status 2, before any grading; a rubric the solution loses points on is refused; the class
report names the students of each mistake and the failures no known bug explains."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from autograder import rubric as rubric_module
from autograder.batch import open_gradebook
from autograder.batch.gradebook import Graded
from autograder.batch.mistakes import rooted_mistakes
from autograder.catalog import assignment as find_assignment
from autograder.cli import main
from autograder.results import CaseResult, Diagnosis, FunctionResult, GradeReport

ROOT = Path(__file__).resolve().parents[2]
GD = "gradient_descent"
SOLUTION = ROOT / "solutions" / "gradient_descent.py"
SHIPPED = (rubric_module.RUBRICS / f"{GD}.toml").read_text(encoding="utf-8")
# One small case per function: gd on a 2-D quadratic, where its known bugs all show.
SMALL_RUBRIC = """
[functions.gd]
points = 15
cases = [{ problems = ["quadratic_2d"], lr = 0.1, visible = true }]

[functions.momentum]
points = 10
cases = [{ problems = ["quadratic_2d"], lr = 0.1, visible = true }]

[functions.nesterov]
points = 10
cases = [{ problems = ["quadratic_2d"], lr = 0.1, visible = true }]

[functions.minibatches]
points = 10
cases = [{ n = 10, batch_size = 3, seeds = [0], visible = true }]
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(err: str) -> str:
    """The single line a user error prints; never a traceback or an internal error."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


# --- 1. the rubric -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "said"),
    [
        (
            '{ problems = ["monkey_saddle"], lr = 0.01 }',
            '{ problems = ["monkey_saddle"], lr = 0.01, visble = true }',
            "visble",
            "unknown key `visble`; did you mean `visible`?",
        ),
        ("[functions.gd]\npoints = 10", "[functions.gd]\npoints = -5", "points = -5",
         "points = -5: points must be a non-negative number"),
        ("[functions.gd]\npoints = 10", '[functions.gd]\npoints = "ten"', 'points = "ten"',
         "points must be a non-negative number"),
        ("convex = 2", 'convex = "high"', 'convex = "high"', "a weight must be a non-negative"),
        ('"monkey_saddle"', '"monky_saddle"', "monky_saddle", "did you mean `monkey_saddle`?"),
        ('category = "purity"', 'category = "purty"', '"purty"', "did you mean `purity`?"),
        ("[functions.nesterov]", "[functions.nesterv]", "nesterv", "did you mean `nesterov`?"),
        ("options = [{}, { weight_decay = 0.1 }]", "options = [{}, { weight_decy = 0.1 }]",
         "weight_decy", "did you mean `weight_decay`?"),
        ('dtype = "float32"', 'dtype = "float23"', '"float23"', "is not one of float64, float32"),
    ],
)  # fmt: skip
def test_a_rubric_mistake_names_the_file_the_line_and_the_nearest_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, old: str, new: str, needle: str, said: str
) -> None:
    assert old in SHIPPED
    edited = SHIPPED.replace(old, new, 1)
    path = tmp_path / f"{GD}.toml"
    path.write_text(edited, encoding="utf-8")
    status, out, err = run(capsys, "rubric", "check", GD, "--file", str(path))
    assert (status, out) == (2, "")
    line = one_line_error(err)
    assert line.startswith(f"optim-grader rubric: {path}:{line_of(edited, needle)}: "), line
    assert said in line


@pytest.mark.slow
def test_rubric_check_refuses_a_rubric_that_the_solution_loses_points_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / f"{GD}.toml"
    typo = '{ problems = ["quadratic_1d"], lr = -0.1 }'  # a minus sign the instructor slipped in
    path.write_text(SMALL_RUBRIC.replace("cases = [{ problems", f"cases = [{typo}, {{ problems", 1))
    status, out, _ = run(capsys, "rubric", "check", GD, "--file", str(path))
    assert status == 1
    assert "FAIL gd/quadratic_1d/lr=-0.1: the solution scores 0 / 7.5" in out
    assert "the solution loses points on 1 case(s)" in out


@pytest.mark.slow
def test_rubric_check_passes_the_shipped_rubric_on_every_case_hidden_ones_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "rubric", "check", GD, "--case-time-limit", "20")
    assert status == 0, out
    assert "valid;" in out and "earns 40 / 40" in out


def test_list_shows_the_rubrics_points(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(rubric_module.RUBRICS, tmp_path, dirs_exist_ok=True)
    (tmp_path / f"{GD}.toml").write_text(SMALL_RUBRIC, encoding="utf-8")
    monkeypatch.setattr(rubric_module, "RUBRICS", tmp_path)
    status, out, _ = run(capsys, "list", "--json")
    listed = {a["name"]: a for a in json.loads(out)["assignments"]}[GD]
    assert status == 0
    assert listed["max_score"] == 45
    assert [f["points"] for f in listed["functions"]] == [15, 10, 10, 10]


# --- 2. arguments and outputs, checked before grading ------------------------------------------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["grade", "{solution}", "--assignment", GD, "--format", "text,pdf"],
         "pdf is not a report format; choose from text, json"),
        (["grade", "{solution}", "--assignment", GD, "--out", "{tmp}/missing/report.txt"],
         "the folder {tmp}/missing does not exist; create it first"),
        (["grade", "{solution}", "--assignment", GD, "--out", "{tmp}"], "is a folder"),
        (["grade", "{tmp}/alice", "--assignment", GD], "{tmp}/alice does not exist"),
        (["grade", "{solution}", "--assignment", GD, "--case-time-limit", "0"],
         "--case-time-limit must be a positive number of seconds"),
        (["batch", "{tmp}", "--assignment", GD, "--out", "{tmp}/grades.csv"],
         "is a file, not a folder"),
        (["batch", "{tmp}", "--assignment", GD, "--out", "{tmp}/out", "-j", "0"],
         "-j must be a positive"),
        (["rubric", "check", GD, "--file", "{tmp}/missing.toml"], "no rubric for assignment"),
    ],
)  # fmt: skip
def test_a_bad_argument_is_one_line_and_exit_2_before_grading(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], said: str
) -> None:
    (tmp_path / "grades.csv").write_text("student,score\n")
    filled = [a.format(solution=SOLUTION, tmp=tmp_path) for a in argv]
    status, out, err = run(capsys, *filled)
    assert (status, out) == (2, "")  # no report: nothing was graded
    assert said.format(tmp=tmp_path) in one_line_error(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]  # nothing written


# --- 3. wrong and ambiguous submissions --------------------------------------------------------


def test_a_module_of_another_assignment_is_named_as_such(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(
        capsys, "grade", str(SOLUTION), "--assignment", "adaptive", "--format", "json"
    )
    assert status == 2
    said = "this looks like the `gradient_descent` assignment; submit adaptive.py for adaptive"
    assert all(said in test["output"] for test in json.loads(out)["tests"])


def test_a_folder_of_candidates_lists_them_and_the_expected_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("adaptive_v1.py", "adaptive_final.py"):
        shutil.copy(ROOT / "solutions" / "adaptive.py", tmp_path / name)
    status, out, _ = run(capsys, "grade", str(tmp_path), "--assignment", "adaptive")
    assert status == 2
    assert (
        f"no adaptive.py in {tmp_path}; it holds adaptive_final.py, adaptive_v1.py: rename the "
        "module to grade to adaptive.py"
    ) in out


# --- 4. the class report -----------------------------------------------------------------------


@pytest.mark.slow
def test_the_class_report_names_each_mistakes_students_and_the_unexplained_failures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rubrics = tmp_path / "rubrics"
    shutil.copytree(rubric_module.RUBRICS, rubrics)
    (rubrics / f"{GD}.toml").write_text(SMALL_RUBRIC, encoding="utf-8")
    monkeypatch.setattr(rubric_module, "RUBRICS", rubrics)
    solution = SOLUTION.read_text(encoding="utf-8")
    edits = {"alice": "return x + lr * g", "bob": "return x - 1.5 * lr * g"}  # sign, unknown
    for student, line in edits.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        module = solution.replace("return x - lr * g", line, 1)
        (tmp_path / "class" / student / "gradient_descent.py").write_text(module)
    out = tmp_path / "out"
    status, _, _ = run(capsys, "batch", str(tmp_path / "class"), "--assignment", GD,
                       "--out", str(out), "--case-time-limit", "5")  # fmt: skip
    assert status == 0
    page = (out / "class_report.html").read_text(encoding="utf-8")
    assert '<tr data-function="gd" data-bug="gd/sign_error">' in page
    assert '<td class="n" data-value="1">1</td><td>alice</td>' in page
    unexplained = page.index("Failures no known bug explains")
    assert "<td>diverged: x after step 1</td>" in page[unexplained:]
    assert "<td>bob</td>" in page[unexplained:]
    assert " / 15</td>" in page  # gd's points come from the rubric, not a catalogue default
    rows = list(csv.DictReader((out / "mistakes.csv").read_text(encoding="utf-8").splitlines()))
    assert [(r["function"], r["bug"], r["student"]) for r in rows] == [
        ("gd", "gd/sign_error", "alice")
    ]


def _diagnosed(function: str, bug: str) -> CaseResult:
    diagnosis = Diagnosis(f"{function}/{bug}", "believes it", "re-read it")
    return CaseResult(f"{function}/a", function, "convex", True, 5.0, 0.0, "diverged", "m", None,
                      diagnosis)  # fmt: skip


def test_a_mistake_inherited_through_a_call_is_counted_at_its_root(tmp_path: Path) -> None:
    """alice's adamw calls her adam and shows its bug: one mistake, at adam; bob's adamw alone
    has it: his mistake is at adamw."""
    order = [f.name for f in find_assignment("adaptive").functions]
    with open_gradebook(tmp_path / "gradebook.sqlite", "adaptive") as book:
        for student, checks in {
            "alice": [_diagnosed("adam", "no_bias_correction"),
                      _diagnosed("adamw", "no_bias_correction")],
            "bob": [_diagnosed("adamw", "no_bias_correction")],
        }.items():  # fmt: skip
            functions = tuple(FunctionResult(c.function, (c,), "headline") for c in checks)
            report = GradeReport("adaptive", student, functions, ())
            book.record(Graded(student, student, "h", "r", 10.0, report, "", "<html>"))
        found = rooted_mistakes(book.diagnoses(), order)
    assert [(m.function, m.students) for m in found] == [
        ("adam", ("alice",)),
        ("adamw", ("bob",)),
    ]
