"""Device and efficiency checks: a function right on the CPU can still be wrong on a GPU.

Without CUDA the kit checks what it can: steps on a GPU emulated on the CPU (host round trips,
state on the default device) and step times on the CPU against a vectorised baseline; the CUDA
cases are skipped, worth nothing, and listed apart. With CUDA the tests at the end run them.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

import reference
from autograder.catalog import ASSIGNMENTS as CATALOGUE
from autograder.catalog import all_functions
from autograder.cli import main
from autograder.errors import RubricError
from autograder.expectations import ReferenceExpectations, run_in_process, shared_reference
from autograder.grading import _divergence, grade_submission
from autograder.reports import render
from autograder.rubric import Rubric, load_rubric
from autograder.worker import CaseRequest
from autograder.worker.child.efficiency_runner import SLOWDOWN_LIMIT, baseline_step, sizes
from autograder.worker.child.gpu import foreign_device, host_round_trip, misplaced_state
from autograder.worker.child.runners import Student, run_case
from tests.fixtures.students.apply_mutation import student_module
from tests.fixtures.students.device_mutations import DEVICE_MUTATIONS

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = tuple(a.name for a in CATALOGUE)
OPTIMIZERS = {f.name for f in all_functions() if f.kind == "optimizer"}
HOST_SYNC = "(or another host sync) inside the step"
EVERY_STEP = "this synchronises with the GPU every step"
LOOP = "slower than a vectorised step: is there a Python loop over elements?"
# What each mutant of DEVICE_MUTATIONS must lose (the check failing) and say.
LOSSES = {
    "item": ("device", "host_sync", ["calls `.item()` " + HOST_SYNC, EVERY_STEP]),
    "cpu": ("device", "host_sync", ["calls `.cpu()` " + HOST_SYNC, EVERY_STEP]),
    "zeros": ("device", "wrong_device", ["state `exp_avg` is on cpu while x is on cuda"]),
    "loop": ("efficiency", "slow", ["about", LOOP]),
}
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def mutated_adaptive(*names: str) -> str:
    return student_module(
        ROOT / "solutions" / "adaptive.py",
        {DEVICE_MUTATIONS[n][0]: DEVICE_MUTATIONS[n][1] for n in names},
    )


@pytest.fixture(scope="module")
def graded_mutants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`optim-grader grade --format json` of adaptive.py holding every mutant, each in its own
    function: one worker for the file."""
    folder = tmp_path_factory.mktemp("mutants")
    (folder / "adaptive.py").write_text(mutated_adaptive(*DEVICE_MUTATIONS))
    out = folder / "report.json"
    status = main(["grade", str(folder / "adaptive.py"), "--assignment", "adaptive",
                   "--format", "json", "--out", str(out)])  # fmt: skip
    assert status == 0
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def cases_of(report: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [t for t in report["tests"] if t["name"].split("/")[0] == function]


# --- through `optim-grader grade` ----------------------------------------------------------


@pytest.mark.parametrize("mutant", DEVICE_MUTATIONS)
def test_a_numerically_right_mutant_loses_exactly_its_device_or_efficiency_points(
    graded_mutants: dict[str, Any], mutant: str
) -> None:
    function = DEVICE_MUTATIONS[mutant][0]
    category, status, phrases = LOSSES[mutant]
    tests = [t for t in cases_of(graded_mutants, function) if "/cuda/" not in t["name"]]
    failing = [t for t in tests if t["status"] != "passed"]
    in_category = [t for t in tests if t["name"].endswith("/" + category)]
    assert failing and [t["name"] for t in failing] == [t["name"] for t in in_category]
    for test in failing:
        assert test["score"] == 0 and test["max_score"] > 0
        visible = {c.name for c in load_rubric("adaptive", cuda=False).cases if c.visible}
        tag = status if test["name"] in visible else f"{status}, hidden case"
        assert test["output"].startswith(f"[{tag}] adaptive.py: {function}")
        assert all(p in test["output"] for p in phrases), test["output"]
    kept = sum(t["max_score"] for t in tests if t not in failing)
    assert sum(t["score"] for t in tests) == pytest.approx(kept)


def test_the_functions_left_alone_keep_full_marks_device_and_efficiency_included(
    graded_mutants: dict[str, Any],
) -> None:
    mutated = {function for function, _ in DEVICE_MUTATIONS.values()}
    kept = [t for t in graded_mutants["tests"] if t["name"].split("/")[0] not in mutated]
    assert {t["name"].split("/")[-1] for t in kept} >= {"device", "efficiency"}
    assert [t["name"] for t in kept if t["status"] != "passed"] == []
    lost = sum(t["max_score"] for t in graded_mutants["tests"] if t["status"] != "passed")
    assert graded_mutants["score"] == pytest.approx(90 - lost)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: nothing skipped")
def test_without_cuda_the_cuda_cases_are_skipped_apart_and_the_maximum_stays(
    graded_mutants: dict[str, Any],
) -> None:
    skipped = graded_mutants["skipped"]
    graded_functions = {t["name"].split("/")[0] for t in graded_mutants["tests"]}
    assert skipped and all("/cuda/" in s["name"] for s in skipped)
    assert {s["name"].split("/")[0] for s in skipped} == OPTIMIZERS & graded_functions
    assert all(s["status"] == "skipped" for s in skipped)
    assert all("was not run on cuda: this machine has no CUDA device" in s["output"]
               for s in skipped)  # fmt: skip
    assert not {s["name"] for s in skipped} & {t["name"] for t in graded_mutants["tests"]}
    assert graded_mutants["max_score"] == pytest.approx(90)


# --- the worker's runners, in process ------------------------------------------------------

CORRECT = """
def gd(x, grad, state, *, lr=0.01):
    if not state:
        state["buf"] = torch.zeros_like(x)
    state["buf"] = 0.5 * state["buf"] + grad
{extra}    return x - lr * state["buf"]
"""
# (what the student adds before the return, the status, what the message must say)
ON_EMULATED_GPU = {
    "item": ("    scale = grad.abs().max().item()\n", "host_sync", "calls `.item()` " + HOST_SYNC),
    "float": ("    scale = float(grad.norm())\n", "host_sync",
              "calls `float(tensor)` " + HOST_SYNC),
    "if": ("    if (grad == 0).all():\n        return x.clone()\n", "host_sync",
           "calls `bool(tensor)` (an `if` on a tensor) " + HOST_SYNC),
    "tolist": ("    values = grad.tolist()\n", "host_sync", "calls `.tolist()` " + HOST_SYNC),
    "numpy": ("    values = grad.numpy()\n", "host_sync", "calls `.numpy()` " + HOST_SYNC),
    "cpu": ("    state['buf'] = state['buf'].cpu()\n", "host_sync", "calls `.cpu()` " + HOST_SYNC),
    "to cpu": ("    values = grad.to('cpu')\n", "host_sync", "calls `.to('cpu')` " + HOST_SYNC),
    "print": ("    print(grad)\n", "host_sync", "calls `print(tensor)` " + HOST_SYNC),
    "state on cpu": ("    state['norm'] = torch.zeros(x.shape)\n", "wrong_device",
                     "gd: state `norm` is on cpu while x is on cuda at step 1"),
    "state in float32": ("    state['norm'] = torch.zeros(x.shape, device=x.device)\n",
                         "wrong_device", "gd: state `norm` is float32 while x is float64"),
    "temporary on cpu": ("    state['buf'] = state['buf'] + torch.zeros(x.shape, dtype=x.dtype)\n",
                         "wrong_device", "gd: a tensor it makes is on cpu while x is on cuda"),
    "returned on cpu": ("    return torch.zeros(x.shape, dtype=x.dtype)\n", "bad_return",
                        "gd returned a tensor on cpu for x on cuda at step 1"),
    "correct": ("", "ran", ""),
    "state moved to x's device": (
        "    state['norm'] = torch.zeros(x.shape, dtype=x.dtype).to(x.device)\n", "ran", ""),
    "state made on x's device": (
        "    state['norm'] = torch.zeros(x.shape, dtype=x.dtype, device=x.device)\n", "ran", ""),
    "a host scalar read on the host": ("    beta = torch.tensor(0.5).item()\n", "ran", ""),
    "a 0-d host tensor": ("    state['buf'] = state['buf'] * torch.tensor(1.0)\n", "ran", ""),
}  # fmt: skip
LOOPED = """
def gd(x, grad, state, *, lr=0.01):
    new = x.clone().reshape(-1)
    flat = grad.reshape(-1)
    for i in range(new.numel()):
        new[i] = new[i] - lr * flat[i]
    return new.reshape(x.shape)
"""


def student(folder: Path, source: str) -> Student:
    """A student module written to `folder` and imported here, as the worker would."""
    path = folder / "gradient_descent.py"
    path.write_text("import torch\n\n" + source)
    spec = importlib.util.spec_from_file_location(f"device_student_{folder.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Student(module, path)


def device_check() -> CaseRequest:
    return CaseRequest("gd", "optimizer", "random_quadratic", {"lr": 0.005}, shape=(5, 10),
                       measure="device")  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "status", "phrase"), ON_EMULATED_GPU.values(), ids=ON_EMULATED_GPU.keys()
)
def test_an_emulated_gpu_shows_host_round_trips_and_tensors_left_on_the_cpu(
    tmp_path: Path, extra: str, status: str, phrase: str
) -> None:
    header = run_case(student(tmp_path, CORRECT.format(extra=extra)), device_check()).header
    assert header["status"] == status, header["message"]
    assert phrase in header["message"]
    if status == "host_sync":  # line 8: the first added one, after the four of CORRECT's start
        assert f" at line 8 (`{extra.splitlines()[0].strip()}`) at step 1: " in header["message"]
        assert header["step"] == 1 and EVERY_STEP in header["message"]


