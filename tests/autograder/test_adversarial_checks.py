"""Checks that student code could patch in the worker are decided by the grading process.

Each hostile module (tests/fixtures/hostile) is right on every value case, so that its device
and efficiency checks count, and patches the worker's own measurements: the grading process
times the efficiency run itself, checks its last x against the reference on coordinates it
draws, and compares the device check's run with the reference (docs/threat-model.md).
"""

from __future__ import annotations

from pathlib import Path

from tests.autograder.test_adversarial import Graded, grade, graded_with_peak


def checks(graded: Graded, function: str, kind: str) -> list[dict[str, object]]:
    """The function's cases of one check ("efficiency", "device") that ran on this machine."""
    return [t for t in graded.tests(function) if t["name"].endswith(f"/{kind}")]


def values_right(graded: Graded, function: str) -> bool:
    """Every case of the function but its device and efficiency checks passed: those checks
    count, so what decides them is the grading process's own verdict."""
    others = [
        t for t in graded.tests(function) if not t["name"].endswith(("/device", "/efficiency"))
    ]
    return bool(others) and all(t["status"] == "passed" for t in others)


def test_a_loop_under_lying_clocks_and_a_step_that_skips_large_tensors_fail(
    tmp_path: Path,
) -> None:
    # time.perf_counter and torch.cuda.synchronize patched; gd loops over elements, momentum
    # returns x unchanged on large tensors
    graded = grade("clock_liar", tmp_path)
    assert values_right(graded, "gd") and values_right(graded, "momentum")
    [slow] = checks(graded, "gd", "efficiency")
    assert slow["status"] == "failed" and slow["score"] == 0
    assert "[slow] gd: 8 steps on 250,000 coordinates took" in str(slow["output"])
    [skipped_work] = checks(graded, "momentum", "efficiency")
    assert skipped_work["score"] == 0
    assert "[diverged] momentum: after 8 steps on 250,000 coordinates" in str(
        skipped_work["output"]
    )
    assert "a step must compute every coordinate" in str(skipped_work["output"])
    assert all(t["status"] == "passed" for t in checks(graded, "momentum", "device"))
    assert graded.full_marks("nesterov") and graded.full_marks("minibatches")


def test_runners_swapped_for_forgeries_earn_nothing(tmp_path: Path) -> None:
    # gd's efficiency runner skips the worker's probe and its device check is a plain CPU run;
    # momentum's device runner makes up a run
    graded = grade("runner_swapper", tmp_path)
    assert values_right(graded, "gd") and values_right(graded, "momentum")
    [slow] = checks(graded, "gd", "efficiency")
    assert slow["score"] == 0 and "[slow] gd: 8 steps on 250,000" in str(slow["output"])
    made_up = checks(graded, "momentum", "device")
    assert made_up and all(t["score"] == 0 for t in made_up)
    assert all("[diverged] on the emulated GPU: momentum:" in str(t["output"]) for t in made_up)
    on_the_cpu = checks(graded, "gd", "device")
    assert on_the_cpu and all(t["score"] == 0 for t in on_the_cpu)
    changed = "the module changed the grader's device check (runner device)"
    assert all(changed in str(t["output"]) for t in on_the_cpu)
    [fast] = checks(graded, "momentum", "efficiency")
    assert fast["status"] == "passed"
    # the CONTROL keeps all but the device check, which the module changed under it too
    assert values_right(graded, "nesterov") and graded.full_marks("minibatches")
    assert all(changed in str(t["output"]) for t in checks(graded, "nesterov", "device"))
    assert checks(graded, "nesterov", "efficiency")[0]["status"] == "passed"


def test_junk_state_costs_the_grading_process_nothing_and_the_real_entries_count(
    tmp_path: Path,
) -> None:
    # every step keeps 15 junk tensors like x in its state, as much as a reply may carry
    graded, peak_mib = graded_with_peak("state_padder", tmp_path, (0,))
    assert peak_mib < 1024, f"the grading process reached {peak_mib} MiB"
    for function in ("gd", "momentum", "nesterov", "minibatches"):
        assert graded.full_marks(function), function
