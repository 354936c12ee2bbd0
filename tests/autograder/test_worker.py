"""The worker: student functions run in a real subprocess and come back as checked outcomes.

Each fixture submission under tests/fixtures/submissions is loaded by one worker (a module
fixture), so the file starts a handful of processes, not one per test.
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import struct
import sys
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograder.config import LIMIT_AFTER_A_TIMEOUT
from autograder.errors import ChannelClosed, WorkerError
from autograder.problems import problem
from autograder.trajectory import Trajectory, run_optimizer
from autograder.worker import CaseOutcome, CaseRequest, receive_outcome, run_cases
from autograder.worker.host.session import Shared, check_request
from autograder.worker.protocol import encode_frame, encode_reply

SUBMISSIONS = Path(__file__).resolve().parents[1] / "fixtures" / "submissions"
HOSTILE = SUBMISSIONS.parent / "hostile"


def optimizer(function: str, problem_name: str = "quadratic_2d", **fields: Any) -> CaseRequest:
    fields.setdefault("hyperparameters", {"lr": 0.1})
    return CaseRequest(function, "optimizer", problem_name, **fields)


def import_fixture(path: Path) -> types.ModuleType:
    """Import a fixture submission in this process (it is the kit's own test data)."""
    spec = importlib.util.spec_from_file_location(f"fixture_{path.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def by_function(outcomes: Sequence[CaseOutcome]) -> dict[str, CaseOutcome]:
    return {outcome.request.function: outcome for outcome in outcomes}


def assert_same_trajectory(got: Trajectory | None, expected: Trajectory) -> None:
    assert got is not None
    assert len(got.points) == len(expected.points)
    for step, (point, reference) in enumerate(zip(got.points, expected.points, strict=True)):
        assert point.dtype == reference.dtype and torch.equal(point, reference), f"step {step}"
    assert got.losses == expected.losses
    assert [sorted(s) for s in got.states] == [sorted(s) for s in expected.states]
    for state, reference_state in zip(got.states, expected.states, strict=True):
        for name, value in reference_state.items():
            assert torch.equal(state[name], value), name


# --- a correct submission ------------------------------------------------------------------

CORRECT = SUBMISSIONS / "correct" / "gradient_descent.py"
MATCHED_CASES = {
    "gd on quadratic_2d": optimizer("gd"),
    "gd with weight decay on noisy_quadratic": optimizer(
        "gd", "noisy_quadratic", hyperparameters={"lr": 0.05, "weight_decay": 0.1}
    ),
    "gd maximizing on saddle_2d": optimizer(
        "gd", "saddle_2d", hyperparameters={"lr": 0.01, "maximize": True}
    ),
    "gd in float32": optimizer("gd", dtype="float32"),
    "momentum with dampening on lr_drop": optimizer(
        "momentum", "lr_drop", hyperparameters={"lr": 0.05, "dampening": 0.5}
    ),
    "gd on lr_drop with its default lr": optimizer("gd", "lr_drop", hyperparameters={}),
    "gd on a 0-d view of quadratic_1d": optimizer("gd", "quadratic_1d", shape=()),
    "gd on a 3-d view of quadratic_2d": optimizer("gd", shape=(1, 2, 1)),
    "momentum on a 3-d view of zero_gradient": optimizer(
        "momentum", "zero_gradient", hyperparameters={"lr": 0.1, "weight_decay": 0.5},
        shape=(3, 1, 2),
    ),
}  # fmt: skip
SAMPLER = CaseRequest("minibatches", "sampler", n=10, batch_size=4, seed=7)


@pytest.fixture(scope="module")
def correct() -> list[CaseOutcome]:
    return run_cases(CORRECT, [*MATCHED_CASES.values(), SAMPLER])


def viewed(optimizer: Any, shape: tuple[int, ...] | None) -> Any:
    """`optimizer` on x and grad reshaped to `shape`, its result reshaped back, as a case with
    a `shape` runs the student's function."""
    if shape is None:
        return optimizer

    def run(x: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], **options: Any) -> Any:
        return optimizer(x.reshape(shape), grad.reshape(shape), state, **options).reshape(x.shape)

    return run


@pytest.mark.parametrize("case", list(MATCHED_CASES))
def test_a_correct_optimizer_gives_the_in_process_trajectory(
    correct: list[CaseOutcome], case: str
) -> None:
    outcome = correct[list(MATCHED_CASES).index(case)]
    request = MATCHED_CASES[case]
    assert (outcome.status, outcome.message, outcome.step) == ("ran", "", None)
    assert outcome.modified is None
    assert request.problem is not None
    expected = run_optimizer(
        viewed(getattr(import_fixture(CORRECT), request.function), request.shape),
        problem(request.problem),
        request.hyperparameters,
        dtype=getattr(torch, request.dtype),
    )
    assert_same_trajectory(outcome.trajectory, expected)


SHIFTING_STATE = """
import torch


def gd(x, grad, state, *, lr=1e-3, weight_decay=0.0, maximize=False):
    step = state.get("step", 0) + 1
    state["step"] = step
    state["trace"] = torch.full((step,), float(step), dtype=x.dtype)  # a new shape each step
    if step % 2:
        state["odd"] = grad.clone()
    else:
        state.pop("odd", None)
    return x - lr * grad
"""


def test_state_entries_that_change_shape_or_come_and_go_are_read_back_step_by_step(
    tmp_path: Path,
) -> None:
    module = tmp_path / "gradient_descent.py"
    module.write_text(SHIFTING_STATE)
    (outcome,) = run_cases(module, [optimizer("gd")])
    expected = run_optimizer(import_fixture(module).gd, problem("quadratic_2d"), {"lr": 0.1})
    assert outcome.status == "ran"
    assert_same_trajectory(outcome.trajectory, expected)


def test_a_sampler_returns_the_batches_of_the_seeded_permutation(
    correct: list[CaseOutcome],
) -> None:
    outcome = correct[-1]
    permutation = torch.randperm(10, generator=torch.Generator().manual_seed(7))
    assert outcome.status == "ran" and outcome.batches is not None
    assert [b.tolist() for b in outcome.batches] == [
        permutation[:4].tolist(),
        permutation[4:8].tolist(),
        permutation[8:].tolist(),
    ]


# --- schedules ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schedules() -> dict[str, CaseOutcome]:
    requests = [
        CaseRequest("step_lr", "schedule", steps=5, hyperparameters={"lr": 1.0, "step_size": 2}),
        CaseRequest("cosine_lr", "schedule", steps=3, hyperparameters={"lr": 0.5, "T_max": 2}),
        CaseRequest("exponential_lr", "schedule", steps=3, hyperparameters={"lr": 1, "gamma": 0.5}),
        CaseRequest("linear_warmup", "schedule", steps=4, hyperparameters={"lr": 0.25}),
    ]
    return by_function(run_cases(SUBMISSIONS / "correct" / "schedules.py", requests))


def test_a_schedule_is_evaluated_at_every_step(schedules: dict[str, CaseOutcome]) -> None:
    assert schedules["step_lr"].status == "ran"
    assert schedules["step_lr"].lrs == pytest.approx((1.0, 1.0, 0.1, 0.1, 0.01), rel=1e-15)
    # cosine from 0.5 to 0 over T_max = 2: 0.5, 0.5 (1 + cos(pi/2)) / 2 = 0.25, 0
    assert schedules["cosine_lr"].lrs == pytest.approx((0.5, 0.25, 0.0), abs=1e-15)


def test_a_schedule_must_return_a_finite_python_number(schedules: dict[str, CaseOutcome]) -> None:
    tensor, nan = schedules["exponential_lr"], schedules["linear_warmup"]
    assert (tensor.status, tensor.step, tensor.lrs) == ("bad_return", 0, ())
    assert tensor.message.startswith("schedules.py: exponential_lr returned a torch.Tensor")
    assert "return the learning rate as a Python float" in tensor.message
    assert (nan.status, nan.step, nan.lrs) == ("bad_return", 2, (0.25, 0.25))
    assert "linear_warmup returned nan at step 2" in nan.message


# --- one contract violation per function ------------------------------------------------------

BROKEN = SUBMISSIONS / "broken" / "adaptive.py"
VIOLATIONS = {
    # function: (status, step, what the message says after "adaptive.py: ")
    "adagrad": ("raised", 3, "adagrad raised ZeroDivisionError: division by zero at line 7"),
    "rmsprop": ("bad_return", 1, "rmsprop returned None at step 1; return a new torch.Tensor"),
    "adadelta": ("bad_return", 1, "adadelta returned a list at step 1"),
    "adam": ("bad_return", 1, "adam returned a numpy.ndarray at step 1"),
    "adamw": ("bad_return", 2, "adamw returned a tensor of shape (1, 2) for x of shape (2,)"),
    "adamax": ("bad_return", 1, "adamax returned a float32 tensor for float64 x at step 1"),
    "radam": ("not_implemented", 1, "radam is not implemented yet"),
    "adabound": ("missing_function", None, "there is no function adabound; define adabound("),
    "subclass_result": ("bad_return", 1, "an adaptive.Scaled (a subclass of torch.Tensor)"),
    "nan_result": ("bad_return", 1, "holding NaN from finite x and grad at step 1; look for a "
                   "division by zero"),
    "lr_only": ("wrong_signature", None, "lr_only cannot be called as lr_only(x, grad, state, "
                "lr=..., weight_decay=...) (got an unexpected keyword argument 'weight_decay')"),
    "not_a_function": ("wrong_signature", None, "(it is an int, not a function)"),
    "torch_error": ("raised", 1, "torch_error raised RuntimeError"),
    "float_batches": ("bad_return", None, "float_batches returned a list whose batch 0 is a "
                      "1-D float32 tensor; return a list of 1-D integer tensors of indices"),
}  # fmt: skip


def _broken_request(function: str) -> CaseRequest:
    if function == "float_batches":
        return CaseRequest(function, "sampler", n=5, batch_size=2)
    if function == "lr_only":
        return optimizer(function, hyperparameters={"lr": 0.1, "weight_decay": 0.0})
    return optimizer(function)


def clipped_grad(x: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], *, lr: float) -> Any:
    return x - lr * grad.clamp(-1, 1)


