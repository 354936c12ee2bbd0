"""Confine the worker before it imports student code: privileges, limits, Landlock, seccomp.

The grading process draws up a `Confinement` (what the worker may read and write, what stays
hidden, its limits) and sends it with the module's path; the worker, which has imported
torch and the kit but no student code yet, calls `confine(plan)`:

1. HOME and TMPDIR point at the worker's own scratch folder;
2. run by root, it switches to an unprivileged user (`Limits.user`, default "nobody") when
   that user can read everything the worker needs, else it stays root but drops every
   capability (RLIMIT_NPROC never binds root; seccomp still forbids new processes);
3. rlimits: CPU seconds, address space, file size, no core dumps, and at most
   `Limits.processes` more tasks than its user already runs (not for root);
4. Landlock (landlock.py): read-only access to the Python installation, the system
   libraries, the kit's package and the student's folder; read-write to the scratch folder;
   nothing else, nothing hidden (the reference, the solutions, the tests, the rubrics);
5. seccomp (seccomp.py): no socket and, unless `Limits.forks`, no new process (threads
   are fine).

A worker for cases on a GPU that the machine has gets neither the address-space limit (the
driver reserves far more) nor Landlock (the driver needs /dev, /sys and /proc in ways not
tried yet); seccomp and the other limits stay.

Each step is best effort: `confine` returns what this machine could not enforce, and the
grading process warns once.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import resource
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from autograder.config import KIT_ROOT, PACKAGE
from autograder.worker.confine import landlock, seccomp

__all__ = ["Confinement", "Limits", "confine", "drop_privileges", "plan_confinement"]

HIDDEN_IN_KIT = ("reference", "solutions", "tests", "examples")
SYSTEM_READ = (
    "/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/localtime",
    "/proc/self", "/proc/cpuinfo", "/sys/devices/system/cpu",
)  # fmt: skip
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
CPU_GRACE = 5  # seconds between SIGXCPU (the soft limit) and SIGKILL (the hard one)

_CAPBSET_DROP, _CAP_AMBIENT, _CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_CAPABILITY_VERSION_3 = 0x20080522


@dataclass(frozen=True)
class Limits:
    """What one worker may use; None lifts a limit. Defaults are generous for honest code."""

    cpu_seconds: int | None = 60
    address_space: int | None = 4 * 2**30  # torch itself needs about 0.8 GiB of it
    file_size: int | None = 2**20
    processes: int | None = 64
    user: str | None = "nobody"
    forks: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """The defaults, changed by OPTIM_GRADER_CPU_SECONDS, OPTIM_GRADER_MEMORY_MIB (0: no
        limit), OPTIM_GRADER_WORKER_USER (empty: do not switch user) and
        OPTIM_GRADER_ALLOW_FORK (1: student code may start processes)."""
        defaults = cls()
        user = environ.get("OPTIM_GRADER_WORKER_USER")
        return cls(
            cpu_seconds=_number(environ, "OPTIM_GRADER_CPU_SECONDS", defaults.cpu_seconds),
            address_space=_number(
                environ, "OPTIM_GRADER_MEMORY_MIB", defaults.address_space, unit=2**20
            ),
            file_size=defaults.file_size,
            processes=defaults.processes,
            user=defaults.user if user is None else user or None,
            forks=environ.get("OPTIM_GRADER_ALLOW_FORK", "0") == "1",
        )


def _number(
    environ: Mapping[str, str], name: str, default: int | None, unit: int = 1
) -> int | None:
    """The whole number in environ[name] times `unit` (0: None, no limit), else `default`."""
    if name not in environ:
        return default
    try:
        value = int(environ[name])
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {environ[name]!r}") from None
    return value * unit or None


@dataclass(frozen=True)
class Confinement:
    """Where the worker may read and write, what stays hidden even inside those, its limits."""

    scratch: Path
    read: tuple[Path, ...]
    hidden: tuple[Path, ...]
    devices: tuple[Path, ...]
    limits: Limits
    landlock: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "scratch": str(self.scratch),
            "read": [str(p) for p in self.read],
            "hidden": [str(p) for p in self.hidden],
            "devices": [str(p) for p in self.devices],
            "limits": asdict(self.limits),
            "landlock": self.landlock,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Confinement:
        return cls(
            scratch=Path(data["scratch"]),
            read=tuple(Path(p) for p in data["read"]),
            hidden=tuple(Path(p) for p in data["hidden"]),
            devices=tuple(Path(p) for p in data["devices"]),
            limits=Limits(**data["limits"]),
            landlock=bool(data["landlock"]),
        )


def plan_confinement(
    module_folder: Path, scratch: Path, limits: Limits, *, gpu: bool = False
) -> Confinement:
    """The plan for a worker that imports a module from `module_folder` (`gpu`: for cases
    that run on a GPU).

    Hidden: the kit's reference, solutions, tests and rubrics, and the installed `reference`
    package wherever it is, except a folder holding the module itself (grading solutions/).
    """
    module_folder = module_folder.resolve()
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    read = [*(Path(p) for p in sorted(prefixes)), PACKAGE, module_folder]
    read += [Path(p) for p in SYSTEM_READ]
    hidden = [KIT_ROOT / name for name in HIDDEN_IN_KIT] + [PACKAGE / "rubrics"]
    hidden += _installed("reference")
    hidden = [h for h in hidden if h != module_folder and h not in module_folder.parents]
    devices = tuple(Path(p) for p in DEVICES)
    if gpu:
        limits = replace(limits, address_space=None)
    return Confinement(scratch, tuple(read), tuple(hidden), devices, limits, landlock=not gpu)


def _installed(package: str) -> list[Path]:
    """Where `package` would be imported from, without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    return [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []


def confine(plan: Confinement) -> list[str]:
    """Apply `plan` to this process; what could not be enforced, as phrases for a warning."""
    for name in ("HOME", "TMPDIR", "TEMP", "TMP"):
        os.environ[name] = str(plan.scratch)
    tempfile.tempdir = None
    read = [*plan.read, *(Path(p) for p in sys.path if p and Path(p).is_dir())]
    missing = drop_privileges(plan.limits.user, plan.scratch, read)
    missing += _set_limits(plan.limits)
    if plan.landlock:
        missing += landlock.restrict(
            read=read, write=[plan.scratch], devices=plan.devices, hidden=plan.hidden
        )
    else:
        missing.append("Landlock is off for cases on a GPU, so the worker can read any file")
    missing += seccomp.install(processes=plan.limits.forks)
    threads = _count_threads()
    if threads > 1:
        missing.append(f"the worker runs {threads} threads and only one of them is confined")
    return missing


def _set_limits(limits: Limits) -> list[str]:
    wanted = {resource.RLIMIT_CORE: (0, 0)}
    if limits.cpu_seconds is not None:
        wanted[resource.RLIMIT_CPU] = (limits.cpu_seconds, limits.cpu_seconds + CPU_GRACE)
    if limits.address_space is not None:
        wanted[resource.RLIMIT_AS] = (limits.address_space, limits.address_space)
    if limits.file_size is not None:
        wanted[resource.RLIMIT_FSIZE] = (limits.file_size, limits.file_size)
    if limits.processes is not None and os.getuid() != 0:
        wanted[resource.RLIMIT_NPROC] = (_tasks_of(os.getuid()) + limits.processes,) * 2
    missing = []
    for which, (soft, hard) in wanted.items():
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError) as error:
            missing.append(f"the limit {which} could not be set ({error})")
    return missing


