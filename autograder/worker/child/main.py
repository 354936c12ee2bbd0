"""The worker process (`python -m autograder.worker.child.main`): loads a submission, runs cases.

It speaks the protocol on private copies of its stdin and stdout; the student's code sees
/dev/null on fds 0, 1 and 2, so prints and reads cannot touch the channel nor fill anything.
It imports torch and the kit first; then, told the module's path and the sandbox plan, it
hides the kit's folder, blocks `reference` and `solutions`, confines itself (sandbox.py) and
says what it could not enforce; only then does it import the student's module, once, and
answer one request per case until stdin closes.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import site
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from autograder.config import KIT_ROOT
from autograder.errors import ChannelClosed
from autograder.worker import messages
from autograder.worker.budget import array_budget
from autograder.worker.child.delegation import DelegationWatch
from autograder.worker.child.forbidden_imports import FORBIDDEN, ForbiddenImports
from autograder.worker.child.runners import Reply, Student, run_case, student_frame
from autograder.worker.confine.sandbox import Confinement, confine
from autograder.worker.protocol import MAX_ARRAYS, encode_reply, read_frame
from autograder.worker.records import CaseRequest


class Channel:
    """The protocol's two pipe ends, on fds the student's code does not know about."""

    def __init__(self, reader: int, writer: int) -> None:
        self.reader, self.writer = reader, writer

    def read_exact(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = os.read(self.reader, size - len(data))
            if not chunk:
                raise ChannelClosed("the grading process closed the pipe")
            data += chunk
        return bytes(data)

    def send(self, header: dict[str, Any], arrays: Sequence[torch.Tensor] = ()) -> None:
        view = memoryview(encode_reply(header, arrays))
        while view:
            view = view[os.write(self.writer, view) :]


def claim_pipes() -> Channel:
    """Move the protocol to private fds and point fds 0 and 1 at /dev/null."""
    channel = Channel(os.dup(0), os.dup(1))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    return channel


def isolate(module_folder: Path) -> None:
    """Drop the kit's folder from sys.path (unless it is site-packages), block the
    forbidden packages, and put the student's folder first, as Python does for a script."""
    site_folders = {
        Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]
    }
    if KIT_ROOT not in site_folders:
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != KIT_ROOT]
    sys.meta_path.insert(0, ForbiddenImports())
    for name in [n for n in sys.modules if n.partition(".")[0] in FORBIDDEN]:
        del sys.modules[name]
    sys.path.insert(0, str(module_folder))
    os.chdir(module_folder)


def load(path: Path) -> types.ModuleType | dict[str, Any]:
    """The student's module, or the header of a load_error reply saying why it did not import."""
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else "submission"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return _load_error(path, "it is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        if error.filename and Path(error.filename) == path:
            reason = f"it has a syntax error at line {error.lineno}: {error.msg}"
            return _load_error(path, reason, error, error.lineno)
        return _import_raised(path, error)
    except SystemExit as error:
        return _load_error(path, f"importing it called sys.exit({error.code!r})", error)
    except BaseException as error:  # an import may raise anything
        return _import_raised(path, error)
    return module


def _import_raised(path: Path, error: BaseException) -> dict[str, Any]:
    line, code = student_frame(error, path)
    text = messages.one_line(str(error))
    described = f"{type(error).__name__}: {text}" if text else type(error).__name__
    reason = f"importing it raised {described}{messages.location(line=line, code=code)}"
    return _load_error(path, reason, error, line)


def _load_error(
    path: Path, reason: str, error: BaseException | None = None, line: int | None = None
) -> dict[str, Any]:
    return {
        "status": "load_error",
        "message": messages.render("load_error", file=path.name, reason=reason),
        "error_type": None if error is None else type(error).__name__,
        "error_message": None if error is None else messages.one_line(str(error)),
        "line": line,
    }


WATCH = DelegationWatch()


def answer(student: Student, request: CaseRequest) -> Reply:
    """Run one case; an error outside the student's calls becomes a "crashed" reply. The
    reply names the torch.optim or kit entry point the student's code called, if any."""
    try:
        with WATCH.watching():
            reply = run_case(student, request)
        reply.header["delegated"] = WATCH.verdict(str(reply.header.get("status")))
    except Exception as error:  # the kit's checks failed on what the function gave them
        reason = messages.one_line(f"{type(error).__name__}: {error}")
        text = (
            f"checking what {request.function} returned failed inside the grader ({reason}); "
            f"if it returns what the skeleton asks for, tell the course staff"
        )
        return Reply({"status": "crashed", "message": f"{student.file}: {text}"})
    size = sum(array.numel() * array.element_size() for array in reply.arrays)
    if size > array_budget(request) or len(reply.arrays) > MAX_ARRAYS:
        what = f"more data than the grader accepts ({size} bytes in {len(reply.arrays)} arrays)"
        message = messages.render(
            "bad_return",
            file=student.file,
            function=request.function,
            what=what,
            where="",
            expected="keep a few tensors of x's shape in state",
        )
        return Reply({"status": "bad_return", "message": message})
    return reply


def silence_stderr() -> None:
    """Point fd 2 at /dev/null: what the student writes there goes nowhere, at no cost."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def main() -> int:
    """Serve one submission: handshake, confine, load, then one reply per request until stdin
    closes. Nothing of the student's runs before the "confined" reply."""
    channel = claim_pipes()
    torch.set_num_threads(1)
    channel.send({"status": "ready", "pid": os.getpid()})
    request = read_frame(channel.read_exact)
    path = Path(request["module"])
    isolate(path.parent)
    missing = confine(Confinement.from_json(request["sandbox"]))
    silence_stderr()
    channel.send({"status": "confined", "missing": missing})
    WATCH.learn_the_kit()
    module = load(path)
    if isinstance(module, dict):
        channel.send(module)
        return 0
    channel.send({"status": "loaded"})
    student = Student(module, path)
    while True:
        try:
            message = read_frame(channel.read_exact)
        except ChannelClosed:
            return 0
        reply = answer(student, CaseRequest.from_json(message["case"]))
        channel.send({**reply.header, "id": message["id"]}, reply.arrays)


if __name__ == "__main__":
    raise SystemExit(main())