def test_the_errors_of_a_real_gpu_read_as_host_syncs_and_foreign_devices() -> None:
    cuda = torch.device("cuda", 0)
    sync = RuntimeError("called a synchronizing CUDA operation")
    assert host_round_trip(sync, cuda, "top = g.abs().max().item()") == "`.item()`"
    assert (
        host_round_trip(sync, cuda, "if (g > 0).any():") == "`bool(tensor)` (an `if` on a tensor)"
    )
    assert host_round_trip(sync, cuda, "return y") == "`.item()`"
    assert host_round_trip(sync, torch.device("cpu"), "top = g.item()") is None
    assert host_round_trip(RuntimeError("CUDA out of memory"), cuda, "g.item()") is None
    mixed = RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        "cuda:0 and cpu!"
    )
    assert foreign_device(mixed, cuda) == "cpu"
    assert foreign_device(RuntimeError("device-side assert triggered"), cuda) is None


def test_state_must_follow_x_but_for_scalars_on_the_host() -> None:
    x, exp_avg = torch.zeros(3, dtype=torch.float64), torch.zeros(3)
    on_gpu = {id(x)}

    def where(tensor: torch.Tensor) -> str:
        return "cuda:0" if id(tensor) in on_gpu else "cpu"

    state = {"step": 1, "host_step": torch.tensor(1.0), "exp_avg": exp_avg}
    assert misplaced_state(state, x, where) == ("exp_avg", "on cpu", "on cuda:0")
    on_gpu.add(id(exp_avg))
    assert misplaced_state(state, x, where) == ("exp_avg", "float32", "float64")
    state["exp_avg"] = x.clone()
    on_gpu.add(id(state["exp_avg"]))
    assert misplaced_state(state, x, where) is None


