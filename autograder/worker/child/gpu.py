"""What a step on a GPU gives away: host round trips, tensors left behind.

Inside the worker. On CUDA, `sync_errors` makes every host synchronisation inside the student's
call raise; `host_round_trip` and `foreign_device` read the errors that follow, and
`misplaced_state` finds the state entries that did not follow x (on CUDA or on the emulated
GPU of emulated_gpu.py). Plain functions of tensors and exceptions: the stops and messages
they lead to are calls.py's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from autograder.config import dtype_name

# What a line of source shows of the host round trip it makes, most telling first.
HOST_CALLS = (
    (".item(", "`.item()`"),
    (".tolist(", "`.tolist()`"),
    (".numpy(", "`.numpy()`"),
    (".cpu(", "`.cpu()`"),
    (".to(", "`.to(...)` to the host"),
    ("float(", "`float(tensor)`"),
    ("int(", "`int(tensor)`"),
    ("bool(", "`bool(tensor)`"),
    ("print(", "`print(tensor)`"),
    ("if ", "`bool(tensor)` (an `if` on a tensor)"),
    ("while ", "`bool(tensor)` (a `while` on a tensor)"),
)
CUDA_SYNC = "synchronizing CUDA operation"  # torch.cuda.set_sync_debug_mode("error")
_DEVICE_NAME = re.compile(r"\b(cpu|cuda(?::\d+)?)\b")


@dataclass(frozen=True)
class Device:
    """A GPU that steps run on for the device checks: the guard to hold around the student's
    call, and where it says a tensor is ("cpu", "cuda:0")."""

    guard: Callable[[], AbstractContextManager[Any]]
    where: Callable[[Tensor], str]


@contextmanager
def sync_errors() -> Iterator[None]:
    """Make any host synchronisation with CUDA raise until the block ends."""
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(previous)


CUDA = Device(sync_errors, lambda tensor: str(tensor.device))


def host_round_trip(error: BaseException, device: torch.device, code: str) -> str | None:
    """The call to name ("`.item()`") when `error` is the synchronisation a step on a CUDA
    `device` made, taken from the source line `code` where it shows; None for any other."""
    if device.type != "cuda" or not isinstance(error, RuntimeError) or CUDA_SYNC not in str(error):
        return None
    return next((call for token, call in HOST_CALLS if token in code), "`.item()`")


def foreign_device(error: BaseException, device: torch.device) -> str | None:
    """The other device an error about mixed devices names ("cpu"), None for other errors."""
    if not isinstance(error, RuntimeError) or "device" not in str(error):
        return None
    names = _DEVICE_NAME.findall(str(error))
    others = [name for name in names if torch.device(name).type != device.type]
    return others[0] if others and device.type in {torch.device(n).type for n in names} else None


def misplaced_state(
    state: Mapping[Any, Any], x: Tensor, device_of: Callable[[Tensor], str]
) -> tuple[str, str, str] | None:
    """(name, what it is, what x is) for the first state tensor that did not follow x:
    ("exp_avg", "on cpu", "on cuda:0") or ("exp_avg", "float32", "float64"); None if all did.
    `device_of` says where a tensor is.

    A 0-d tensor may stay on the CPU, as torch.optim keeps its own `step` there: torch reads
    CPU scalars without a synchronisation.
    """
    for name, value in state.items():
        if not isinstance(value, Tensor):
            continue
        where = device_of(value)
        if value.ndim == 0 and where == "cpu":
            continue
        if where != device_of(x):
            return str(name), f"on {where}", f"on {device_of(x)}"
        if value.ndim > 0 and value.dtype != x.dtype:
            return str(name), dtype_name(value.dtype), dtype_name(x.dtype)
    return None