PURE = import_fixture(CORRECT)
IN_PLACE = {
    # function: (the argument it modifies first, at which step, a pure equivalent)
    "nadam": ("x", 1, PURE.gd),  # x -= lr * grad; return x
    "clipped_grad": ("grad", 1, clipped_grad),  # grad.clamp_(-1, 1)
    "heavy_ball": ("grad", 2, PURE.momentum),  # grad += momentum * buffer, from step 2 on
}


# function: (the argument it changes, the step that argument was given at, as it is named)
CHANGED_LATER = {"swapped_data": ("x", 3), "late_change": ("grad", 1)}


@pytest.fixture(scope="module")
def broken() -> dict[str, CaseOutcome]:
    requests = [_broken_request(f) for f in [*VIOLATIONS, *IN_PLACE, *CHANGED_LATER]]
    return by_function(run_cases(BROKEN, requests))


@pytest.mark.parametrize("function", list(VIOLATIONS))
def test_each_violation_is_named_with_its_step(
    broken: dict[str, CaseOutcome], function: str
) -> None:
    status, step, fragment = VIOLATIONS[function]
    outcome = broken[function]
    assert (outcome.status, outcome.step) == (status, step), outcome.message
    assert outcome.message.startswith("adaptive.py: ") and function in outcome.message
    assert fragment in outcome.message
    assert "\n" not in outcome.message


