"""An emulated GPU for the device check, inside the worker: CPU tensors that act as on "cuda".

While `EmulatedGPU` is active, x, grad and every tensor computed from them count as on the GPU
(a mark on the tensor): their `device` reads "cuda", and a tensor made for that device
(`torch.zeros(x.shape, device=x.device)`, `.to(x.device)`) is made on the CPU and marked.
Reading a marked tensor on the host (`.item()`, `float()`, an `if`, `.cpu()`, `.numpy()`,
`.tolist()`, `print`) raises HostRoundTrip, where a GPU would synchronise; an operation that
mixes a marked tensor with an unmarked one of one or more dimensions raises MixedDevices, as
CUDA does (0-d CPU tensors mix, as torch allows). Values are computed as on the CPU, and
nothing is compiled or imported: the check costs what the steps cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from autograder.worker.child.gpu import Device

DEVICE = "cuda"
_MARK = "_optim_grader_on_gpu"
# Calls that read a tensor's values on the host, and how to name them to a student.
HOST_CALLS: Mapping[Callable[..., Any], str] = {
    Tensor.item: "`.item()`",
    Tensor.tolist: "`.tolist()`",
    Tensor.numpy: "`.numpy()`",
    Tensor.cpu: "`.cpu()`",
    Tensor.__bool__: "`bool(tensor)` (an `if` on a tensor)",
    Tensor.__float__: "`float(tensor)`",
    Tensor.__int__: "`int(tensor)`",
    Tensor.__index__: "`int(tensor)`",
    Tensor.__array__: "`numpy.asarray(tensor)`",
    Tensor.__repr__: "`print(tensor)`",
    Tensor.__format__: "`print(tensor)`",
    Tensor.nonzero: "`.nonzero()` (a shape that depends on the values)",
    torch.nonzero: "`torch.nonzero` (a shape that depends on the values)",
    Tensor.masked_select: "`.masked_select` (a shape that depends on the values)",
    torch.masked_select: "`torch.masked_select` (a shape that depends on the values)",
    torch.tensor: "`torch.tensor(...)` of tensors",
}


class HostRoundTrip(RuntimeError):
    """A step read a tensor of the GPU on the host; `call` names how."""

    def __init__(self, call: str) -> None:
        super().__init__(f"{call} reads a tensor of the GPU on the host")
        self.call = call


class MixedDevices(RuntimeError):
    """A step combined tensors of the GPU with a tensor of the host."""

    def __init__(self) -> None:
        super().__init__(f"Expected all tensors to be on the same device, {DEVICE} and cpu")


def on_gpu(tensor: Tensor) -> bool:
    return bool(getattr(tensor, _MARK, False))


def to_gpu(tensor: Tensor) -> Tensor:
    """Mark `tensor` as on the emulated GPU, and return it."""
    setattr(tensor, _MARK, True)
    return tensor


def device_of(tensor: Tensor) -> str:
    """Where a tensor is, as the emulation sees it."""
    return DEVICE if on_gpu(tensor) else str(tensor.device)


class EmulatedGPU(TorchFunctionMode):
    """The torch-function mode that makes the CPU act as a GPU for marked tensors."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Sequence[type],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = dict(kwargs or {})
        if func == Tensor.device.__get__ and getattr(args[0], _MARK, False):
            return torch.device(DEVICE)
        inputs = _tensors((*args, *kwargs.values()), [])
        marked = False
        for tensor in inputs:
            if getattr(tensor, _MARK, False):
                marked = True
                break
        if marked and func in HOST_CALLS:
            raise HostRoundTrip(HOST_CALLS[func])
        if marked and func is Tensor.to and _names_the_host(args[1:], kwargs):
            raise HostRoundTrip("`.to('cpu')`")
        args, kwargs, to_device = _for_the_cpu(args, kwargs)
        if marked:
            for tensor in inputs:
                if not getattr(tensor, _MARK, False) and tensor.ndim > 0:
                    raise MixedDevices
        if func is Tensor.cuda:
            func, to_device = Tensor.clone, True
            args = args[:1]
            kwargs = {}
        result = func(*args, **kwargs)
        if marked or to_device:
            for tensor in [result] if isinstance(result, Tensor) else _tensors(result, []):
                setattr(tensor, _MARK, True)
        return result


EMULATED = Device(EmulatedGPU, device_of)

# The mode runs on every operation of a step, where each Python call (a helper, a list
# comprehension, a generator's step) is also a traced one: the common path makes none but
# `_tensors` and `_for_the_cpu`, and no comprehension.


def _tensors(value: object, found: list[Tensor]) -> list[Tensor]:
    """`found` with the tensors in a value and the lists, tuples (torch's named results
    included) and dicts it nests added: what torch functions take and give. A container's
    tensors are taken in its own loop, so that only nested containers cost a call."""
    if isinstance(value, Tensor):
        found.append(value)
    elif isinstance(value, list | tuple | dict):
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, Tensor):
                found.append(item)
            elif isinstance(item, list | tuple | dict):
                _tensors(item, found)
    return found


def _is_gpu(value: object) -> bool:
    return (isinstance(value, str) and value.startswith(DEVICE)) or (
        isinstance(value, torch.device) and value.type == DEVICE
    )


def _for_the_cpu(
    args: Sequence[Any], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], bool]:
    """The arguments with every device of the GPU replaced by the CPU, and whether any was."""
    devices = (str, torch.device)
    for value in (*args, *kwargs.values()):
        if isinstance(value, devices) and _is_gpu(value):
            break
    else:
        return tuple(args), kwargs, False
    cpu = torch.device("cpu")
    return (
        tuple(cpu if _is_gpu(a) else a for a in args),
        {k: cpu if _is_gpu(v) else v for k, v in kwargs.items()},
        True,
    )


def _names_the_host(args: Sequence[Any], kwargs: Mapping[str, Any]) -> bool:
    """Whether the arguments of `.to(...)` name the CPU as the device."""
    devices = [*args, kwargs.get("device")]
    return any(
        (isinstance(d, str) and d.startswith("cpu"))
        or (isinstance(d, torch.device) and d.type == "cpu")
        for d in devices
    )
