"""The wire format between the grading process and its worker: frames of JSON and raw arrays.

Every message is a frame: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
A reply from the worker is a frame whose JSON object lists its arrays under "arrays" (dtype
name, shape, byte length each), followed by the arrays' raw bytes, in order, in the machine's
byte order (the worker always runs on the grading process's machine).
Nothing is unpickled or evaluated: the reading side checks every descriptor against the
limits below before it allocates, and anything malformed is a `ProtocolError`.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from autograder.errors import ProtocolError

__all__ = [
    "MAX_ARRAYS",
    "MAX_FRAME_BYTES",
    "MAX_PAYLOAD_BYTES",
    "WIRE_DTYPES",
    "ReadExact",
    "decode_array",
    "encode_frame",
    "encode_reply",
    "read_frame",
    "read_reply",
]

LENGTH = struct.Struct(">I")
MAX_FRAME_BYTES = 16 * 2**20
MAX_PAYLOAD_BYTES = 256 * 2**20
MAX_ARRAYS = 200_000
WIRE_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int64": torch.int64,
}
_WIRE_NAMES = {dtype: name for name, dtype in WIRE_DTYPES.items()}

ReadExact = Callable[[int], bytes]
"""Reads exactly n bytes; raises ChannelClosed at end of stream, ChannelTimeout past a deadline."""


def encode_frame(message: Any) -> bytes:
    """A length-prefixed JSON frame."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"a frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return LENGTH.pack(len(body)) + body


def _tensor_bytes(tensor: Tensor) -> bytes:
    """The tensor's values in C order, as bytes: through numpy where it can read them (a fifth
    of the time), else as bytes of a contiguous CPU copy."""
    if tensor.is_cpu and not tensor.requires_grad and tensor.dtype is not torch.bfloat16:
        return tensor.numpy().tobytes()
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()


def encode_reply(header: dict[str, Any], arrays: Sequence[Tensor]) -> bytes:
    """A reply: the header (with its "arrays" descriptors added) and the arrays' bytes."""
    chunks, descriptors = [], []
    for tensor in arrays:
        chunk = _tensor_bytes(tensor)
        descriptors.append(
            {"dtype": _WIRE_NAMES[tensor.dtype], "shape": list(tensor.shape), "nbytes": len(chunk)}
        )
        chunks.append(chunk)
    return encode_frame({**header, "arrays": descriptors}) + b"".join(chunks)


def read_frame(read_exact: ReadExact, limit: int = MAX_FRAME_BYTES) -> Any:
    """The JSON value of the next frame, of at most `limit` bytes."""
    (length,) = LENGTH.unpack(read_exact(LENGTH.size))
    if length > min(limit, MAX_FRAME_BYTES):
        raise ProtocolError(f"a frame announces {length} bytes, more than {limit}")
    body = read_exact(length)
    try:
        return json.loads(body.decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError(f"a frame is not JSON: {error}") from None


def _descriptor(entry: object, position: int) -> tuple[torch.dtype, tuple[int, ...], int]:
    """The checked (dtype, shape, byte length) of array number `position`."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "nbytes"}:
        raise ProtocolError(f"array {position}: a descriptor needs exactly dtype, shape, nbytes")
    dtype = WIRE_DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise ProtocolError(f"array {position}: unknown dtype {str(entry['dtype'])[:40]!r}")
    shape = entry["shape"]
    if not isinstance(shape, list) or len(shape) > 32 or not all(_is_count(d) for d in shape):
        raise ProtocolError(f"array {position}: the shape is not a list of non-negative ints")
    nbytes = entry["nbytes"]
    if not _is_count(nbytes):
        raise ProtocolError(f"array {position}: nbytes is not a non-negative int")
    expected = math.prod(shape) * dtype.itemsize
    if expected != nbytes:
        raise ProtocolError(f"array {position}: shape {shape} needs {expected} bytes, not {nbytes}")
    return dtype, tuple(shape), nbytes


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def decode_array(dtype: torch.dtype, shape: tuple[int, ...], data: memoryview) -> Tensor:
    """A tensor that owns a copy of `data`, made without unpickling anything (a view would
    keep the whole reply alive where grading keeps only part of it)."""
    if not data:
        return torch.empty(shape, dtype=dtype)
    array = torch.frombuffer(bytearray(data), dtype=dtype)
    return array if len(shape) == 1 else array.reshape(shape)


def read_reply(
    read_exact: ReadExact,
    *,
    max_header: int = MAX_FRAME_BYTES,
    max_payload: int = MAX_PAYLOAD_BYTES,
) -> tuple[dict[str, Any], list[Tensor]]:
    """The next reply: its header (a JSON object) and its arrays, every descriptor checked;
    a header over `max_header` bytes or arrays over `max_payload` are refused unread."""
    header = read_frame(read_exact, max_header)
    if not isinstance(header, dict):
        raise ProtocolError("a reply header is not a JSON object")
    entries = header.get("arrays")
    if not isinstance(entries, list) or len(entries) > MAX_ARRAYS:
        raise ProtocolError(f"a reply needs a list of at most {MAX_ARRAYS} array descriptors")
    descriptors = [_descriptor(entry, i) for i, entry in enumerate(entries)]
    total = sum(nbytes for _, _, nbytes in descriptors)
    if total > min(max_payload, MAX_PAYLOAD_BYTES):
        raise ProtocolError(f"a reply announces {total} bytes of arrays, over {max_payload}")
    payload = memoryview(read_exact(total) if total else b"")
    arrays, offset = [], 0
    for dtype, shape, nbytes in descriptors:
        arrays.append(decode_array(dtype, shape, payload[offset : offset + nbytes]))
        offset += nbytes
    return header, arrays