@pytest.mark.parametrize("function", list(IN_PLACE))
def test_a_modified_input_is_named_and_the_run_goes_on_with_what_it_returned(
    broken: dict[str, CaseOutcome], function: str
) -> None:
    argument, step, pure = IN_PLACE[function]
    outcome = broken[function]
    assert (outcome.status, outcome.message, outcome.step) == ("ran", "", None)
    assert outcome.modified == (
        f"adaptive.py: {function} modified {argument} in place at step {step}; leave x and grad "
        "unchanged and return a new tensor"
    )
    expected = run_optimizer(pure, problem("quadratic_2d"), {"lr": 0.1})
    assert_same_trajectory(outcome.trajectory, expected)


@pytest.mark.parametrize("function", list(CHANGED_LATER))
def test_an_input_changed_in_shape_or_after_its_step_is_named_at_the_step_it_was_given(
    broken: dict[str, CaseOutcome], function: str
) -> None:
    argument, step = CHANGED_LATER[function]
    outcome = broken[function]
    assert outcome.status == "ran", outcome.message
    assert outcome.modified is not None
    assert outcome.modified.startswith(
        f"adaptive.py: {function} modified {argument} in place at step {step}; "
    )


def test_a_modified_input_is_named_even_when_the_same_step_stops_the_case(
    broken: dict[str, CaseOutcome],
) -> None:
    rmsprop = broken["rmsprop"]  # x.sub_(...) and no return
    assert (rmsprop.status, rmsprop.step) == ("bad_return", 1)
    assert rmsprop.modified is not None
    assert rmsprop.modified.startswith("adaptive.py: rmsprop modified x in place at step 1; ")
    assert broken["adamw"].modified is None


