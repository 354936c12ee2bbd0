"""Reference outcomes kept on disk between runs, keyed by the case, the kit's source and torch.

A reference outcome (what the reference, or one of its known bugs, gives on a case) depends
only on the case's request, the code of the kit and the reference, and torch's version; the
key hashes all three, so an edit of any of them can never reuse an old entry. Entries are
plain JSON (no pickle), written to a temporary file and renamed into place, so concurrent
writers and a kill -9 mid-write leave either the old entry, the new one, or none. An entry that
cannot be read, or whose stored request is not the case's, is recomputed, never trusted.

The folder is $OPTIM_GRADER_CACHE, else $XDG_CACHE_HOME/optim-grader, else
~/.cache/optim-grader; OPTIM_GRADER_CACHE=off keeps nothing on disk.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import torch

from autograder.config import KIT_ROOT, PACKAGE
from autograder.public_expected import outcome_from_json, outcome_json
from autograder.worker import CaseOutcome, CaseRequest

FORMAT_VERSION = 1
SOURCES = ("autograder", "reference")  # the packages whose code decides a reference outcome
T = TypeVar("T")
UNREADABLE = (KeyError, TypeError, ValueError, IndexError, RuntimeError, RecursionError)
_FACTS = ("status", "message", "step", "error_type", "error_message", "line", "modified")


def cache_folder(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where entries live; None when caching is off."""
    chosen = environ.get("OPTIM_GRADER_CACHE")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "optim-grader"


@functools.cache
def source_digest() -> str:
    """A SHA-256 of every Python file of the kit and the reference, with torch's version."""
    digest = hashlib.sha256(f"{FORMAT_VERSION} torch {torch.__version__}".encode())
    roots = [PACKAGE] + [KIT_ROOT / name for name in SOURCES if name != PACKAGE.name]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def record(outcome: CaseOutcome) -> dict[str, Any]:
    """An outcome as JSON: its status and facts, and the values it recorded."""
    return {**{name: getattr(outcome, name) for name in _FACTS}, "values": outcome_json(outcome)}


def from_record(request: CaseRequest, data: Mapping[str, Any]) -> CaseOutcome:
    """The outcome `record` wrote, for `request`."""
    values = outcome_from_json(request, data["values"])
    return replace(values, **{name: data[name] for name in _FACTS})


class DiskCache:
    """Entries of one kind ("expected", "variants") under the cache folder."""

    def __init__(self, kind: str, folder: Path | None = None) -> None:
        self.kind = kind
        self.folder = cache_folder() if folder is None else folder

    def _path(self, request: CaseRequest) -> tuple[Path, str] | None:
        if self.folder is None:
            return None
        text = json.dumps(request.to_json(), sort_keys=True)
        key = hashlib.sha256(f"{source_digest()}\0{self.kind}\0{text}".encode()).hexdigest()
        return self.folder / "reference" / key[:2] / f"{key}.json", text

    def get(self, request: CaseRequest) -> Any | None:
        """The stored value for `request`, or None when there is none to trust."""
        place = self._path(request)
        if place is None:
            return None
        path, text = place
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry["request"] != text:
                return None
            return entry["value"]
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None

    def put(self, request: CaseRequest, value: Any) -> None:
        """Store `value` for `request` atomically; a cache that cannot be written is skipped."""
        place = self._path(request)
        if place is None:
            return
        path, text = place
        data = json.dumps({"request": text, "value": value}, separators=(",", ":"))
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".partial")
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                    stream.write(data)
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise

    def fetch(
        self,
        request: CaseRequest,
        compute: Callable[[], T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> T:
        """The stored value decoded, or `compute()`, stored when it can be encoded."""
        stored = self.get(request)
        if stored is not None:
            with contextlib.suppress(*UNREADABLE):
                return decode(stored)
        value = compute()
        try:
            encoded = encode(value)
        except UNREADABLE:  # a value JSON cannot hold: used, not kept
            return value
        self.put(request, encoded)
        return value