def test_a_function_wrong_on_the_cpu_fails_the_device_check_as_it_does_everywhere(
    tmp_path: Path,
) -> None:
    source = CORRECT.format(extra="").replace(
        'return x - lr * state["buf"]', 'return (x - lr * state["buf"]).numpy()'
    )
    header = run_case(student(tmp_path, source), device_check()).header
    assert header["status"] == "bad_return"
    assert "returned a numpy.ndarray at step 1" in header["message"]


def test_a_loop_over_a_million_elements_fails_within_a_second(tmp_path: Path) -> None:
    request = CaseRequest("gd", "optimizer", "quadratic_1d", {"lr": 0.005},
                          dtype="float32", measure="efficiency", size=1_000_000)  # fmt: skip
    started = time.perf_counter()
    header = run_case(student(tmp_path, LOOPED), request).header
    assert time.perf_counter() - started < 1.0
    assert header["status"] == "slow" and LOOP in header["message"]
    assert " coordinates, where a vectorised step takes " in header["message"]
    assert "on 100 coordinates" in header["message"] or "on 1,000 coordinates" in header["message"]
    ratio = int(header["message"].split("is about ")[1].split("x slower")[0])
    assert ratio > SLOWDOWN_LIMIT


def test_a_vectorised_step_passes_the_efficiency_check_in_moments(tmp_path: Path) -> None:
    request = CaseRequest("gd", "optimizer", "quadratic_1d", {"lr": 0.005},
                          dtype="float32", measure="efficiency", size=1_000_000)  # fmt: skip
    started = time.perf_counter()
    header = run_case(student(tmp_path, CORRECT.format(extra="")), request).header
    assert header["status"] == "ran", header["message"]
    assert time.perf_counter() - started < 1.0


