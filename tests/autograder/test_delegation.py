"""Delegation through the CLI: a function that hands its step to torch.optim or to the kit
scores zero on every case, whatever route it takes there; its own helpers do not count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autograder.cli import main

STUDENTS = Path(__file__).resolve().parents[1] / "fixtures" / "students" / "delegating"


def graded(
    assignment: str, capsys: pytest.CaptureFixture[str], folder: str | None = None
) -> dict[str, list[Any]]:
    """The JSON report's tests by function, of the student module in STUDENTS/`folder`
    (default: the folder named after the assignment)."""
    submission = STUDENTS / (folder or assignment)
    assert main(["grade", str(submission), "--assignment", assignment,
                 "--format", "json"]) == 0  # fmt: skip
    tests: dict[str, list[Any]] = {}
    for test in json.loads(capsys.readouterr().out)["tests"]:
        tests.setdefault(test["name"].split("/")[0], []).append(test)
    return tests


@pytest.mark.slow
def test_a_module_that_wraps_torch_optim_scores_zero(capsys):
    tests = graded("adaptive", capsys)
    called = {
        "adagrad": "torch.optim.",
        "rmsprop": "torch.optim.",
        "adadelta": "sys.settrace",  # the watch turned off first
        "adam": "torch.optim.adam",  # a reloaded module: its own code runs first
        "adamw": "torch.optim.",
        "adamax": "autograder.",
        "nadam": "torch.optim.",
        "radam": "torch.optim.",
        "adabound": "torch.optim.",
    }
    for function, cases in tests.items():
        for case in cases:
            assert case["score"] == 0, case["name"]
            assert f"{function} calls {called[function]}" in case["output"], case["output"]
            assert "scores zero" in case["output"]


def test_functional_sgd_and_the_kit_adapter_are_caught_and_own_helpers_are_not(capsys):
    tests = graded("gradient_descent", capsys)
    for function in ("gd", "nesterov"):
        assert {c["status"] for c in tests[function]} == {"failed"}
        assert all(c["score"] == 0 for c in tests[function])
    assert "gd calls torch.optim" in tests["gd"][0]["output"]
    assert "nesterov calls autograder." in tests["nesterov"][0]["output"]
    for function in ("momentum", "minibatches"):
        assert all(c["score"] == c["max_score"] for c in tests[function]), function


def test_delegation_that_names_cannot_hide_scores_zero(capsys):
    # gd is the kit's adapter itself; momentum's state runs torch.optim in a torch-function
    # hook compiled into torch's own module when the grader copies it; nesterov's step is
    # compiled into a module of the kit's worker; minibatches goes through the kit's own call
    # of a graded function
    tests = graded("gradient_descent", capsys, "in_disguise")
    called = {
        "gd": "autograder.experiments.from_torch",
        "momentum": "torch.optim.sgd",
        "nesterov": "torch.optim.sgd",
        "minibatches": "autograder.worker.child.graded_call.invoke",
    }
    for function, cases in tests.items():
        assert all(case["score"] == 0 for case in cases), function
        assert f"{function} calls {called[function]}" in cases[0]["output"], cases[0]["output"]


def test_a_thread_the_watch_cannot_follow_scores_zero(capsys):
    # gd hands each step to a thread started with _thread at import; the thread outlives every
    # call, so no function of the module can be vouched for
    tests = graded("gradient_descent", capsys, "threaded")
    for function, cases in tests.items():
        assert all(case["score"] == 0 for case in cases), function
        assert f"{function} calls a thread that is still running" in cases[0]["output"]


@pytest.mark.parametrize(
    ("folder", "functions", "called"),
    [
        # the hidden step never runs: the functions fail on their own
        ("in_the_watch", ("gd", "momentum", "nesterov"), None),
        ("file_name_in_the_watch", ("gd", "momentum", "nesterov"), None),
        ("gc_callback", ("gd", "momentum", "nesterov"), None),
        ("profiler", ("gd", "momentum", "nesterov"), "sys.setprofile"),
        ("audit_hook", ("gd", "momentum", "nesterov"), "sys.addaudithook"),
        ("signal_handler", ("gd", "momentum", "nesterov"), "signal"),
        ("torch_mode", ("gd",), "a torch mode left on"),
        # torch.optim's code, named by its new globals
        ("torch_code_rebound", ("gd", "momentum", "nesterov"), "my_helpers"),
        # the kit's code run by the module's __getattr__, outside any graded call
        ("module_getattr", ("gd",), "autograder."),
        ("module_getattr_disguised", ("gd", "momentum", "nesterov"), "autograder."),
    ],
)
def test_code_the_trace_function_cannot_see_earns_nothing(folder, functions, called, capsys):
    # steps run inside the watch's own lookups (a module name's hash, a file name's
    # startswith), in a collector's callback, a profile function, an audit hook or a signal
    # handler, in a torch mode's handler inside the kit's own calls, as torch.optim's code
    # under other globals, or in code the kit runs outside graded calls
    tests = graded("gradient_descent", capsys, folder)
    for function in functions:
        assert all(case["score"] == 0 for case in tests[function]), function
        if called is not None:
            assert f"{function} calls {called}" in tests[function][0]["output"]