def test_the_trajectory_before_the_stop_is_kept(broken: dict[str, CaseOutcome]) -> None:
    adagrad = broken["adagrad"].trajectory
    assert adagrad is not None and len(adagrad.points) == 3  # the start and two good steps
    assert [s["step"].item() for s in adagrad.states] == [1.0, 2.0]
    start = problem("quadratic_2d").start()
    grad = problem("quadratic_2d").grad(start, 0)
    assert torch.equal(adagrad.points[1], start - 0.1 * grad * 0.5)


def test_a_raised_error_points_at_the_students_line(broken: dict[str, CaseOutcome]) -> None:
    lines = BROKEN.read_text().splitlines()
    adagrad, torch_error = broken["adagrad"], broken["torch_error"]
    assert adagrad.line is not None and "error surfaces here" in lines[adagrad.line - 1]
    assert (adagrad.error_type, adagrad.error_message) == ("ZeroDivisionError", "division by zero")
    assert torch_error.line is not None and "torch.ones(7) @ grad" in lines[torch_error.line - 1]
    assert f"at line {torch_error.line} (`return x - lr * torch.ones(7) @ grad" in (
        torch_error.message
    )
    assert broken["radam"].line is None and broken["radam"].error_type is None


# --- processes that misbehave ---------------------------------------------------------------


def test_efficiency_runs_take_nothing_of_the_bytes_a_submissions_replies_may_hold() -> None:
    """An efficiency run's last x is cut to a sample as it arrives: three of 1 MB each pass
    with no byte left to the submission, whose other replies are still refused."""
    efficiency = [
        optimizer(f, "quadratic_1d", measure="efficiency", size=250_000, dtype="float32")
        for f in ("gd", "momentum", "nesterov")
    ]
    shared = Shared.for_submission(60.0)
    shared.meter.left = 0
    outcomes = run_cases(
        SUBMISSIONS.parents[1].parent / "solutions" / "gradient_descent.py",
        [*efficiency, optimizer("gd")],
        shared=shared,
    )
    assert [o.status for o in outcomes] == ["ran", "ran", "ran", "invalid_reply"]
    assert all(o.final is not None and len(o.final.values) <= 4096 for o in outcomes[:3])
    assert "over 0" in outcomes[3].message


def test_an_endless_loop_times_out_and_the_other_functions_still_run() -> None:
    functions = ("gd", "momentum", "nesterov")
    outcomes = run_cases(
        SUBMISSIONS / "looping" / "gradient_descent.py",
        [optimizer(f) for f in functions],
        case_time_limit=1.0,
    )
    assert [o.status for o in outcomes] == ["ran", "timeout", "ran"]
    assert outcomes[1].message == (
        "gradient_descent.py: momentum did not finish within 1 s; look for an endless loop or "
        "far too much work per step"
    )
    assert outcomes[2].trajectory is not None and len(outcomes[2].trajectory.points) == 21


HANGS_AT_LR_0_3 = """
import time


def gd(x, grad, state, *, lr=1e-3, weight_decay=0.0, maximize=False):
    while lr == 0.3:
        time.sleep(1)
    return x - lr * grad


def momentum(x, grad, state, *, lr=1e-3, **others):
    return x - 2 * lr * grad
"""


