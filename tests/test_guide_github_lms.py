"""docs/instructor.md, "GitHub Classroom" and "Grades into the LMS": every command block of
the two sections run in order, as written, in one shell.

GitHub is stood in for by bare repositories on disk: git's `url.<base>.insteadOf` sends the
guide's https://github.com/... addresses there, so the guide's own git commands push the
template and clone the students' repositories. Each student repository holds commits dated
before and after the guide's deadline, so the deadline checkout is checked too.
"""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "instructor.md"
SECTIONS = ("GitHub Classroom", "Grades into the LMS (Canvas, Moodle)")
SAMPLE = ROOT / "examples" / "class" / "gradient_descent"
MODULE = "gradient_descent.py"
BLOCK = re.compile(r"^( *)```(\w+)(?: (\S+))?\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : None if end < 0 else end]


def _blocks(text: str) -> list[tuple[str, str | None, str]]:
    """(language, file name or None, body) of each fenced block, in order, dedented."""
    found = BLOCK.findall(text)
    return [(lang, name or None, textwrap.dedent(body)) for _, lang, name, body in found]


def _git(*arguments: str, cwd: Path, env: dict[str, str], date: str | None = None) -> None:
    dated = env if date is None else {**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *arguments], cwd=cwd, env=dated, check=True, capture_output=True)


def _github(root: Path, env: dict[str, str]) -> None:
    """my-course's repositories: the empty template, and one per student with commits before
    and after the deadline (bob fixes his bugs a day late)."""
    organization = root / "github" / "my-course"
    organization.mkdir(parents=True)
    _git("init", "--quiet", "--bare", "optim-gd-template.git", cwd=organization, env=env)
    versions = {
        "alice": [("2026-12-10T12:00:00", SAMPLE / "alice" / MODULE)],
        "bob": [("2026-12-10T12:00:00", SAMPLE / "bob" / MODULE),
                ("2026-12-12T12:00:00", SAMPLE / "alice" / MODULE)],
    }  # fmt: skip
    for user, commits in versions.items():
        work = root / "work" / user
        work.mkdir(parents=True)
        _git("init", "--quiet", "-b", "main", cwd=work, env=env)
        for date, module in commits:
            (work / MODULE).write_bytes(module.read_bytes())
            _git("add", MODULE, cwd=work, env=env)
            _git("commit", "--quiet", "-m", f"{user} at {date}", cwd=work, env=env, date=date)
        bare = organization / f"optim-gd-{user}.git"
        _git("clone", "--quiet", "--bare", str(work), str(bare), cwd=root, env=env)


def _environment(root: Path) -> dict[str, str]:
    config = root / "gitconfig"
    config.write_text(
        "[user]\n\tname = TA\n\temail = ta@uni.edu\n"
        "[init]\n\tdefaultBranch = main\n"
        f'[url "file://{root}/github/"]\n\tinsteadOf = https://github.com/\n'
    )
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def _csv(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text().splitlines()))


@pytest.mark.slow
def test_the_github_classroom_and_lms_sections_run_as_written(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    _github(tmp_path, env)
    text = GUIDE.read_text()
    blocks = [block for title in SECTIONS for block in _blocks(_section(text, title))]
    course = tmp_path / "course"
    course.mkdir()
    for _, name, body in blocks:
        if name is not None:
            (course / name).write_text(body)
    script = "\n".join(body for lang, _, body in blocks if lang == "bash")
    assert script.count("optim-grader ") >= 6
    done = subprocess.run(
        ["bash", "-e", "-u", "-o", "pipefail", "-c", script],
        cwd=course, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    pushed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "main"],
        cwd=tmp_path / "github" / "my-course" / "optim-gd-template.git",
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert ".github/workflows/grade.yml" in pushed and MODULE in pushed

    gradebook = course / "grades" / "gradebook.sqlite"
    with sqlite3.connect(gradebook) as connection:
        bob = connection.execute(
            "SELECT score FROM gradings WHERE student = 'bob' ORDER BY id"
        ).fetchall()
    assert len(bob) == 2 and bob[0][0] < 40 == bob[1][0]  # the deadline's version, then main's
    grades = {row[0]: row[1] for row in _csv(course / "grades" / "grades.csv")[1:]}
    assert grades == {"alice": "40", "bob": "40"}

    header, points, *rows = _csv(course / "canvas.csv")
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 1"]
    assert points[0] == "Points Possible"
    assert [(row[1], row[-1]) for row in rows] == [("1021", "40"), ("1022", "40"), ("1023", "")]
    assert "no grade for carol" in done.stderr
    header, *rows = _csv(course / "moodle.csv")
    assert header[:2] == ["Email address", "ID number"] and header[-1] == "Assignment 1"
    assert [(row[0], row[-1]) for row in rows] == [
        ("alice@uni.edu", "40"), ("bob@uni.edu", "40"), ("carol@uni.edu", "")
    ]  # fmt: skip
    assert _csv(course / "grades-lms.csv")[0][-1] == "Assignment 1"
