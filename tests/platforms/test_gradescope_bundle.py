"""`optim-grader bundle gradescope`: the zip unpacked into a Gradescope-shaped root, setup.sh
run (its install skipped: the kit is there), run_autograder run on a perfect, a buggy and two
hostile submissions; every results.json is checked against Gradescope's specification."""

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from autograder.rubric import load_rubric
from tests.platforms.results_schema import SCHEMA, validate_results
from tests.platforms.scratch_env import ROOT, ScratchEnv, make_env

# Each builds or installs a wheel and runs the kit in fresh processes: minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ASSIGNMENT, MODULE = "gradient_descent", "gradient_descent.py"
MAX_RESULTS_BYTES = 400_000
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
ATTACKS = ("gd/", "momentum/", "nesterov/")  # the hostile files' CONTROL is minibatches
# Checks that a function returning its input unchanged passes, whatever else it does.
NOT_VALUES = {"purity", "device", "efficiency"}


@pytest.fixture(scope="module")
def autograder_zip(installed_kit: ScratchEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gradescope-bundle")
    out = folder / "autograder.zip"
    result = installed_kit.run(
        "optim-grader", "bundle", "gradescope", ASSIGNMENT, "-o", out, cwd=folder
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def gradescope(autograder_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> ScratchEnv:
    """The root as Gradescope lays it out after setup.sh, and the venv the kit is in."""
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    source = root / "source"
    with zipfile.ZipFile(autograder_zip) as archive:
        assert {"setup.sh", "run_autograder"} <= set(archive.namelist())
        for entry in archive.infolist():
            archive.extract(entry, source)
            (source / entry.filename).chmod(entry.external_attr >> 16)
    (wheel,) = source.glob("optim_grader-*-py3-none-any.whl")
    kit = make_env(root.parent / "venv", wheel)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    result = kit.run(
        "bash", source / "setup.sh", cwd=source, env={"OPTIM_GRADER_PYTHON": str(kit.python)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing to install" in result.stdout
    if os.geteuid() == 0:  # as on Gradescope: the answer key is locked away from other users
        site = kit.site_packages()
        for locked in (source, site / "reference", site / "autograder" / "rubrics"):
            assert locked.stat().st_mode & 0o077 == 0, locked
        assert (site / "autograder").stat().st_mode & 0o005 == 0o005
    return kit


def run_autograder(kit: ScratchEnv, submission: Path, *, python: Path | None = None) -> dict:
    """Results of one submission: run_autograder run as Gradescope runs it, then checked
    against the specification's schema and the size limit."""
    root = kit.prefix.parent / "autograder"
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    shutil.copy(submission, root / "submission" / MODULE)
    environ = {"GRADESCOPE_ROOT": str(root), "OPTIM_GRADER_PYTHON": str(python or kit.python)}
    result = kit.run(root / "run_autograder", cwd=root, env=environ)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (root / "results" / "results.json").read_text()
    assert len(text.encode()) < MAX_RESULTS_BYTES
    document: dict[str, Any] = json.loads(text)
    validate_results(document)
    assert document["stdout_visibility"] == "hidden"
    return document


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_perfect_submission_full_marks_hidden_cases_after_published(gradescope: ScratchEnv):
    document = run_autograder(gradescope, ROOT / "solutions" / MODULE)
    assert document["score"] == 40.0 and isinstance(document["execution_time"], int)
    assert all(t["status"] == "passed" and t["output_format"] == "md" for t in document["tests"])
    rubric = load_rubric(ASSIGNMENT)
    visibility = {t["name"]: t["visibility"] for t in document["tests"]}
    hidden = {c.name for c in rubric.cases if not c.visible and c.unavailable is None}
    assert hidden and {visibility[name] for name in hidden} == {"after_published"}
    assert {v for name, v in visibility.items() if name not in hidden} == {"visible"}
    assert not any(name in document["output"] for name in hidden)


def test_buggy_submission_loses_points_and_the_bug_is_named(gradescope: ScratchEnv):
    document = run_autograder(gradescope, ROOT / "examples" / "class" / ASSIGNMENT / "bob" / MODULE)
    assert 0 < document["score"] < 40
    momentum = [t for t in document["tests"] if t["name"].startswith("momentum/")]
    assert any(t["status"] == "failed" and "likely mistake" in t["output"] for t in momentum)


@pytest.mark.parametrize("attack", ["killer", "forger"])
def test_hostile_submission_earns_no_point_from_its_attack(
    gradescope: ScratchEnv, attack: str
) -> None:
    results = gradescope.prefix.parent / "autograder" / "results"
    results.mkdir(exist_ok=True)
    (results / "results.json").write_text(json.dumps({"score": 1000.0}))  # forged beforehand
    document = run_autograder(gradescope, HOSTILE / attack / MODULE)
    tests = document["tests"]
    assert round(sum(t["score"] for t in tests), 2) == document["score"] < 20
    attacked = [t for t in tests if t["name"].startswith(ATTACKS)]
    assert attacked and all(t["score"] == 0 for t in attacked if t["tags"][1] not in NOT_VALUES)
    control = [t for t in tests if t["name"].startswith("minibatches/")]
    assert control and all(t["status"] == "passed" for t in control)


def test_a_kit_that_cannot_start_still_gives_valid_results_and_no_point(
    gradescope: ScratchEnv, tmp_path: Path
) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    document = run_autograder(gradescope, ROOT / "solutions" / MODULE, python=broken)
    assert document["score"] == 0.0 and document["tests"] == []
    assert "could not start" in document["output"]
