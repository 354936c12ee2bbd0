"""`optim-grader bundle student`: installed on its own, the checker holds no answer key and
no hidden case, and `check` gives the stub, the solution and a known bug their verdicts."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.release.rounding import same_values
from autograder.rubric import load_rubric
from tests.platforms.scratch_env import ROOT, ScratchEnv, make_env

# Each builds or installs a wheel and runs the kit in fresh processes: minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ASSIGNMENT, MODULE = "gradient_descent", "gradient_descent.py"
# Where the answer key lives in the kit: none of it may reach a student.
ANSWER_KEY_NAMES = {"reference", "solutions", "rubrics", "bugs.py", "known_bug.py", "tests"}


@pytest.fixture(scope="module")
def bundle(installed_kit: ScratchEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The student bundle, written by the installed kit run in the course repository."""
    out = tmp_path_factory.mktemp("student-bundle") / ASSIGNMENT
    result = installed_kit.run("optim-grader", "bundle", "student", ASSIGNMENT, "-o", out, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def checker(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> ScratchEnv:
    """A fresh venv with nothing of the kit but the bundle's wheel."""
    (wheel,) = bundle.glob("optim_grader_student-*-py3-none-any.whl")
    return make_env(tmp_path_factory.mktemp("student-env") / "venv", wheel)


def test_the_bundle_holds_what_a_student_downloads(bundle: Path) -> None:
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    released = ROOT / "assignments" / ASSIGNMENT
    assert {p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()} | {
        next(n for n in names if n.endswith(".whl"))
    } == names
    for name in names - {n for n in names if n.endswith(".whl")}:
        made, committed = (bundle / name).read_bytes(), (released / name).read_bytes()
        if name.startswith("expected/"):  # made on this machine: its own last bits
            assert same_values(committed, made), name
        else:
            assert made == committed, name
    readme = (bundle / "README.md").read_text()
    commands = readme.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert readme.index("```bash") < readme.index("## The functions")
    assert commands[0].startswith("python -m pip install") and commands[1] == "optim-grader check"
    assert "torch==2.13.0" in commands[0] and "download.pytorch.org/whl/cpu" in commands[0]
    assert next(n for n in names if n.endswith(".whl")) in commands[0]


def test_expected_values_hold_visible_cases_only(bundle: Path) -> None:
    rubric = load_rubric(ASSIGNMENT)
    visible = {c.name for c in rubric.cases if c.visible}
    hidden = {c.name for c in rubric.cases if not c.visible}
    shipped = {
        case["name"]
        for path in (bundle / "expected").glob("*.json")
        for case in json.loads(path.read_text())["cases"]
    }
    assert hidden and shipped and shipped <= visible and not shipped & hidden
    with_known_bugs = {
        name
        for path in (bundle / "expected" / "known-bugs").glob("*.json")
        for name in json.loads(path.read_text())["variants"]
    }
    assert with_known_bugs == shipped


def test_no_answer_key_is_installed_or_importable(
    checker: ScratchEnv, bundle: Path, tmp_path: Path
) -> None:
    (wheel,) = bundle.glob("*.whl")
    installed = [p for p in checker.site_packages().rglob("*") if p.is_file()]
    in_wheel = [Path(n) for n in zipfile.ZipFile(wheel).namelist()]
    for path in [*in_wheel, *(p.relative_to(checker.site_packages()) for p in installed)]:
        assert not ANSWER_KEY_NAMES & set(path.parts), path
        assert path.suffix in {".py", ".pyc", ".pth", ""} or "dist-info" in path.parts[0], path
    sources = [p for p in installed if p.suffix == ".py"]
    assert sources and not any("### BEGIN SOLUTION" in p.read_text() for p in sources)
    probe = "import importlib.util as u; print([u.find_spec(m) for m in ('reference', 'bugs')])"
    result = checker.run(checker.python, "-c", f"{probe}; import reference", cwd=tmp_path)
    assert result.stdout.strip() == "[None, None]"
    assert result.returncode == 1 and "No module named 'reference'" in result.stderr


def _blocks(stdout: str) -> dict[str, str]:
    """`check`'s output by function: its line ("ok   gd: ..." or "FAIL MODULE: gd ...") and
    the indented lines of its cases under it; the summary line is left out."""
    blocks: dict[str, str] = {}
    function = ""
    for line in stdout.splitlines():
        if line.startswith(("ok ", "FAIL ")):
            name = line.split(maxsplit=1)[1].removeprefix(f"{MODULE}: ")
            function = name.split(":")[0].split()[0]
            blocks[function] = line
        elif line.startswith(" ") and function:
            blocks[function] += "\n" + line
    return blocks


@pytest.mark.parametrize(
    ("submission", "status", "verdicts"),
    [
        (None, 1, {"gd": "is not implemented yet", "minibatches": "is not implemented yet"}),
        (ROOT / "solutions" / MODULE, 0, {"gd": "cases pass", "minibatches": "cases pass"}),
        (
            ROOT / "examples" / "class" / ASSIGNMENT / "bob" / MODULE,
            1,
            {"gd": "cases pass", "momentum": "likely mistake: Averages the gradients from zero"},
        ),
    ],
    ids=["stub", "solution", "known-bug"],
)
def test_check_in_the_student_install(
    checker: ScratchEnv,
    bundle: Path,
    tmp_path: Path,
    submission: Path | None,
    status: int,
    verdicts: dict[str, str],
) -> None:
    folder = shutil.copytree(bundle, tmp_path / ASSIGNMENT)
    if submission is not None:
        shutil.copy(submission, folder / MODULE)
    result = checker.run("optim-grader", "check", cwd=folder)
    assert result.returncode == status, result.stdout + result.stderr
    blocks = _blocks(result.stdout)
    assert list(blocks) == ["gd", "momentum", "nesterov", "minibatches"], result.stdout
    for function, verdict in verdicts.items():
        assert verdict in blocks[function], result.stdout
    assert all(block.startswith("ok") for block in blocks.values()) == (status == 0)
    passing = sum(block.startswith("ok") for block in blocks.values())
    assert result.stdout.splitlines()[-1].startswith(f"{passing} of 4 functions pass")


def test_instructor_commands_say_they_are_not_in_the_checker(
    checker: ScratchEnv, tmp_path: Path
) -> None:
    result = checker.run(
        "optim-grader", "grade", tmp_path, "--assignment", ASSIGNMENT, cwd=tmp_path
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the student checker runs `optim-grader check` only" in result.stderr
