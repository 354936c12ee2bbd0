"""The training part of the schedules assignment: the kit's adapter, data and model
(autograder/training.py), the "training" kind of case from the rubric to the worker's reply,
and the reference loop with its known bugs."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import Tensor
from torch.optim import lr_scheduler

import reference
from autograder.compare import first_difference
from autograder.errors import ProtocolError, RubricError
from autograder.expectations import run_in_process
from autograder.feedback import divergence_message
from autograder.grading import _divergence
from autograder.plotting import decision_boundaries
from autograder.public_expected import outcome_from_json, outcome_json
from autograder.results import Diagnosis
from autograder.rubric import Case, load_rubric
from autograder.training import (
    OPTIMIZERS,
    SCHEDULES,
    ContractOptimizer,
    make_mlp,
    minibatch_count,
    two_moons,
)
from autograder.worker import CaseOutcome, CaseRequest, run_cases
from autograder.worker.host.replies import outcome_from_reply
from reference.bugs import known_bugs

ROOT = Path(__file__).resolve().parents[2]
TRAIN_CASES = load_rubric("schedules").for_function("train")
CASE_IDS = [case.name.split("/", 1)[1] for case in TRAIN_CASES]
DEPARTURE = 1e-6


def request(**changes: Any) -> CaseRequest:
    """A small training case: 24 points, batches of 8, two epochs of SGD."""
    base = CaseRequest(
        "train",
        "training",
        hyperparameters={"epochs": 2, "batch_size": 8},
        n=24,
        seed=5,
        optimizer="sgd",
        optimizer_options={"lr": 0.5},
    )
    return dataclasses.replace(base, **changes)


@cache
def solution() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "schedules_solution", ROOT / "solutions" / "schedules.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def minibatch_steps(
    optimizer: torch.optim.Optimizer, model: torch.nn.Module, lrs: list[float], seed: int = 0
) -> None:
    """One step per learning rate of `lrs`, each on a batch of 16 two-moons points."""
    features, labels = two_moons(64, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    for lr in lrs:
        batch = torch.randperm(64, generator=generator)[:16]
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model(features[batch]), labels[batch]
        )
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()


def plain_gd(x: Tensor, grad: Tensor, state: dict[str, Any], *, lr: float) -> Tensor:
    """Gradient descent in the contract shape, written here: x - lr g."""
    return x - lr * grad


# The adapter ---------------------------------------------------------------------------------

ADAPTED = [
    pytest.param(plain_gd, torch.optim.SGD, {}, id="hand-written-gd-vs-SGD"),
    pytest.param(OPTIMIZERS["sgd"], torch.optim.SGD, {"momentum": 0.9}, id="kit-sgd-momentum"),
    pytest.param(
        OPTIMIZERS["sgd"],
        torch.optim.SGD,
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        id="kit-sgd-nesterov",
    ),
    pytest.param(OPTIMIZERS["adam"], torch.optim.Adam, {}, id="kit-adam"),
    pytest.param(OPTIMIZERS["adam"], torch.optim.Adam, {"amsgrad": True}, id="kit-amsgrad"),
]


@pytest.mark.parametrize(("function", "optimizer_class", "options"), ADAPTED)
def test_the_adapter_trains_the_mlp_as_torchs_optimizer_does(
    function: Callable[..., Tensor],
    optimizer_class: type[torch.optim.Optimizer],
    options: dict[str, Any],
) -> None:
    """Seven steps on the MLP, the learning rate changed between steps as a schedule would."""
    lrs = [0.1, 0.1, 0.05, 0.2, 0.01, 0.1, 0.03]
    ours, theirs = make_mlp(seed=1), make_mlp(seed=1)
    minibatch_steps(ContractOptimizer(ours.parameters(), function, lr=0.1, **options), ours, lrs)
    minibatch_steps(optimizer_class(theirs.parameters(), lr=0.1, **options), theirs, lrs)
    start = make_mlp(seed=1).parameters()
    for mine, torchs, initial in zip(ours.parameters(), theirs.parameters(), start, strict=True):
        torch.testing.assert_close(mine, torchs, rtol=1e-12, atol=0)
        assert not torch.equal(mine, initial), "a parameter never moved"


def test_each_parameter_keeps_its_own_state_and_gets_the_groups_entries() -> None:
    calls: list[tuple[tuple[int, ...], dict[str, Any]]] = []

    def counting(x: Tensor, grad: Tensor, state: dict[str, Any], **options: Any) -> Tensor:
        state["calls"] = state.get("calls", 0) + 1
        calls.append((tuple(x.shape), dict(options)))
        return x - options["lr"] * grad

    model = make_mlp(seed=0)
    optimizer = ContractOptimizer(model.parameters(), counting, lr=0.5, tag="mine")
    minibatch_steps(optimizer, model, [0.5, 0.25])
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert [shape for shape, _ in calls] == shapes * 2
    assert [options for _, options in calls] == [{"lr": 0.5, "tag": "mine"}] * 6 + [
        {"lr": 0.25, "tag": "mine"}
    ] * 6
    assert [optimizer.state[p] for p in model.parameters()] == [{"calls": 2}] * 6


def test_the_adapter_skips_parameters_without_a_gradient_and_returns_the_closures_loss() -> None:
    frozen, trained = (torch.nn.Parameter(torch.ones(2, dtype=torch.float64)) for _ in range(2))
    optimizer = ContractOptimizer([frozen, trained], plain_gd, lr=0.5)

    def closure() -> float:
        optimizer.zero_grad()
        loss = (3.0 * trained).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss.item()

    assert optimizer.step(closure) == 6.0
    assert frozen.tolist() == [1.0, 1.0]
    assert trained.tolist() == [-0.5, -0.5]  # 1 - 0.5 * 3
    assert frozen not in optimizer.state


# Data, model and the kit's schedules ------------------------------------------------------------


def test_two_moons_without_noise_lies_on_the_two_half_circles() -> None:
    features, labels = two_moons(4, noise=0.0)
    # upper moon at angles 0 and π: (1, 0), (−1, 0); lower moon (1 − cos, 0.5 − sin): (0, 0.5),
    # (2, 0.5)
    expected = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [2.0, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(features, expected, rtol=0, atol=1e-15)
    assert labels.tolist() == [0.0, 0.0, 1.0, 1.0] and labels.dtype == torch.float64


def test_two_moons_and_the_mlp_are_fixed_by_their_seed_alone() -> None:
    before = torch.get_rng_state()
    same = zip(two_moons(30, seed=3), two_moons(30, seed=3), strict=True)
    assert all(torch.equal(a, b) for a, b in same)
    assert not torch.equal(two_moons(30, seed=3)[0], two_moons(30, seed=4)[0])
    first, again, other = make_mlp(seed=3), make_mlp(seed=3), make_mlp(seed=4)
    for a, b, c in zip(first.parameters(), again.parameters(), other.parameters(), strict=True):
        assert torch.equal(a, b) and not torch.equal(a, c) and a.dtype == torch.float64
    assert torch.equal(torch.get_rng_state(), before), "the global generator was used"
    assert first(torch.zeros(5, 2, dtype=torch.float64)).shape == (5,)


SCHEDULED = [
    pytest.param(
        "step",
        {"lr": 0.1, "step_size": 4, "gamma": 0.5},
        lambda t: 0.1 * 0.5 ** (t // 4),
        id="step",
    ),
    pytest.param(
        "exponential", {"lr": 0.1, "gamma": 0.9}, lambda t: 0.1 * 0.9**t, id="exponential"
    ),
    pytest.param(
        "cosine",
        {"lr": 0.1, "T_max": 10},
        lambda t: 0.05 * (1 + math.cos(math.pi * t / 10)),
        id="cosine",
    ),
    pytest.param(
        "warmup",
        {"lr": 0.1, "start_factor": 0.1, "total_iters": 6},
        lambda t: 0.1 * (0.1 + 0.9 * min(t, 6) / 6),
        id="warmup",
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "closed_form"), SCHEDULED)
def test_the_kit_schedules_give_torchs_values(
    name: str, kwargs: dict[str, Any], closed_form: Callable[[int], float]
) -> None:
    got = [SCHEDULES[name](step, **kwargs) for step in range(15)]
    assert all(type(value) is float for value in got)
    expected = [closed_form(step) for step in range(15)]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_minibatch_count_keeps_the_last_partial_batch() -> None:
    assert minibatch_count(64, 16, 3) == 12
    assert minibatch_count(60, 16, 3) == 12
    assert minibatch_count(50, 8, 2) == 14


# The reference loop and its bugs ---------------------------------------------------------------


@pytest.mark.parametrize("case", TRAIN_CASES, ids=CASE_IDS)
def test_the_solution_trains_as_the_reference_does(case: Case) -> None:
    expected = run_in_process(reference.FUNCTIONS["train"], case.reference_request)
    got = run_in_process(solution().train, case.reference_request)
    assert expected.ok and got.ok, (expected.message, got.message)
    assert _divergence(case, expected, got) is None
    assert expected.losses is not None and len(expected.losses) == minibatch_count(
        case.reference_request.n,
        case.reference_request.hyperparameters["batch_size"],
        case.reference_request.hyperparameters["epochs"],
    )
    assert expected.losses[-1] < expected.losses[0], "the network does not learn"


def test_the_reference_follows_torchs_own_scheduler_loop() -> None:
    """The reference with the kit's cosine schedule equals a plain torch loop that steps a
    CosineAnnealingLR after every optimizer.step() (torch's scheduler as the oracle)."""
    kwargs = {"lr": 0.2, "T_max": 6}
    features, labels = two_moons(40, seed=2)
    ours, theirs = make_mlp(seed=2), make_mlp(seed=2)
    losses = reference.FUNCTIONS["train"](
        ours, (features, labels), ContractOptimizer(ours.parameters(), OPTIMIZERS["sgd"], lr=0.2),
        epochs=2, batch_size=16, schedule=SCHEDULES["cosine"], schedule_kwargs=kwargs,
        generator=torch.Generator().manual_seed(9),
    )  # fmt: skip
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.2)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=6)
    generator, expected = torch.Generator().manual_seed(9), []
    for _ in range(2):
        for batch in torch.randperm(40, generator=generator).split(16):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                theirs(features[batch]), labels[batch]
            )
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            scheduler.step()
            expected.append(loss.item())
    assert losses == pytest.approx(expected, rel=1e-12)
    for mine, torchs in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(mine, torchs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("bug", known_bugs("train"), ids=lambda bug: bug.name)
def test_each_training_bug_departs_on_the_rubrics_visible_cases(bug: Any) -> None:
    departed = False
    for case in (c for c in TRAIN_CASES if c.visible):
        expected = run_in_process(reference.FUNCTIONS["train"], case.reference_request)
        variant = run_in_process(bug.run, case.reference_request)
        assert variant.ok, variant.message
        assert expected.losses is not None and variant.losses is not None
        departed = (
            departed
            or first_difference(
                torch.tensor(expected.losses), torch.tensor(variant.losses), "loss", torch.float64
            )
            is not None
        )
    assert departed, f"{bug.id} trains as the reference does on the visible cases"


def test_there_are_the_documented_training_bugs() -> None:
    assert {bug.name for bug in known_bugs("train")} == {
        "no_zero_grad", "schedule_after_step", "schedule_counts_from_one", "schedule_per_epoch",
        "summed_loss", "no_reshuffle", "global_rng",
    }  # fmt: skip


# The "training" case from the rubric to the reply ----------------------------------------------


def test_the_rubric_names_each_training_case_by_its_optimizer_settings_and_seed() -> None:
    names = [case.name for case in TRAIN_CASES]
    assert names[1] == (
        "train/sgd(lr=0.2,momentum=0.9)/batch_size=16,epochs=3,schedule='cosine',"
        "schedule_kwargs=(T_max=12,lr=0.2)/n=64,seed=0"
    )
    assert all(case.category == "training" for case in TRAIN_CASES)
    assert sum(case.points for case in TRAIN_CASES) == pytest.approx(10)


@pytest.mark.parametrize(
    ("block", "complaint"),
    [
        (
            '{ optimizer = { name = "lbfgs", lr = 0.1 }, n = 8, epochs = 1, batch_size = 4 }',
            "lbfgs",
        ),
        ('{ optimizer = { name = "sgd" }, n = 8, epochs = 1, batch_size = 4 }', "an `lr`"),
        (
            '{ optimizer = { name = "sgd", lr = 0.1 }, n = 8, epochs = 1, batch_size = 4, '
            'schedule = "onecycle" }',
            "'onecycle' is not one of",
        ),
        ("{ n = 8, epochs = 1, batch_size = 4 }", "needs optimizer$"),
        ('{ optimizer = { name = "sgd", lr = 0.1 }, epochs = 1 }', "needs n, batch_size$"),
    ],
    ids=["unknown-optimizer", "no-lr", "unknown-schedule", "no-optimizer", "no-n-no-batch-size"],
)
def test_a_bad_training_block_names_the_problem(tmp_path: Path, block: str, complaint: str) -> None:
    text = (ROOT / "autograder" / "rubrics" / "schedules.toml").read_text()
    start = text.index("[functions.train]")
    path = tmp_path / "schedules.toml"
    path.write_text(text[:start] + f"[functions.train]\npoints = 10\ncases = [{block}]\n")
    with pytest.raises(RubricError, match=complaint):
        load_rubric("schedules", path)


def test_a_training_request_survives_its_json_round_trip() -> None:
    original = request(optimizer="adam", optimizer_options={"lr": 0.01, "betas": (0.8, 0.9)})
    again = CaseRequest.from_json(original.to_json())
    assert again == original and again.optimizer_options["betas"] == (0.8, 0.9)
    assert "optimizer" not in CaseRequest("f", "schedule", steps=3).to_json()


def bad_loop(returned: Callable[[list[float]], object]) -> Callable[..., object]:
    """A correct loop whose return value is replaced by `returned(losses)`."""

    def train(model: Any, data: Any, optimizer: Any, **kwargs: Any) -> object:
        return returned(solution().train(model, data, optimizer, **kwargs))

    return train


@pytest.mark.parametrize(
    ("returned", "words"),
    [
        (lambda losses: [torch.tensor(v) for v in losses], "item 0 is a torch.Tensor"),
        (lambda losses: losses[:-1], "5 losses for the 6 minibatches"),
        (lambda losses: [*losses[:2], math.nan, *losses[3:]], "item 2 is nan"),
        (lambda losses: None, "returned None"),
        (lambda losses: [True] * len(losses), "item 0 is a bool"),
    ],
    ids=["tensors", "one-short", "nan", "none", "bools"],
)
def test_a_loop_that_returns_the_wrong_thing_is_a_bad_return(
    returned: Callable[[list[float]], object], words: str
) -> None:
    outcome = run_in_process(bad_loop(returned), request())
    assert outcome.status == "bad_return"
    assert words in outcome.message
    assert outcome.losses is None


def test_the_runner_leaves_the_global_generator_as_it_was() -> None:
    before = torch.get_rng_state()
    assert run_in_process(reference.FUNCTIONS["train"], request()).ok
    assert torch.equal(torch.get_rng_state(), before)


def test_a_forged_reply_with_the_wrong_number_of_losses_is_refused() -> None:
    header = {"id": 0, "status": "ran", "message": "", "minibatch_losses": 0, "parameters": 1}
    arrays = [torch.zeros(5, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)]
    with pytest.raises(ProtocolError, match="5 losses for 6 minibatches"):
        outcome_from_reply(request(), header, arrays, case_id=0)
    arrays[0] = torch.zeros(6, dtype=torch.float32)
    with pytest.raises(ProtocolError, match="float32"):
        outcome_from_reply(request(), header, arrays, case_id=0)


def test_the_public_expected_values_keep_losses_and_parameters() -> None:
    outcome = run_in_process(reference.FUNCTIONS["train"], request())
    again = outcome_from_json(request(), outcome_json(outcome))
    assert again.losses == outcome.losses
    assert again.parameters is not None and outcome.parameters is not None
    assert torch.equal(again.parameters, outcome.parameters)


def test_a_divergence_says_at_which_minibatch_or_after_training() -> None:
    case = Case(request(), request(), "training", True, 1.0)
    expected = run_in_process(reference.FUNCTIONS["train"], request())
    assert expected.losses is not None and expected.parameters is not None
    losses = (*expected.losses[:3], expected.losses[3] * 1.01, *expected.losses[4:])
    got = dataclasses.replace(expected, losses=losses)
    divergence = _divergence(case, expected, got)
    assert divergence is not None and (divergence.step, divergence.quantity) == (3, "loss")
    message = divergence_message("train", "training", divergence, Diagnosis(None))
    assert message.startswith("train: at minibatch 3, loss is ")
    assert "the training loop of the docstring" in message
    moved = expected.parameters.clone()
    moved[7] += 1.0
    divergence = _divergence(case, expected, dataclasses.replace(expected, parameters=moved))
    assert divergence is not None and (divergence.step, divergence.index) == (6, (7,))
    message = divergence_message("train", "training", divergence, Diagnosis(None))
    assert message.startswith("train: after training (6 minibatches), parameters[7] is ")


def test_the_worker_runs_a_students_loop_and_its_reply_passes_validation(tmp_path: Path) -> None:
    module = tmp_path / "schedules.py"
    module.write_text(
        (ROOT / "examples" / "class" / "schedules" / "alice" / "schedules.py").read_text()
    )
    requests = [
        request(),
        request(
            hyperparameters={
                "epochs": 2,
                "batch_size": 8,
                "schedule": "cosine",
                "schedule_kwargs": {"lr": 0.5, "T_max": 6},
            }
        ),
    ]
    outcomes: list[CaseOutcome] = run_cases(module, requests)
    for outcome, sent in zip(outcomes, requests, strict=True):
        assert outcome.ok, outcome.message
        expected = run_in_process(reference.FUNCTIONS["train"], sent)
        assert _divergence(Case(sent, sent, "training", True, 1.0), expected, outcome) is None


def test_decision_boundaries_draws_one_panel_per_model() -> None:
    data = two_moons(20, seed=0)
    figure = decision_boundaries({"a": make_mlp(seed=0), "b": make_mlp(seed=1)}, data)
    assert [ax.get_title() for ax in figure.axes] == ["a", "b"]