def _tasks_of(uid: int) -> int:
    """How many tasks (processes and threads: what RLIMIT_NPROC counts) `uid` runs."""
    count = 0
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if name.isdigit():
            with contextlib.suppress(OSError):
                status = os.stat(f"/proc/{name}")
                if status.st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
    return count


def _count_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def drop_privileges(user: str | None, scratch: Path, read: Iterable[Path]) -> list[str]:
    """Run by root: become `user` if it can read `read`, else keep uid 0 without capabilities."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return []
    reason = "no user is configured to run it"
    if user is not None:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            reason = f"there is no user {user!r}"
        else:
            blocked = [p for p in read if p.exists() and not _readable_by(p, entry)]
            if not blocked:
                os.chown(scratch, entry.pw_uid, entry.pw_gid)
                os.setgroups([])
                os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
                os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
                return []
            reason = f"{user} cannot read {blocked[0]}"
    dropped = _drop_capabilities()
    return [f"the worker runs as root ({reason}), {dropped}"]


def _readable_by(path: Path, entry: pwd.struct_passwd) -> bool:
    """Whether `entry`'s user can reach `path` (search every folder above) and read it."""
    path = path.resolve()
    for folder in reversed(path.parents):
        if not _allows(folder, entry, stat.S_IXOTH):
            return False
    return _allows(path, entry, stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))


def _allows(path: Path, entry: pwd.struct_passwd, bits: int) -> bool:
    """Whether the owner, group or other bits of `path` that apply to `entry` hold `bits`."""
    try:
        status = path.stat()
    except OSError:
        return False
    shift = 6 if status.st_uid == entry.pw_uid else 3 if status.st_gid == entry.pw_gid else 0
    return (status.st_mode >> shift) & bits == bits


def _drop_capabilities() -> str:
    """Empty the bounding, ambient, permitted and effective capability sets of this thread."""
    if not sys.platform.startswith("linux"):
        return "with its capabilities"
    try:
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        last = 63
    for capability in range(last + 1):
        landlock.prctl(_CAPBSET_DROP, capability)
    landlock.prctl(_CAP_AMBIENT, _CAP_AMBIENT_CLEAR_ALL)
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(ctypes.byref(header), ctypes.byref(data)) != 0:
        return f"with its capabilities (capset: {os.strerror(ctypes.get_errno())})"
    return "without capabilities"