def test_requests_held_ahead_by_a_worker_that_hangs_are_sent_again_to_the_next(
    tmp_path: Path,
) -> None:
    # the worker holds the cases after the one it runs: gd's last is given up with the one
    # that hangs, momentum's go to a fresh worker, each answered as its own
    module = tmp_path / "gradient_descent.py"
    module.write_text(HANGS_AT_LR_0_3)
    cases = [("gd", 0.1), ("gd", 0.3), ("momentum", 0.1), ("momentum", 0.2), ("gd", 0.4),
             ("momentum", 0.3)]  # fmt: skip
    requests = [optimizer(function, hyperparameters={"lr": lr}) for function, lr in cases]
    outcomes = run_cases(module, requests, case_time_limit=1.0)
    assert [o.request for o in outcomes] == requests
    assert [o.status for o in outcomes] == ["ran", "timeout", "ran", "ran", "timeout", "ran"]
    in_process = import_fixture(module)
    for outcome in (o for o in outcomes if o.status == "ran"):
        function = getattr(in_process, outcome.request.function)
        expected = run_optimizer(function, problem("quadratic_2d"), outcome.request.hyperparameters)
        assert_same_trajectory(outcome.trajectory, expected)


@pytest.mark.slow
def test_after_a_time_out_the_next_function_that_hangs_gets_the_short_limit() -> None:
    started = time.monotonic()
    outcomes = run_cases(
        HOSTILE / "hanging" / "gradient_descent.py",
        [optimizer(f) for f in ("momentum", "nesterov", "gd")],
        case_time_limit=2 * LIMIT_AFTER_A_TIMEOUT,
    )
    assert [o.status for o in outcomes] == ["timeout", "timeout", "ran"]
    assert f"nesterov did not finish within {LIMIT_AFTER_A_TIMEOUT:g} s" in outcomes[1].message
    assert time.monotonic() - started < 3 * LIMIT_AFTER_A_TIMEOUT + 2  # the start, two kills


def test_exiting_the_process_costs_only_that_case() -> None:
    outcomes = run_cases(
        SUBMISSIONS / "exiting" / "gradient_descent.py",
        [optimizer(f) for f in ("gd", "momentum", "nesterov", "kill_self")],
    )
    assert [o.status for o in outcomes] == ["crashed", "crashed", "ran", "crashed"]
    assert outcomes[0].message.startswith(
        "gradient_descent.py: gd ended the worker process (exit status 3)"
    )
    assert outcomes[1].message.startswith(
        "gradient_descent.py: momentum called sys.exit(2) at line 13 (`sys.exit(2)`) at step 1"
    )
    assert outcomes[3].message == (
        "gradient_descent.py: kill_self killed the worker process (SIGKILL); a graded function "
        "must return, never end the process"
    )


PROBING = {
    "import reference": optimizer("gd"),
    "import solutions": optimizer("momentum"),
    "print and read": optimizer("nesterov"),
    "3-d view": optimizer("shape_probe", "zero_gradient", shape=(3, 1, 2)),
    "0-d view": optimizer("shape_probe", "quadratic_1d", shape=()),
    "forge a reply": optimizer("forge_reply"),
    "after the forgery": optimizer("nesterov"),
}


@pytest.fixture(scope="module")
def probing() -> dict[str, CaseOutcome]:
    outcomes = run_cases(SUBMISSIONS / "probing" / "gradient_descent.py", list(PROBING.values()))
    return dict(zip(PROBING, outcomes, strict=True))


@pytest.mark.parametrize("package", ["reference", "solutions"])
def test_the_worker_cannot_import_the_reference_or_the_solutions(
    probing: dict[str, CaseOutcome], package: str
) -> None:
    outcome = probing[f"import {package}"]
    assert (outcome.status, outcome.error_type) == ("raised", "ModuleNotFoundError")
    assert f"No module named '{package}'" in outcome.message


def test_prints_and_reads_do_not_touch_the_channel(probing: dict[str, CaseOutcome]) -> None:
    outcome = probing["print and read"]
    assert outcome.status == "ran", outcome.message
    assert outcome.trajectory is not None and len(outcome.trajectory.points) == 21