def test_the_baseline_is_an_adam_step_without_bias_correction() -> None:
    x, grad = torch.tensor([1.0, -2.0]), torch.tensor([2.0, 0.5])
    state: dict[str, Any] = {}
    got = baseline_step(x, grad, state, lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    m, v = 0.1 * grad, 0.01 * grad * grad  # m = 0.1 g, v = 0.01 g² after one step from zero
    assert torch.allclose(got, x - 0.1 * m / (v.sqrt() + 1e-8))
    assert torch.allclose(state["exp_avg"], m) and torch.allclose(state["exp_avg_sq"], v)


def test_sizes_grow_tenfold_to_the_case_size() -> None:
    assert sizes(1_000_000) == [100, 1_000, 10_000, 100_000, 1_000_000]
    assert sizes(250) == [100, 250] and sizes(50) == [50]


# --- requests and replies ------------------------------------------------------------------


def test_a_check_request_survives_json_and_a_plain_one_keeps_its_json() -> None:
    request = CaseRequest("adam", "optimizer", "quadratic_1d", {"lr": 0.1}, dtype="float32",
                          device="cuda", measure="efficiency", size=10)  # fmt: skip
    assert CaseRequest.from_json(json.loads(json.dumps(request.to_json()))) == request
    assert "measure" not in CaseRequest("adam", "optimizer", "quadratic_2d").to_json()


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"device": "meta"}, "unsupported device 'meta'"),
        ({"measure": "speed"}, "unknown measure 'speed'"),
        ({"measure": "device", "device": "cuda"}, "runs on a GPU emulated on the CPU"),
        ({"measure": "efficiency"}, "`size` goes with the efficiency check"),
        ({"size": 10}, "`size` goes with the efficiency check"),
    ],
    ids=["meta device", "unknown measure", "device check on cuda", "no size", "size alone"],
)
def test_a_request_with_a_check_it_cannot_have_is_refused(
    fields: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint.replace("(", r"\(")):
        CaseRequest("adam", "optimizer", "quadratic_2d", **fields)


