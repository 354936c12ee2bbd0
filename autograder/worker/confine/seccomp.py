"""A seccomp filter: the worker reaches no other process, opens no socket, and (unless allowed)
starts no process.

    missing = install(processes=False)

After it, in this thread and all it starts, these system calls fail with EPERM:

- kill, tkill, tgkill, rt_sigqueueinfo and rt_tgsigqueueinfo aimed at another process than
  the worker itself, and prlimit64 on another process: the worker cannot kill, nor lower the
  limits of, the grading process or any process of its user, whatever Landlock allows;
- ptrace, process_vm_readv/writev and the pidfd calls: it cannot read or steer another;
- socket, socketpair and io_uring_setup: no network (UDP included, which Landlock leaves
  open) and no Unix socket (a session bus or docker.sock would run commands outside);
- keyctl, add_key and request_key (the grader's keyrings), SysV shared memory, semaphores
  and message queues, POSIX message queues, unshare and setns (no user namespace) and
  memfd_create: no kernel object that the grading process holds, nor one that outlives the
  worker;
- setpriority, sched_setparam, sched_setscheduler, sched_setaffinity, sched_setattr and
  ioprio_set, on any process: the worker cannot slow the grader nor the workers after it;
- any call of another ABI (32-bit calls on x86-64);
- with `processes=False`, fork, vfork and clone without CLONE_THREAD (clone3 fails with
  ENOSYS, so that the C library falls back to clone for threads, which still work): no
  process left behind, no memory or CPU limit multiplied (both are per process), no fork
  bomb.

Only x86-64 and AArch64 are covered; the filter cannot be removed.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys

from autograder.worker.confine import landlock

__all__ = ["install"]

_SET_NO_NEW_PRIVS, _SET_SECCOMP, _MODE_FILTER = 38, 22, 2
_LOAD_WORD, _JUMP_EQUAL, _JUMP_AT_LEAST, _JUMP_BITS, _RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _DENY, _NO_SUCH_CALL = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
_NUMBER, _ARCH, _LOW, _HIGH = 0, 4, 16, 20  # offsets in seccomp_data; the first argument's
_CLONE_THREAD = 0x00010000
_X32_BIT = 0x40000000
_ARCHITECTURES = {
    # machine: (AUDIT_ARCH_*, {system call: its number}); AArch64 has no fork nor vfork
    "x86_64": (0xC000003E, {
        "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
        "rt_tgsigqueueinfo": 297, "prlimit64": 302, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "pidfd_send_signal": 424, "pidfd_open": 434,
        "pidfd_getfd": 438, "socket": 41, "socketpair": 53, "io_uring_setup": 425,
        "clone": 56, "fork": 57, "vfork": 58, "clone3": 435,
        "keyctl": 250, "add_key": 248, "request_key": 249, "shmget": 29, "shmat": 30,
        "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220, "msgget": 68,
        "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240, "mq_unlink": 241,
        "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
        "unshare": 272, "setns": 308, "memfd_create": 319, "setpriority": 141,
        "sched_setparam": 142, "sched_setscheduler": 144, "sched_setaffinity": 203,
        "sched_setattr": 314, "ioprio_set": 251,
    }),
    "aarch64": (0xC00000B7, {
        "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
        "rt_tgsigqueueinfo": 240, "prlimit64": 261, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "pidfd_send_signal": 424, "pidfd_open": 434,
        "pidfd_getfd": 438, "socket": 198, "socketpair": 199, "io_uring_setup": 425,
        "clone": 220, "clone3": 435,
        "keyctl": 219, "add_key": 217, "request_key": 218, "shmget": 194, "shmat": 196,
        "shmctl": 195, "semget": 190, "semop": 193, "semctl": 191, "semtimedop": 192,
        "msgget": 186, "msgsnd": 189, "msgrcv": 188, "msgctl": 187, "mq_open": 180,
        "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183, "mq_notify": 184,
        "mq_getsetattr": 185, "unshare": 97, "setns": 268, "memfd_create": 279,
        "setpriority": 140, "sched_setparam": 118, "sched_setscheduler": 119,
        "sched_setaffinity": 122, "sched_setattr": 274, "ioprio_set": 30,
    }),
}  # fmt: skip
KERNEL_OBJECTS = ("keyctl", "add_key", "request_key", "shmget", "shmat", "shmctl", "semget",
                  "semop", "semctl", "semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl",
                  "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
                  "mq_getsetattr", "unshare", "setns", "memfd_create")  # fmt: skip
SCHEDULING = ("setpriority", "sched_setparam", "sched_setscheduler", "sched_setaffinity",
              "sched_setattr", "ioprio_set")  # fmt: skip
DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_send_signal", "pidfd_open",
          "pidfd_getfd", "socket", "socketpair", "io_uring_setup", *KERNEL_OBJECTS,
          *SCHEDULING)  # fmt: skip
AT_ITSELF = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")

Jump = str | int  # a label, or 0 for the next instruction
Line = tuple[int, Jump, Jump, int] | str  # (code, then, otherwise, k), or a label


class _Filter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jump_true", ctypes.c_uint8),
        ("jump_false", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _Program(ctypes.Structure):
    _fields_ = (("length", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter)))


def _program(arch: int, numbers: dict[str, int], pid: int, processes: bool) -> list[Line]:
    """The filter, with labels; every jump goes forward."""
    program: list[Line] = [
        (_LOAD_WORD, 0, 0, _ARCH),
        (_JUMP_EQUAL, 0, "deny", arch),
        (_LOAD_WORD, 0, 0, _NUMBER),
        (_JUMP_AT_LEAST, "deny", 0, _X32_BIT),
    ]
    denied = [*DENIED, *([] if processes else ("fork", "vfork"))]
    program += [(_JUMP_EQUAL, "deny", 0, numbers[name]) for name in denied if name in numbers]
    program += [(_JUMP_EQUAL, "itself", 0, numbers[name]) for name in AT_ITSELF]
    program.append((_JUMP_EQUAL, "itself or 0", 0, numbers["prlimit64"]))
    if not processes:
        program += [
            (_JUMP_EQUAL, "no such call", 0, numbers["clone3"]),
            (_JUMP_EQUAL, "clone", 0, numbers["clone"]),
        ]
    return [
        *program,
        (_RETURN, 0, 0, _ALLOW),
        "clone",
        (_LOAD_WORD, 0, 0, _LOW),  # clone's flags: a thread, or a process?
        (_JUMP_BITS, "allow", "deny", _CLONE_THREAD),
        "itself or 0",
        (_LOAD_WORD, 0, 0, _HIGH),
        (_JUMP_EQUAL, 0, "deny", 0),
        (_LOAD_WORD, 0, 0, _LOW),
        (_JUMP_EQUAL, "allow", "pid", 0),
        "itself",
        (_LOAD_WORD, 0, 0, _HIGH),
        (_JUMP_EQUAL, 0, "deny", 0),  # a negative pid: a process group, or every process
        (_LOAD_WORD, 0, 0, _LOW),
        "pid",
        (_JUMP_EQUAL, "allow", "deny", pid),
        "allow",
        (_RETURN, 0, 0, _ALLOW),
        "deny",
        (_RETURN, 0, 0, _DENY),
        "no such call",
        (_RETURN, 0, 0, _NO_SUCH_CALL),
    ]


def _assemble(program: list[Line]) -> list[_Filter]:
    """The instructions, each label resolved into a jump relative to the next instruction."""
    labels: dict[str, int] = {}
    instructions: list[tuple[int, Jump, Jump, int]] = []
    for line in program:
        if isinstance(line, str):
            labels[line] = len(instructions)
        else:
            instructions.append(line)
    filters = []
    for position, (code, then, otherwise, k) in enumerate(instructions):
        jumps = [labels[j] - position - 1 if isinstance(j, str) else j for j in (then, otherwise)]
        filters.append(_Filter(code, jumps[0], jumps[1], k))
    return filters


def install(*, processes: bool) -> list[str]:
    """Install the filter on this thread (`processes`: whether new processes are allowed);
    what could not be done, as phrases for a warning."""
    machine = platform.machine().lower()
    if not sys.platform.startswith("linux") or machine not in _ARCHITECTURES:
        return [f"seccomp is not used on {sys.platform} {machine}, so the worker may signal "
                "processes of its user, open sockets and start processes"]  # fmt: skip
    arch, numbers = _ARCHITECTURES[machine]
    filters = _assemble(_program(arch, numbers, os.getpid(), processes))
    program = _Program(len(filters), (_Filter * len(filters))(*filters))
    refused = landlock.prctl(_SET_NO_NEW_PRIVS, 1) != 0
    if not refused:
        libc = ctypes.CDLL(None, use_errno=True)
        arguments = (ctypes.c_ulong(_SET_SECCOMP), ctypes.c_ulong(_MODE_FILTER))
        zero = ctypes.c_ulong(0)
        refused = libc.prctl(*arguments, ctypes.byref(program), zero, zero) != 0
    if refused:
        reason = errno.errorcode.get(ctypes.get_errno(), "unknown")
        return [f"the seccomp filter was refused ({reason}), so the worker may signal "
                "processes of its user, open sockets and start processes"]  # fmt: skip
    return []
