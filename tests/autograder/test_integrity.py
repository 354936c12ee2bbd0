"""The device check's integrity (autograder/worker/child/integrity.py): each way student code
could patch what the check runs on is named, and nothing is named when nothing changed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from autograder.worker.child import emulated_gpu, runners
from autograder.worker.child.integrity import changed


def _forged(*args: object, **kwargs: object) -> None:
    return None


PATCHES: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "a host read of tensors": (
        lambda m: m.setattr(torch.Tensor, "item", _forged),
        "Tensor.item",
    ),
    "a tensor's truth value": (
        lambda m: m.setattr(torch.Tensor, "__bool__", _forged),
        "Tensor.__bool__",
    ),
    "the table of host calls": (
        lambda m: m.delitem(emulated_gpu.HOST_CALLS, torch.Tensor.tolist),
        "host call 1 (`.tolist()`)",
    ),
    "the emulation's mode": (
        lambda m: m.setattr(emulated_gpu.EmulatedGPU, "__torch_function__", _forged),
        "EmulatedGPU.__torch_function__",
    ),
    "a runner": (
        lambda m: m.setitem(runners.MEASURE_RUNNERS, "device", _forged),
        "runner device",
    ),
}


def test_nothing_is_named_when_nothing_changed() -> None:
    assert changed(runners._INTACT, runners.MEASURE_RUNNERS) is None


@pytest.mark.parametrize("patch", PATCHES, ids=list(PATCHES))
def test_each_patch_of_the_device_check_is_named(
    patch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply, name = PATCHES[patch]
    apply(monkeypatch)
    assert changed(runners._INTACT, runners.MEASURE_RUNNERS) == name
