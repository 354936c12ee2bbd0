"""The kit's wheel, installed (not editable) into a fresh venv, grades from a folder outside
the checkout through its `optim-grader` console script."""

import json
from pathlib import Path

import pytest

from tests.platforms.scratch_env import ROOT, ScratchEnv

# Each builds or installs a wheel and runs the kit in fresh processes: minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_the_installed_package_is_the_wheel_not_the_checkout(
    installed_kit: ScratchEnv, outside: Path
) -> None:
    result = installed_kit.run(
        installed_kit.python, "-c", "import autograder, reference; "
        "print(autograder.__file__); print(reference.__file__)", cwd=outside,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        assert Path(line).is_relative_to(installed_kit.site_packages())
    rubrics = installed_kit.site_packages() / "autograder" / "rubrics"
    assert sorted(p.name for p in rubrics.glob("*.toml")) == [
        "adaptive.toml", "gradient_descent.toml", "schedules.toml",
    ]  # fmt: skip


def test_list_from_outside(installed_kit: ScratchEnv, outside: Path) -> None:
    result = installed_kit.run("optim-grader", "list", "--json", cwd=outside)
    assert result.returncode == 0, result.stderr
    names = [a["name"] for a in json.loads(result.stdout)["assignments"]]
    assert names == ["gradient_descent", "adaptive", "schedules"]


def test_grade_solution_full_marks_and_a_bug_named(installed_kit: ScratchEnv, outside: Path):
    submissions = {
        "solution": ROOT / "solutions" / "gradient_descent.py",
        "bob": ROOT / "examples" / "class" / "gradient_descent" / "bob",
    }
    reports = {}
    for name, path in submissions.items():
        result = installed_kit.run(
            "optim-grader", "grade", path, "--assignment", "gradient_descent",
            "--format", "json", cwd=outside,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        reports[name] = json.loads(result.stdout)
    perfect, bob = reports["solution"], reports["bob"]
    assert perfect["score"] == perfect["max_score"] == 40
    assert perfect["errors"] == [] and all(t["status"] == "passed" for t in perfect["tests"])
    assert bob["score"] < bob["max_score"]
    assert all(t["status"] == "passed" for t in bob["tests"] if t["name"].startswith("gd/"))
    momentum = [t for t in bob["tests"] if t["name"].startswith("momentum/")]
    assert any("likely mistake: Averages the gradients from zero" in t["output"] for t in momentum)


@pytest.mark.parametrize(
    ("command", "fix"),
    [
        (["release"], "pass --course DIR"),
        (["demo"], "pass --course DIR"),
        (["release", "--check", "--course", "."], "--course .: no solutions/ there"),
    ],
)
def test_without_a_course_folder_one_line_names_the_fix(
    installed_kit: ScratchEnv, outside: Path, command: list[str], fix: str
) -> None:
    result = installed_kit.run("optim-grader", *command, cwd=outside)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and fix in result.stderr
    assert "Traceback" not in result.stderr