def test_the_student_sees_the_requested_view(probing: dict[str, CaseOutcome]) -> None:
    three_d, zero_d = probing["3-d view"].trajectory, probing["0-d view"].trajectory
    assert three_d is not None and zero_d is not None
    assert (three_d.states[0]["ndim"].item(), three_d.states[0]["size"].item()) == (3, 3)
    assert tuple(three_d.points[1].shape) == (2, 3)  # the problem's own shape again
    assert zero_d.states[0]["ndim"].item() == 0
    assert tuple(zero_d.points[1].shape) == (1,)


def test_a_forged_reply_is_invalid_and_a_fresh_worker_takes_the_next_case(
    probing: dict[str, CaseOutcome],
) -> None:
    forged_reply, after = probing["forge a reply"], probing["after the forgery"]
    assert forged_reply.status == "invalid_reply" and forged_reply.trajectory is None
    assert forged_reply.message.startswith(
        "gradient_descent.py: the worker's reply for forge_reply was invalid ("
    )
    assert after.status == "ran" and after.trajectory is not None


# --- modules that do not load ---------------------------------------------------------------


def test_an_endless_import_is_a_load_error_for_every_case() -> None:
    outcomes = run_cases(
        SUBMISSIONS / "import_loop" / "adaptive.py",
        [optimizer("adam"), optimizer("adamw")],
        case_time_limit=1.0,
    )
    assert [o.status for o in outcomes] == ["load_error", "load_error"]
    assert outcomes[0].message == (
        "adaptive.py: importing it did not finish within 1 s; fix it so that the module imports "
        "on its own"
    )


def test_an_import_error_names_its_line(tmp_path: Path) -> None:
    outcomes = run_cases(SUBMISSIONS / "import_error" / "adaptive.py", [optimizer("adam")])
    (outcome,) = outcomes
    assert (outcome.status, outcome.error_type, outcome.line) == ("load_error", "NameError", 5)
    assert outcome.message.startswith(
        "adaptive.py: importing it raised NameError: name 'undefined_name' is not defined at line 5"
    )


def test_a_syntax_error_is_a_load_error(tmp_path: Path) -> None:
    module = tmp_path / "adaptive.py"
    shutil.copy(SUBMISSIONS / "syntax_error" / "adaptive.py.txt", module)
    outcomes = run_cases(module, [optimizer("adam"), optimizer("adamw")])
    assert [(o.status, o.line) for o in outcomes] == [("load_error", 4), ("load_error", 4)]
    assert outcomes[0].message.startswith("adaptive.py: it has a syntax error at line 4: ")


def test_a_missing_module_is_a_load_error_without_a_worker(tmp_path: Path) -> None:
    outcomes = run_cases(tmp_path / "adaptive.py", [optimizer("adam")])
    assert [(o.status, o.message) for o in outcomes] == [
        ("load_error", "adaptive.py: it does not exist; fix it so that the module imports on "
         "its own"),
    ]  # fmt: skip


def test_a_worker_that_cannot_start_is_the_kits_error_not_the_students(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    false = shutil.which("false")
    assert false is not None
    monkeypatch.setattr(sys, "executable", false)  # the worker exits before its handshake
    with pytest.raises(WorkerError, match="the grading worker did not start"):
        run_cases(CORRECT, [optimizer("gd")])


# --- requests -------------------------------------------------------------------------------


def test_a_request_survives_json_with_its_tuples() -> None:
    request = optimizer(
        "adam", hyperparameters={"lr": 0.1, "betas": (0.8, 0.9)}, shape=(1, 2), steps=3
    )
    wire = json.loads(json.dumps(request.to_json()))
    assert wire["hyperparameters"]["betas"] == [0.8, 0.9]
    back = CaseRequest.from_json(wire)
    assert back == request and back.hyperparameters["betas"] == (0.8, 0.9)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (optimizer("gd", "no_such_problem"), "no problem named 'no_such_problem'"),
        (optimizer("gd", shape=(3,)), "shape (3,) does not hold the 2 coordinates"),
    ],
    ids=["unknown problem", "shape of the wrong size"],
)
def test_a_request_the_kit_got_wrong_is_refused_before_any_worker(
    request_: CaseRequest, error: str
) -> None:
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        check_request(request_)


def test_a_request_must_be_json() -> None:
    with pytest.raises(ValueError, match="not JSON values"):
        optimizer("gd", hyperparameters={"lr": torch.tensor(0.1)})