# --- rubrics -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_optimizer_has_device_efficiency_and_cuda_cases(name: str) -> None:
    rubric = load_rubric(name, cuda=False)
    optimizers = {f.name for f in rubric.assignment.functions if f.kind == "optimizer"}
    assert optimizers <= OPTIMIZERS
    for function in optimizers:
        runs = [c.student_request for c in rubric.for_function(function)]
        assert any(r.measure == "device" for r in runs), function
        assert any(r.measure == "efficiency" and r.device == "cpu" for r in runs), function
        assert any(r.measure == "efficiency" and r.device == "cuda" for r in runs), function
        assert {r.dtype for r in runs if r.measure == "trajectory" and r.needs_cuda} == {
            "float32", "float64"}, function  # fmt: skip
    for case in rubric.cases:
        on_gpu = case.student_request.needs_cuda
        assert (case.unavailable is not None) == on_gpu
        assert (case.points == 0) == on_gpu, case.name
        assert not (case.visible and on_gpu), case.name  # students have no GPU to check on


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_with_cuda_the_gpu_cases_count_and_nothing_else_moves_out_of_its_category(
    name: str,
) -> None:
    without, with_cuda = load_rubric(name, cuda=False), load_rubric(name, cuda=True)
    for case, twin in zip(without.cases, with_cuda.cases, strict=True):
        assert twin.unavailable is None and twin.points > 0
        if case.category not in ("device", "efficiency"):
            assert twin.points == case.points, case.name


def test_the_cuda_cases_are_within_reach_of_float32() -> None:
    """A GPU's float32 run of the reference, approximated by the CPU's, must pass every CUDA
    case against the CPU's float64 reference, or a correct student could not."""
    expectations = ReferenceExpectations()
    for name in ASSIGNMENTS:
        for case in load_rubric(name, cuda=True).cases:
            run = case.student_request
            if run.needs_cuda and run.measure == "trajectory" and run.dtype == "float32":
                assert (
                    case.reference_request.dtype == "float64"
                    and case.reference_request.device == "cpu"
                )
                on_cpu = run_in_process(reference.FUNCTIONS[run.function],
                                        replace(run, device="cpu"))  # fmt: skip
                assert _divergence(case, expectations.expected(case), on_cpu) is None, case.name


TINY_RUBRIC = """
[functions.gd]
points = 10
cases = [
    { problems = ["quadratic_2d"], lr = 0.1, visible = true },
    { measure = "device", problems = ["quadratic_2d"], lr = 0.1 },
    { device = "cuda", problems = ["quadratic_2d"], lr = 0.1 },
    { device = "cuda", problems = ["saddle_2d"], lr = 0.1, when_unavailable = "fail" },
]
[functions.momentum]
points = 10
cases = [{ problems = ["quadratic_2d"], lr = 0.05, visible = true }]
[functions.nesterov]
points = 10
cases = [{ problems = ["quadratic_2d"], lr = 0.05, visible = true }]
[functions.minibatches]
points = 10
cases = [{ n = 10, batch_size = 3, visible = true }]
"""


def tiny_rubric(tmp_path: Path, text: str = TINY_RUBRIC, cuda: bool = False) -> Rubric:
    path = tmp_path / "gradient_descent.toml"
    path.write_text(text)
    return load_rubric("gradient_descent", path, cuda=cuda)


def test_a_skipped_case_gives_its_points_to_its_category_and_a_failed_one_keeps_them(
    tmp_path: Path,
) -> None:
    points = [c.points for c in tiny_rubric(tmp_path).for_function("gd")]
    assert points == [5.0, 2.5, 0.0, 2.5]  # convex 5; device 5 over the emulated and "fail" cases
    with_cuda = [c.points for c in tiny_rubric(tmp_path, cuda=True).for_function("gd")]
    assert with_cuda == pytest.approx([5.0, 5 / 3, 5 / 3, 5 / 3])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: nothing skipped")
