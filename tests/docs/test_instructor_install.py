"""docs/instructor.md as written: every bash block of its install, release, hand-out, grading
and Gradescope sections runs, in order, in a copy of the course repository with a fresh venv
(the torch of the test environment borrowed, no package index)."""

import re
from pathlib import Path

import pytest

from tests.platforms.scratch_env import ROOT, copy_checkout, make_env

# Each builds or installs a wheel and runs the kit in fresh processes: minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

GUIDE = ROOT / "docs" / "instructor.md"
SECTIONS = (
    "Install the kit",
    "Release an assignment",
    "Hand the student bundle out",
    "Grade one submission",
    "Gradescope",
)
# The course repository as an instructor has it (tests, caches and venvs left out).
COURSE = ("pyproject.toml", "README.md", "autograder", "reference", "solutions", "assignments",
          "examples")  # fmt: skip


def sections(text: str) -> dict[str, str]:
    """The body of each `## ` section of `text`, by title."""
    parts = re.split(r"^## (.+)\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def fences(body: str) -> list[tuple[str, str]]:
    """Each fenced block of `body`: its language and its text."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", body, flags=re.MULTILINE | re.DOTALL)


def test_every_command_of_the_guide_runs(tmp_path: Path) -> None:
    guide = sections(GUIDE.read_text())
    blocks = []
    for title in SECTIONS:
        found = fences(guide[title])
        assert found and all(language == "bash" for language, _ in found), title
        blocks += [f"echo '## {title}'\n{code}" for _, code in found]
    course = copy_checkout(COURSE, tmp_path / "course")
    env = make_env(tmp_path / "venv")
    script = "set -euxo pipefail\n" + "\n".join(blocks)
    offline = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = env.run("bash", "-c", script, cwd=course, env=offline, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    installed = env.site_packages() / "autograder" / "rubrics" / "gradient_descent.toml"
    assert installed.is_file()
    assert re.search(r"released 3 assignments to assignments/: \d+ files, 0 changed", result.stdout)
    assert (course / "handout" / "gradient_descent.zip").is_file()
    assert "likely mistake" in result.stdout
    assert result.stdout.rstrip().endswith("40.0")
