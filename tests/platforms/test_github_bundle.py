"""`optim-grader bundle github`: the template's workflow, parsed and checked step by step, and
its grading step run here as GitHub runs it (the step's own command, GitHub's environment
files in temporary files) on a perfect and a buggy submission; the `result` output decoded
as classroom-resources/autograding-grading-reporter decodes it (src/main.js: base64, UTF-8,
JSON.parse, from the env variable RUNNER_RESULTS) and summed as its notify-classroom.js sums."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from autograder.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "class" / "gradient_descent"
GD = "gradient_descent"
MODULE = "gradient_descent.py"
WORKFLOW = Path(".github/workflows/grade.yml")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("github") / "template"
    assert main(["bundle", "github", GD, "-o", str(out)]) == 0
    return out


def _steps(template: Path) -> list[dict[str, Any]]:
    workflow = yaml.safe_load((template / WORKFLOW).read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def _step(steps: list[dict[str, Any]], uses: str) -> dict[str, Any]:
    return next(s for s in steps if s.get("uses", "").startswith(uses + "@"))


def _grade_step(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return next(s for s in steps if "autograder.github_action" in s.get("run", ""))


def test_the_template_holds_the_students_files_and_no_hidden_case(template: Path) -> None:
    files = sorted(str(p.relative_to(template)) for p in template.rglob("*") if p.is_file())
    released = sorted(
        str(p.relative_to(ROOT / "assignments" / GD))
        for p in (ROOT / "assignments" / GD).rglob("*")
        if p.is_file()
    )
    wheel = f"optim_grader_student-{version('optim-grader')}-py3-none-any.whl"
    made = [".gitignore", "requirements-checker.txt", str(WORKFLOW), wheel]
    assert files == sorted([*released, *made])
    assert not any(name.endswith(".toml") or "reference" in name for name in files)
    requirements = (template / "requirements-checker.txt").read_text().splitlines()
    assert "torch==2.13.0" in requirements
    assert f"./{wheel}" in requirements and (template / wheel).is_file()


def test_the_workflow_checks_out_sets_up_caches_installs_grades_uploads_and_reports(
    template: Path,
) -> None:
    steps = _steps(template)
    checkout = _step(steps, "actions/checkout")
    assert checkout["with"]["persist-credentials"] is False  # docs/threat-model.md
    python = _step(steps, "actions/setup-python")
    assert python["with"]["python-version"] == "3.11"
    assert python["with"]["cache"] == "pip"  # setup-python's cache of pip's downloads
    assert python["with"]["cache-dependency-path"] == "requirements-checker.txt"
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert "-r requirements-checker.txt" in install["run"]
    grade = _grade_step(steps)
    artifact = _step(steps, "actions/upload-artifact")
    html = re.search(r"--html (\S+)", grade["run"])
    assert html is not None and artifact["with"]["path"] == html.group(1)
    reporter = _step(steps, "classroom-resources/autograding-grading-reporter")
    assert reporter["with"]["runners"] == grade["id"]
    # main.js reads process.env[`${runner.trim().toUpperCase()}_RESULTS`]
    assert reporter["env"] == {
        f"{grade['id'].upper()}_RESULTS": f"${{{{ steps.{grade['id']}.outputs.result }}}}"
    }
    assert artifact["if"] == reporter["if"] == "always()"
    order = [steps.index(s) for s in (checkout, python, install, grade, artifact, reporter)]
    assert order == sorted(order)


def _run_grade_step(template: Path, submission: Path, tmp_path: Path) -> dict[str, Any]:
    """The grading step's command, run in a copy of the template holding `submission`."""
    repository = tmp_path / "repository"
    shutil.copytree(template, repository)
    shutil.copy(submission, repository / MODULE)
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    summary.touch()
    output.touch()
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(repository),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
    }
    command = _grade_step(_steps(template))["run"]
    done = subprocess.run(
        ["bash", "-e", "-c", command],
        cwd=repository, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (line,) = output.read_text().splitlines()
    name, _, value = line.partition("=")
    html = re.search(r"--html (\S+)", command)
    assert html is not None
    return {
        "status": done.returncode,
        "stdout": done.stdout,
        "summary": summary.read_text(),
        "output": name,
        "result": json.loads(base64.b64decode(value).decode("utf-8")),
        "html": (repository / html.group(1)).read_text(),
    }


def _points(result: dict[str, Any]) -> tuple[float, float]:
    """Classroom's points, as notify-classroom.js adds them: the tests' scores, max_score."""
    return sum(test["score"] for test in result["tests"]), result["max_score"]


def _heading(summary: str) -> tuple[float, float]:
    found = re.search(r"^## gradient\\_descent: ([\d.]+) / ([\d.]+)$", summary, re.MULTILINE)
    assert found is not None, summary
    return float(found.group(1)), float(found.group(2))


@pytest.mark.slow
def test_a_perfect_submission_passes_every_test_with_every_point(
    template: Path, tmp_path: Path
) -> None:
    ran = _run_grade_step(template, SAMPLE / "alice" / MODULE, tmp_path)
    assert ran["status"] == 0 and "::error" not in ran["stdout"]
    result = ran["result"]
    assert ran["output"] == "result" and result["version"] == 1 and result["status"] == "pass"
    assert [t["name"] for t in result["tests"]] == ["gd", "momentum", "nesterov", "minibatches"]
    assert {t["status"] for t in result["tests"]} == {"pass"}
    earned, maximum = _points(result)
    assert earned == pytest.approx(maximum) and (earned, maximum) == pytest.approx(
        _heading(ran["summary"])
    )
    assert "<html" in ran["html"] and "40 / 40" not in ran["html"]  # visible cases only


@pytest.mark.slow
def test_a_buggy_submission_is_annotated_where_each_failing_function_is_defined(
    template: Path, tmp_path: Path
) -> None:
    source = (SAMPLE / "bob" / MODULE).read_text().splitlines()
    ran = _run_grade_step(template, SAMPLE / "bob" / MODULE, tmp_path)
    assert ran["status"] == 0
    errors = [line for line in ran["stdout"].splitlines() if line.startswith("::error ")]
    for function, line in zip(["momentum", "nesterov"], errors, strict=True):
        defined = next(i for i, text in enumerate(source, 1) if text.startswith(f"def {function}("))
        assert line.startswith(f"::error file={MODULE},line={defined},title={function} fails::")
        assert "after step 1" in line and "likely mistake" in line
    summary = ran["summary"]
    assert "| <code>momentum</code> | " in summary and "❌ failed" in summary
    assert "Averages the gradients from zero" in summary  # the diagnosis of bob's momentum
    assert "expected -4.5" in summary  # the first divergence
    result = ran["result"]
    assert result["status"] == "fail"
    failing = {t["name"]: t for t in result["tests"] if t["status"] == "fail"}
    assert sorted(failing) == ["momentum", "nesterov"]
    momentum = failing["momentum"]
    assert momentum["score"] < momentum["max_score"] and "likely mistake" in momentum["message"]
    assert _points(result) == pytest.approx(_heading(summary))
    assert "Averages the gradients from zero" in ran["html"]


def test_a_module_that_does_not_parse_is_annotated_on_its_syntax_error_and_errors(
    template: Path, tmp_path: Path
) -> None:
    broken = SAMPLE / "carol" / MODULE
    with pytest.raises(SyntaxError) as syntax:
        compile(broken.read_text(), MODULE, "exec")
    ran = _run_grade_step(template, broken, tmp_path)
    assert ran["status"] == 0
    (error,) = [line for line in ran["stdout"].splitlines() if line.startswith("::error ")]
    assert error.startswith(f"::error file={MODULE},line={syntax.value.lineno},")
    assert "syntax error" in error and "Could not grade" in ran["summary"]
    result = ran["result"]
    assert result["status"] == "error" and {t["status"] for t in result["tests"]} == {"error"}
    assert _points(result)[0] == 0
