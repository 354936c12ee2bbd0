"""The reference outcomes kept on disk: reused while the kit is unchanged, recomputed when an
entry is damaged or belongs to another case, safe with several writers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from autograder import expectations, reference_cache
from autograder.expectations import ReferenceExpectations
from autograder.reference_cache import DiskCache, from_record, record
from autograder.rubric import load_rubric
from autograder.worker import CaseOutcome, CaseRequest

REQUEST = CaseRequest("adam", "optimizer", "quadratic_2d", {"lr": 0.1}, steps=3)
OTHER = CaseRequest("adam", "optimizer", "quadratic_2d", {"lr": 0.2}, steps=3)


class Counted:
    def __init__(self, value: object) -> None:
        self.value, self.calls = value, 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def fetch(cache: DiskCache, request: CaseRequest, compute: Counted) -> object:
    return cache.fetch(request, compute, lambda v: v, lambda v: v)


def test_an_entry_is_computed_once_and_read_back_by_another_process_object(
    tmp_path: Path,
) -> None:
    compute = Counted({"x": [1.5, 2.5]})
    assert fetch(DiskCache("expected", tmp_path), REQUEST, compute) == {"x": [1.5, 2.5]}
    assert fetch(DiskCache("expected", tmp_path), REQUEST, compute) == {"x": [1.5, 2.5]}
    assert compute.calls == 1
    assert fetch(DiskCache("expected", tmp_path), OTHER, Counted({"y": 1})) == {"y": 1}


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"request": "other", "value": 1}',
                                    b'{"value": 1}', b"[1, 2]"])  # fmt: skip
def test_a_damaged_or_foreign_entry_is_recomputed(tmp_path: Path, damage: bytes) -> None:
    cache = DiskCache("expected", tmp_path)
    fetch(cache, REQUEST, Counted(1))
    (entry,) = tmp_path.rglob("*.json")
    entry.write_bytes(damage)
    compute = Counted(2)
    assert fetch(cache, REQUEST, compute) == 2 and compute.calls == 1


def test_an_edit_of_the_kit_never_reuses_an_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch(DiskCache("expected", tmp_path), REQUEST, Counted(1))
    monkeypatch.setattr(reference_cache, "source_digest", lambda: "another version of the kit")
    compute = Counted(2)
    assert fetch(DiskCache("expected", tmp_path), REQUEST, compute) == 2


def test_writers_racing_leave_one_whole_entry(tmp_path: Path) -> None:
    cache = DiskCache("expected", tmp_path)
    value = {"values": list(range(20_000))}
    threads = [threading.Thread(target=cache.put, args=(REQUEST, value)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get(REQUEST) == value
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [
        next(tmp_path.rglob("*.json")).name
    ]


def test_caching_off_keeps_nothing() -> None:
    assert reference_cache.cache_folder({"OPTIM_GRADER_CACHE": "off"}) is None


def same(a: CaseOutcome, b: CaseOutcome) -> bool:
    if (a.status, a.message, a.step, a.line, a.modified) != (
        b.status,
        b.message,
        b.step,
        b.line,
        b.modified,
    ):
        return False
    if (a.trajectory is None) != (b.trajectory is None):
        return False
    if a.trajectory is None or b.trajectory is None:
        return True
    return (
        all(
            bool((p == q).all())
            for p, q in zip(a.trajectory.points, b.trajectory.points, strict=True)
        )
        and a.trajectory.losses == b.trajectory.losses
    )


def test_reference_and_bug_outcomes_come_back_from_disk_as_they_were_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTIM_GRADER_CACHE", str(tmp_path))
    case = next(c for c in load_rubric("adaptive").for_function("adam") if c.visible)
    computed = ReferenceExpectations()
    expected, variants = computed.expected(case), computed.variants(case)

    def never(*arguments: object) -> CaseOutcome:
        raise AssertionError("an outcome on disk was computed again")

    monkeypatch.setattr(expectations, "run_in_process", never)
    reread = ReferenceExpectations()
    assert same(reread.expected(case), expected)
    again = reread.variants(case)
    assert [d for d, _ in again] == [d for d, _ in variants]
    assert all(same(a, b) for (_, a), (_, b) in zip(again, variants, strict=True))
    assert any(o.status != "ran" for _, o in variants) or any(o.trajectory for _, o in variants)
    assert same(from_record(REQUEST, record(expected)), expected)
