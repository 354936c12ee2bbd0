"""Landlock, Linux's unprivileged sandbox, through ctypes: what the worker may read and write.

    missing = restrict(read=[...], write=[scratch], devices=[Path("/dev/null")], hidden=[...])

After `restrict` the calling thread and every process it starts can read only below `read`,
read and write only below `write`, execute nothing, connect or bind no TCP port, and signal
or reach (abstract Unix sockets) no process outside the sandbox, as far as the kernel's
Landlock ABI allows: ABI 1 (Linux 5.13) files, 4 (6.7) TCP, 6 (6.12) signals and sockets
(seccomp.py blocks those two, and UDP, on any ABI).
Rules grant whole folder trees, so a folder of `read` that holds one of `hidden` is granted
entry by entry around it. Nothing here can be undone by the sandboxed process.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["abi_version", "prctl", "restrict"]

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_VERSION_FLAG = 1 << 0
_PATH_BENEATH = 1
_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 7, 1 << 8
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
NET_TCP = (1 << 0) | (1 << 1)  # bind and connect
SCOPES = (1 << 0) | (1 << 1)  # abstract Unix sockets and signals

READ = READ_FILE | READ_DIR
WRITE = READ | WRITE_FILE | TRUNCATE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG
DEVICE = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """libc, once per process: each CDLL builds its own function-pointer class, and dropping
    the capabilities calls prctl forty times."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def prctl(option: int, *arguments: int) -> int:
    """prctl(2) with its four arguments passed as unsigned longs, as the kernel reads them;
    -1 (and errno) on failure, or where there is no prctl."""
    libc = _libc()
    if libc is None:
        return -1
    padded = [*arguments, 0, 0, 0, 0][:4]
    return int(libc.prctl(*(ctypes.c_ulong(a) for a in (option, *padded))))


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is absent, disabled or blocked."""
    libc = _libc()
    if libc is None:
        return 0
    version = libc.syscall(
        _CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION_FLAG)
    )
    return max(int(version), 0)


def _handled(abi: int) -> tuple[_RulesetAttr, int]:
    """The rights this ABI knows (all handled: what no rule grants is denied), and the size
    of the attribute structure it understands."""
    last_fs_right = {1: 12, 2: 13, 3: 14, 4: 14}.get(abi, 15)
    attr = _RulesetAttr(
        handled_access_fs=(1 << (last_fs_right + 1)) - 1,
        handled_access_net=NET_TCP if abi >= 4 else 0,
        scoped=SCOPES if abi >= 6 else 0,
    )
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    return attr, size


def _check(result: int, what: str) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
    return result


class _Ruleset:
    """An open Landlock ruleset and the rights it handles."""

    def __init__(self, libc: ctypes.CDLL, abi: int) -> None:
        self.libc = libc
        attr, size = _handled(abi)
        self.handled = attr.handled_access_fs
        created = libc.syscall(
            _CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
        )
        self.fd = _check(int(created), "landlock_create_ruleset")

    def allow(self, path: Path, access: int) -> None:
        """Grant `access` below `path` (a file gets only the rights that apply to files)."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # a path that does not exist needs no rule
        try:
            if not path.is_dir():
                access &= FILE_ONLY
            rule = _PathBeneathAttr(allowed_access=access & self.handled, parent_fd=fd)
            added = self.libc.syscall(
                _ADD_RULE,
                ctypes.c_int(self.fd),
                ctypes.c_int(_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            )
            _check(int(added), f"landlock_add_rule({path})")
        finally:
            os.close(fd)

    def allow_around(self, root: Path, access: int, hidden: Sequence[str]) -> None:
        """Grant `access` below `root` except below each of `hidden` (real paths), entry by
        entry."""
        top = os.path.realpath(root)
        if any(_within(top, h) for h in hidden):
            return
        if not any(_within(h, top) for h in hidden):
            self.allow(Path(top), access)
            return
        with contextlib.suppress(OSError), os.scandir(top) as entries:
            for entry in entries:
                self.allow_around(Path(entry.path), access, hidden)

    def enforce(self) -> None:
        no_new_privileges = self.libc.prctl(
            *(ctypes.c_ulong(a) for a in (_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        )
        _check(no_new_privileges, "prctl(PR_SET_NO_NEW_PRIVS)")
        enforced = self.libc.syscall(_RESTRICT_SELF, ctypes.c_int(self.fd), ctypes.c_uint32(0))
        _check(int(enforced), "landlock_restrict_self")

    def close(self) -> None:
        os.close(self.fd)


def _within(path: str, folder: str) -> bool:
    """Whether the real path `path` is `folder` or lies below it: strings, not pathlib, which
    took most of a worker's 15 ms of confinement comparing paths."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def restrict(
    *,
    read: Iterable[Path],
    write: Iterable[Path],
    devices: Iterable[Path],
    hidden: Iterable[Path] = (),
) -> list[str]:
    """Sandbox the calling thread and its future children; what could not be enforced, as
    phrases for a warning (empty when everything was)."""
    abi = abi_version()
    libc = _libc()
    if abi == 0 or libc is None:
        return ["Landlock is not available, so the worker can read and write any file"]
    hidden_paths = [os.path.realpath(h) for h in hidden]
    ruleset = _Ruleset(libc, abi)
    try:
        for folder in read:
            ruleset.allow_around(Path(folder), READ, hidden_paths)
        for folder in write:
            ruleset.allow(Path(folder), WRITE)
        for device in devices:
            ruleset.allow(Path(device), DEVICE)
        ruleset.enforce()
    except OSError as error:
        return [f"Landlock could not be enforced ({error})"]
    finally:
        ruleset.close()
    return []