# --- replies the worker could forge -----------------------------------------------------------


def reader(data: bytes) -> Any:
    stream = io.BytesIO(data)

    def read_exact(size: int) -> bytes:
        chunk = stream.read(size)
        if len(chunk) < size:
            raise ChannelClosed("end of the crafted bytes")
        return chunk

    return read_exact


def forged(header: dict[str, Any], payload: bytes = b"") -> bytes:
    return encode_frame({"id": 0, "status": "ran", "message": "", **header}) + payload


def receive(data: bytes, request: CaseRequest | None = None) -> CaseOutcome:
    return receive_outcome(request or optimizer("gd"), reader(data), case_id=0, file="adaptive.py")


POINTS = torch.tensor([[1.0, 2.0], [0.5, 1.0]], dtype=torch.float64)
LOSSES = torch.tensor([9.0, 2.25], dtype=torch.float64)


def one_step(**header: Any) -> bytes:
    """A reply whose trajectory holds the start point and one step."""
    fields = {"id": 0, "status": "ran", "message": "", "points": 0, "losses": 1, "states": [{}]}
    return encode_reply({**fields, **header}, [POINTS, LOSSES])


def test_a_well_formed_reply_is_read_back() -> None:
    outcome = receive(one_step(modified=None))
    assert outcome.status == "ran" and outcome.trajectory is not None
    assert torch.equal(torch.stack(outcome.trajectory.points), POINTS)
    assert outcome.trajectory.losses == (9.0, 2.25)
    assert outcome.modified is None


def test_state_entries_are_read_back_from_rows_of_stacked_arrays() -> None:
    stacked = torch.tensor([[0.5, 0.25], [7.0, 8.0]], dtype=torch.float64)
    states = [{"m": [2, 1], "v": [2, 0]}]
    header = {"id": 0, "status": "ran", "message": "", "points": 0, "losses": 1, "states": states}
    outcome = receive(encode_reply(header, [POINTS, LOSSES, stacked]))
    assert outcome.trajectory is not None
    (state,) = outcome.trajectory.states
    assert state["m"].tolist() == [7.0, 8.0] and state["v"].tolist() == [0.5, 0.25]


@pytest.mark.parametrize(
    ("header", "argument", "step"),
    [
        ({"modified": {"argument": "grad", "step": 1}}, "grad", 1),
        ({"status": "bad_return", "step": 2, "modified": {"argument": "x", "step": 2}}, "x", 2),
    ],
    ids=["at the last step", "at the step that stopped the run"],
)
def test_a_modified_input_is_read_back_at_a_step_the_run_reached(
    header: dict[str, Any], argument: str, step: int
) -> None:
    outcome = receive(one_step(**header))
    assert outcome.modified == (
        f"adaptive.py: gd modified {argument} in place at step {step}; leave x and grad unchanged "
        "and return a new tensor"
    )


