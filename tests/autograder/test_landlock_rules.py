"""The Landlock rules a worker asks for: every allowed folder readable but the hidden ones,
which no rule may reach, whatever their names share with their neighbours'."""

from __future__ import annotations

import os
from pathlib import Path

from autograder.worker.confine import landlock


class Recorded(landlock._Ruleset):
    """A ruleset that records its rules instead of asking the kernel."""

    def __init__(self) -> None:
        self.handled = ~0
        self.rules: list[str] = []

    def allow(self, path: Path, access: int) -> None:
        self.rules.append(str(path))


def rules(read: Path, hidden: list[Path]) -> list[str]:
    ruleset = Recorded()
    ruleset.allow_around(read, landlock.READ, [os.path.realpath(h) for h in hidden])
    return sorted(ruleset.rules)


def test_a_hidden_folder_is_left_out_and_its_neighbours_are_not(tmp_path: Path) -> None:
    for folder in ("kit/reference", "kit/referenced", "kit/reference-notes", "kit/autograder"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "kit" / "reference.py").write_text("")
    found = rules(tmp_path, [tmp_path / "kit" / "reference"])
    expected = ["autograder", "reference-notes", "reference.py", "referenced"]
    assert found == [str(tmp_path / "kit" / name) for name in expected]


def test_a_folder_that_is_hidden_or_inside_a_hidden_one_gets_no_rule(tmp_path: Path) -> None:
    (tmp_path / "reference" / "bugs").mkdir(parents=True)
    assert rules(tmp_path / "reference", [tmp_path / "reference"]) == []
    assert rules(tmp_path / "reference" / "bugs", [tmp_path / "reference"]) == []


def test_a_folder_with_nothing_hidden_below_it_is_one_rule(tmp_path: Path) -> None:
    (tmp_path / "site-packages" / "torch").mkdir(parents=True)
    assert rules(tmp_path / "site-packages", [tmp_path / "kit" / "reference"]) == [
        str(tmp_path / "site-packages")
    ]


def test_a_hidden_folder_reached_through_a_symlink_stays_hidden(tmp_path: Path) -> None:
    (tmp_path / "kit" / "reference").mkdir(parents=True)
    (tmp_path / "kit" / "docs").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "kit")
    assert rules(tmp_path / "link", [tmp_path / "kit" / "reference"]) == [
        str(tmp_path / "kit" / "docs")
    ]