def test_without_cuda_skip_is_reported_apart_and_fail_scores_zero(tmp_path: Path) -> None:
    rubric = tiny_rubric(tmp_path)
    report = grade_submission(ROOT / "solutions" / "gradient_descent.py", rubric,
                              shared_reference(), functions=["gd"])  # fmt: skip
    (gd,) = report.functions
    assert [(c.status, c.score) for c in gd.checks] == [
        ("passed", 5.0), ("passed", 2.5), ("unavailable", 0.0)]  # fmt: skip
    assert [c.status for c in gd.skipped] == ["skipped"] and gd.skipped[0].max_score == 0
    assert (report.score, report.max_score) == (7.5, 10.0)
    assert gd.headline.startswith("gradient_descent.py: gd was not run on cuda")
    document = json.loads(render(report, "json"))
    assert [s["name"] for s in document["skipped"]] == ["gd/quadratic_2d/lr=0.1/cuda/device"]
    assert "skipped, not counted:\n  gd: 1 case skipped (gradient_descent.py: gd was not run " \
        "on cuda: this machine has no CUDA device)" in render(report, "text")  # fmt: skip
    assert "1 case was skipped, not counted" in json.loads(render(report, "gradescope"))["output"]
    assert "Skipped, not counted" in render(report, "markdown")


@pytest.mark.parametrize(
    ("block", "complaint"),
    [
        ('{ device = "cuda", problems = ["quadratic_2d"], visible = true }', "cannot be visible"),
        ('{ measure = "efficiency", problems = ["quadratic_2d"], size = 100 }', "coordinate by"),
        ('{ device = "cuda", problems = ["quadratic_2d"], when_unavailable = "hope" }',
         "when_unavailable = 'hope' is not one of skip, fail"),
    ],
    ids=["visible cuda case", "efficiency on a 2-d problem",
         "unknown when_unavailable"],
)  # fmt: skip
def test_a_rubric_with_a_check_it_cannot_run_names_the_problem(
    tmp_path: Path, block: str, complaint: str
) -> None:
    device_block = '{ measure = "device", problems = ["quadratic_2d"], lr = 0.1 }'
    text = TINY_RUBRIC.replace(device_block, block)
    with pytest.raises(RubricError, match=complaint):
        tiny_rubric(tmp_path, text)


# --- on a GPU ------------------------------------------------------------------------------


def cuda_cases(assignment: str, function: str | None = None) -> list[Any]:
    return [
        c
        for c in load_rubric(assignment, cuda=True).cases
        if c.student_request.needs_cuda and function in (None, c.function)
    ]


@needs_cuda
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_on_a_gpu_the_solutions_pass_every_cuda_case(assignment: str) -> None:
    module = ROOT / "solutions" / f"{assignment}.py"
    rubric = load_rubric(assignment, cuda=True)
    report = grade_submission(module, rubric, shared_reference(), cases=cuda_cases(assignment))
    assert [c.name + ": " + c.message for c in report.checks if not c.passed] == []


@needs_cuda
@pytest.mark.parametrize("mutant", DEVICE_MUTATIONS)
def test_on_a_gpu_each_mutant_fails_its_cuda_cases_and_says_why(
    tmp_path: Path, mutant: str
) -> None:
    function = DEVICE_MUTATIONS[mutant][0]
    (tmp_path / "adaptive.py").write_text(mutated_adaptive(mutant))
    cases = cuda_cases("adaptive", function)
    report = grade_submission(tmp_path / "adaptive.py", load_rubric("adaptive", cuda=True),
                              shared_reference(), cases=cases)  # fmt: skip
    category, status, _ = LOSSES[mutant]
    caught = [c for c in report.checks if c.category == category]
    phrase = {
        "item": EVERY_STEP,
        "cpu": "calls `.cpu()` " + HOST_SYNC,
        "zeros": "state `exp_avg` is on cpu while x is on cuda",
        "loop": LOOP,
    }[mutant]
    assert caught and {c.status for c in caught} == {status}
    assert all(phrase in c.message for c in caught), caught[0].message