ONE_FLOAT = {"shape": [1], "nbytes": 8}
MALFORMED = {
    "unknown dtype": forged({"arrays": [{"dtype": "object", **ONE_FLOAT}]}, bytes(8)),
    "numpy dtype string": forged({"arrays": [{"dtype": "<f8", **ONE_FLOAT}]}, bytes(8)),
    "length inconsistent with the shape": forged(
        {"arrays": [{"dtype": "float64", "shape": [3], "nbytes": 16}]}, bytes(16)
    ),
    "huge shape": forged({"arrays": [{"dtype": "float64", "shape": [2**40, 2**40],
                                      "nbytes": 2**83}]}),
    "negative dimension": forged({"arrays": [{"dtype": "float64", "shape": [-1], "nbytes": 8}]}),
    "boolean as a size": forged({"arrays": [{"dtype": "float64", "shape": [True],
                                             "nbytes": 8}]}, bytes(8)),
    "extra descriptor field": forged({"arrays": [{"dtype": "float64", "pickle": 1, **ONE_FLOAT}]}),
    "no array list": forged({}),
    "header is a list": encode_frame([1, 2, 3]),
    "header is not JSON": struct.pack(">I", 5) + b"{oops",
    "header is not UTF-8": struct.pack(">I", 2) + b"\xff\xfe",
    "frame longer than the cap": struct.pack(">I", 2**31),
    "unknown status": forged({"status": "graded_full_marks", "arrays": []}),
    "status the parent decides": forged({"status": "timeout", "arrays": []}),
    "reply for another case": forged({"id": 5, "arrays": []}),
    "array reference out of range": forged(
        {"points": 3, "losses": 0, "states": [], "arrays": [{"dtype": "float64", **ONE_FLOAT}]},
        bytes(8),
    ),
    "one state too many": forged(
        {"points": 0, "losses": 0, "states": [{}], "arrays": [{"dtype": "float64", **ONE_FLOAT}]},
        bytes(8),
    ),
    "integer points": forged(
        {"points": 0, "losses": 1, "states": [],
         "arrays": [{"dtype": "int64", **ONE_FLOAT}, {"dtype": "float64", **ONE_FLOAT}]},
        bytes(16),
    ),
    "negative line": forged({"status": "raised", "line": -4, "arrays": []}),
    "message not a string": forged({"message": {"html": "<script>"}, "arrays": []}),
    "state as a bare array number": one_step(states=[{"m": 0}]),
    "state row outside its array": one_step(states=[{"m": [0, 2]}]),
    "state row true": one_step(states=[{"m": [0, True]}]),
    "state row of a 0-d array": encode_reply(
        {"id": 0, "status": "ran", "message": "", "points": 0, "losses": 1,
         "states": [{"m": [2, 0]}]},
        [POINTS, LOSSES, torch.tensor(1.0, dtype=torch.float64)],
    ),
    "state of three numbers": one_step(states=[{"m": [0, 0, 0]}]),
    "state array with more rows than steps": encode_reply(
        {"id": 0, "status": "ran", "message": "", "points": 0, "losses": 1,
         "states": [{"m": [2, 0]}]},
        [POINTS, LOSSES, torch.zeros(21, dtype=torch.float64)],  # gd's case: 20 steps
    ),
    "modified names no argument": one_step(modified={"argument": "state", "step": 1}),
    "modified at step 0": one_step(modified={"argument": "x", "step": 0}),
    "modified after the last step": one_step(modified={"argument": "x", "step": 2}),
    "modified at step true": one_step(modified={"argument": "x", "step": True}),
    "modified as a string": one_step(modified="x"),
    "modified with a message of its own": one_step(
        modified={"argument": "x", "step": 1, "message": "<script>"}
    ),
    "modified in a case that never ran": forged(
        {"status": "missing_function", "modified": {"argument": "x", "step": 1}, "arrays": []}
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_reply_is_an_invalid_reply(case: str) -> None:
    outcome = receive(MALFORMED[case])
    assert outcome.status == "invalid_reply"
    assert outcome.message.startswith("adaptive.py: the worker's reply for gd was invalid (")
    assert outcome.trajectory is None


@pytest.mark.parametrize(
    "lengths",
    [[1, 1], [2, 0], [3, -1], [2, 2**62, 2**62, 2**62, 2**62]],
    ids=["adding up", "with an empty batch", "negative", "overflowing int64 to the right sum"],
)
def test_batch_lengths_must_add_up_without_overflow(lengths: list[int]) -> None:
    header = {"id": 0, "status": "ran", "message": "", "indices": 0, "lengths": 1}
    arrays = [torch.arange(2), torch.tensor(lengths, dtype=torch.int64)]
    sampler = CaseRequest("minibatches", "sampler", n=2, batch_size=2)
    outcome = receive(encode_reply(header, arrays), sampler)
    if all(size >= 0 for size in lengths) and sum(lengths) == 2:
        assert outcome.status == "ran" and outcome.batches is not None
        assert [b.tolist() for b in outcome.batches] == [[0, 1][: lengths[0]], [0, 1][lengths[0] :]]
    else:
        assert outcome.status == "invalid_reply"


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_a_closed_channel(data: bytes) -> None:
    try:
        outcome = receive(data)
    except ChannelClosed:
        return
    assert outcome.status in ("invalid_reply", "ran")


def test_a_truncated_reply_is_a_closed_channel() -> None:
    data = forged({"arrays": [{"dtype": "float64", **ONE_FLOAT}]}, bytes(4))
    with pytest.raises(ChannelClosed):
        receive(data)
