"""torch.optim's optimizers as the kit runs them (autograder/torch_optim.py): the same steps as
torch's own classes, bit for bit, and no import of torch._dynamo on the way."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
import torch
from torch import Tensor

from autograder.config import KIT_ROOT
from autograder.torch_optim import dynamo_free

CLASSES = [
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (torch.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
    (torch.optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.5}),
    (torch.optim.Adadelta, {"lr": 1.0}),
    (torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    (torch.optim.Adamax, {"lr": 0.01}),
    (torch.optim.NAdam, {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    (torch.optim.RAdam, {"lr": 0.01}),
]


def _steps(optimizer_class: type[torch.optim.Optimizer], options: dict[str, Any]) -> list[Tensor]:
    """Parameters and state after 8 steps on a fixed quadratic, then a state_dict round trip."""
    generator = torch.Generator().manual_seed(0)
    parameter = torch.randn(5, dtype=torch.float64, generator=generator, requires_grad=True)
    optimizer = optimizer_class([parameter], **options)
    seen = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = (parameter**2 * torch.arange(1.0, 6.0, dtype=torch.float64)).sum()
        parameter.grad = torch.autograd.grad(loss, parameter)[0]
        optimizer.step()
        seen.append(parameter.detach().clone())
    saved = optimizer.state_dict()
    optimizer.load_state_dict(saved)
    state = optimizer.state_dict()["state"][0]
    return seen + [value for value in state.values() if isinstance(value, Tensor)]


@pytest.mark.parametrize(
    ("optimizer_class", "options"), CLASSES, ids=lambda c: getattr(c, "__name__", "")
)
def test_an_optimizer_without_dynamo_steps_as_torchs_own(
    optimizer_class: type[torch.optim.Optimizer], options: dict[str, Any]
) -> None:
    ours, torchs = _steps(dynamo_free(optimizer_class), options), _steps(optimizer_class, options)
    assert len(ours) == len(torchs)
    for got, expected in zip(ours, torchs, strict=True):
        assert torch.equal(got, expected)


def test_a_step_without_dynamo_records_no_gradient() -> None:
    parameter = torch.ones(3, requires_grad=True)
    parameter.grad = torch.ones(3)
    optimizer = dynamo_free(torch.optim.SGD)([parameter], lr=0.1)
    optimizer.step()
    assert parameter.grad_fn is None
    assert torch.equal(parameter.detach(), torch.full((3,), 0.9))


def test_the_kits_training_and_schedules_never_import_torch_dynamo() -> None:
    """A training case of the schedules assignment, run as a worker runs it, with the kit's
    adapter, both of its optimizers and its schedules: torch._dynamo stays unimported (it
    costs more than a second in every worker and grading process that trains)."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from autograder.catalog import assignment
        from autograder.experiments import from_torch
        from autograder.rubric import load_rubric
        from autograder.training import SCHEDULES
        from autograder.worker.child.runners import Student, run_case
        import importlib.util, torch

        path = Path("solutions") / assignment("schedules").module
        spec = importlib.util.spec_from_file_location("student", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        training = [
            case.student_request
            for case in load_rubric("schedules").cases
            if case.student_request.kind == "training"
        ]
        assert {r.optimizer for r in training} == {"sgd", "adam"}, training
        statuses = {run_case(Student(module, path), r).header["status"] for r in training}
        options = {"step": {"step_size": 2}, "exponential": {"gamma": 0.9}, "cosine": {"T_max": 5}}
        for name, schedule in SCHEDULES.items():
            schedule(3, lr=0.1, **options.get(name, {}))
        from_torch(torch.optim.Adam)(torch.ones(2), torch.ones(2), {}, lr=0.1)
        print(statuses, "torch._dynamo" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=KIT_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["{'ran'}", "False"]
