"""Inside the worker: whether student code changed what the device check runs on.

The device check (device_runner.py, emulated_gpu.py, gpu.py, calls.py) sees host round trips
beside student code, which could patch it: replace its runner, empty the emulation's table of
host calls, swap `Tensor.item`. `fingerprint` records those objects when runners.py is
imported, before any student module; `changed` names the first that is no longer the same
object. Student code shares the process and could defeat this too (docs/threat-model.md): it
makes patching the check by attribute, the way the kit's own modules are reached, show.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any

from torch import Tensor
from torch.overrides import TorchFunctionMode

from autograder.worker.child import calls, device_runner, emulated_gpu, gpu

MODULES = (calls, device_runner, emulated_gpu, gpu)
HOST_READS = ("item", "tolist", "numpy", "cpu", "to", "cuda", "clone", "nonzero", "masked_select")
Fingerprint = dict[str, object]


def fingerprint(
    runners: Mapping[Any, object], tensor_names: Iterable[str] | None = None
) -> Fingerprint:
    """The objects the device check runs on, by name: `runners` (the runner of each kind of
    case), the functions and classes of its modules, the emulation's methods and table of
    host calls, and the tensor methods that table names (those of `tensor_names`, default:
    looked for among all of the tensor's attributes, 751 of them)."""
    objects: Fingerprint = {f"runner {kind}": runner for kind, runner in runners.items()}
    for module in MODULES:
        for name, value in vars(module).items():
            if isinstance(value, types.FunctionType | type):
                objects[f"{module.__name__}.{name}"] = value
    for owner in (emulated_gpu.EmulatedGPU, TorchFunctionMode):
        objects.update({f"{owner.__name__}.{n}": v for n, v in vars(owner).items()})
    for number, (call, text) in enumerate(emulated_gpu.HOST_CALLS.items()):
        objects[f"host call {number} ({text})"] = call
        objects[f"host call {number} named"] = text
    objects["host calls"] = len(emulated_gpu.HOST_CALLS)
    for name in dir(Tensor) if tensor_names is None else tensor_names:
        value = getattr(Tensor, name, None)
        stable = value is getattr(Tensor, name, None)  # not a classmethod, bound anew each time
        if callable(value) and stable and (name in HOST_READS or name.startswith("__")):
            objects[f"Tensor.{name}"] = value
    return objects


def changed(before: Fingerprint, runners: Mapping[Any, object]) -> str | None:
    """The name of the first object of `before` that is no longer the same, None if none: the
    tensor methods looked at are those `before` recorded."""
    recorded = [name.removeprefix("Tensor.") for name in before if name.startswith("Tensor.")]
    now = fingerprint(runners, recorded)
    return next((name for name, value in before.items() if now.get(name) is not value), None)
