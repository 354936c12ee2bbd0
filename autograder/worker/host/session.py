"""The grading side: stream a submission's cases through one worker process.

One worker per list of cases, replaced by a fresh one only when a case times out, kills it or
answers garbage: that case alone pays. A submission graded alone may spread its cases over a
worker per spare core (`run_in_workers`), each function's cases in one of them. A function that
timed out, or killed its worker or answered garbage twice, is not run again: its later cases
share that outcome, so a hang costs one limit and a function that always ends the process two
worker starts.
Each worker confines itself (sandbox.py) before it imports the module; what a machine could
not enforce is said once on the grading process's stderr.
"""

from __future__ import annotations

import collections
import functools
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from autograder.config import (
    CASE_TIME_LIMIT,
    LIMIT_AFTER_A_TIMEOUT,
    SUBMISSION_TIME_BUDGET,
    WORKER_START_TIME_LIMIT,
)
from autograder.errors import ChannelClosed, ChannelTimeout, ProtocolError, WorkerError
from autograder.problems import problem as find_problem
from autograder.worker import messages
from autograder.worker.budget import MAX_SUBMISSION_BYTES
from autograder.worker.confine.sandbox import Limits
from autograder.worker.host import forks
from autograder.worker.host.launch import WorkerProcess, start_worker, stop_worker, watch
from autograder.worker.host.replies import optional, optional_text, receive_outcome, text
from autograder.worker.protocol import ReadExact, encode_frame, read_reply
from autograder.worker.records import CaseOutcome, CaseRequest

EXIT_GRACE = 1.0
KILLS_PER_FUNCTION = 2
# Seconds into a case after which its worker lends its place (`Shared.places`) to another
# submission's: six times the slowest case of a solution (adadelta on sparse features, 43 ms).
SLOW_CASE = 0.25
# Seconds without a reply, then as many again without CPU time, after which a worker in a
# case is taken to be asleep or blocked: it lends its place at once.
STALL = 0.03
# Requests a worker holds beyond the case it runs, so that it never waits for its next one
# while the grading process reads its last reply.
AHEAD = 4
HOST_DEVICES = ("cpu", "meta")
_warned: set[str] = set()


class LoadFailure(Exception):
    """The student's module did not load; carries the load_error facts for every case."""

    def __init__(self, facts: dict[str, Any]) -> None:
        super().__init__(facts["message"])
        self.facts = facts


def run_cases(
    module_path: Path,
    requests: Sequence[CaseRequest],
    *,
    case_time_limit: float = CASE_TIME_LIMIT,
    time_budget: float = SUBMISSION_TIME_BUDGET,
    start_time_limit: float = WORKER_START_TIME_LIMIT,
    limits: Limits | None = None,
    shared: Shared | None = None,
    keep: Callable[[CaseOutcome], CaseOutcome] = lambda outcome: outcome,
    boundary: int | None = None,
) -> list[CaseOutcome]:
    """Run every request on the student's module at `module_path`, in order, one outcome each.

    `case_time_limit` bounds each case and the module's import (wall clock, seconds), and
    LIMIT_AFTER_A_TIMEOUT each case after one has timed out; `time_budget` bounds all the
    cases together: the cases left when it runs out are not run, each a "timeout";
    `start_time_limit` bounds the worker's own start (importing torch), which is not the
    student's to pay; `limits` bound each worker (default: `Limits.from_environment()`; see
    sandbox.py for what changes when a case runs on a GPU); `shared` (default: new, from
    `time_budget`) is what this call shares with other calls for the same submission
    (`Shared.for_submission`): the budget, the reply bytes and the functions given up. Raises
    WorkerError when a worker cannot start at all, ValueError for a request that names an
    unknown problem or a shape that does not fit it. `keep` reduces each outcome as it
    arrives to what the caller needs of it, so that the outcomes held stay small.

    A worker is sent up to AHEAD requests beyond the case it runs, each case timed from the
    reply before it, but for an efficiency case (timed from its own sending, nothing queued
    behind it) and the request at `boundary` (a worker sees no request from there on before
    every reply before it is in: the visible cases report before any hidden one is sent).
    """
    for request in requests:
        check_request(request)
    limits = Limits.from_environment() if limits is None else limits
    gpu = any(_needs_driver(request.device) for request in requests)
    module_path = Path(module_path).resolve()
    outcomes: list[CaseOutcome] = []
    worker: WorkerProcess | None = None
    shared = Shared.for_submission(time_budget) if shared is None else shared
    given_up, kills, clock = shared.given_up, shared.kills, shared.clock
    # Sent to `worker` and not answered yet, in order; a function is given up only when its
    # worker stops, so none of these is of one.
    sent: collections.deque[int] = collections.deque()
    replied = 0.0  # when the worker's last reply was in: the case after it started then
    shared.places.acquire()
    try:
        for index, request in enumerate(requests):
            if shared.stopped.is_set():
                break
            if request.function in given_up:
                outcomes.append(replace(given_up[request.function], request=request))
                continue
            if clock.left() <= 0:
                outcomes += [clock.out_of_time(r, module_path.name) for r in requests[index:]]
                break
            if worker is None:
                try:
                    worker = _start(module_path, case_time_limit, start_time_limit, limits, gpu)
                except LoadFailure as failure:
                    rest = requests[index:]
                    outcomes += [CaseOutcome(r, "load_error", **failure.facts) for r in rest]
                    break
                shared.running.add(worker)
            limit = clock.next_limit(case_time_limit)
            if sent and sent[0] == index:
                sent.popleft()
                started = replied
            else:
                started = time.monotonic()
                _send(worker, index, request, started + limit)
            if request.measure != "efficiency":
                ahead = _ahead(requests, index, sent, given_up, boundary)
                sent += _sent_all(worker, ahead, requests, started + limit)
            outcome, usable = _run_one(
                worker, index, request, module_path.name, started, limit, shared
            )
            replied = time.monotonic()
            if outcome.status == "timeout" and clock.left() <= 0:  # the budget cut its limit
                outcome = clock.out_of_time(request, module_path.name)
            clock.timed_out = clock.timed_out or outcome.status == "timeout"
            outcomes.append(keep(outcome))
            if outcome.status in ("crashed", "invalid_reply") and not usable:
                kills[request.function] += 1
            if outcome.status == "timeout" or kills[request.function] >= KILLS_PER_FUNCTION:
                given_up[request.function] = outcome
            if not usable:
                shared.running.discard(worker)
                stop_worker(worker)
                worker = None
                sent.clear()
    finally:
        if worker is not None:
            shared.running.discard(worker)
            stop_worker(worker)
        shared.places.release()
    return outcomes


def run_in_workers(
    module_path: Path,
    requests: Sequence[CaseRequest],
    workers: int,
    *,
    shared: Shared,
    boundary: int | None = None,
    **options: Any,
) -> list[CaseOutcome]:
    """`run_cases` of `requests` in up to `workers` workers at once, one outcome each, in
    order: each function's cases run in one worker, so a function given up stays given up,
    and all share `shared` (the budget, the reply bytes). The efficiency cases, timed by the
    wall clock, run last, in a worker with no other beside it. `boundary` and `options` are
    run_cases's (`boundary` an index in `requests`)."""
    timed = [index for index, request in enumerate(requests) if request.measure == "efficiency"]
    rest = [index for index, request in enumerate(requests) if request.measure != "efficiency"]
    groups = [
        [rest[position] for position in group]
        for group in _whole_functions([requests[index] for index in rest], workers)
    ]
    if len(groups) <= 1:
        return run_cases(module_path, requests, shared=shared, boundary=boundary, **options)

    def run(indices: list[int]) -> list[CaseOutcome]:
        chosen = [requests[index] for index in indices]
        before = None if boundary is None else sum(index < boundary for index in indices)
        return run_cases(module_path, chosen, shared=shared, boundary=before, **options)

    with ThreadPoolExecutor(len(groups), thread_name_prefix="worker") as pool:
        try:
            runs = list(pool.map(run, groups))
        except BaseException:  # Ctrl-C, or a worker that cannot start: the others stop too
            shared.stop()
            raise
    if timed:
        ran = [outcome for outcomes in runs for outcome in outcomes]
        timed_requests = [requests[index] for index in timed]
        groups.append(timed)
        runs.append(load_errors(ran, timed_requests) or run(timed))
    found = {
        index: outcome
        for group, outcomes in zip(groups, runs, strict=True)
        for index, outcome in zip(group, outcomes, strict=True)
    }
    return [found[index] for index in range(len(requests))]


def load_errors(
    outcomes: Sequence[CaseOutcome], requests: Sequence[CaseRequest]
) -> list[CaseOutcome]:
    """When every one of `outcomes` is a load error, that error for each of `requests`: the
    module would not load in another worker either. Else nothing: they must run."""
    if not outcomes or any(outcome.status != "load_error" for outcome in outcomes):
        return []
    return [replace(outcomes[0], request=request) for request in requests]


def _whole_functions(requests: Sequence[CaseRequest], parts: int) -> list[list[int]]:
    """The indices of `requests` in at most `parts` groups of whole functions, about even in
    cases: the function with the most cases first, each into the group with the fewest."""
    by_function: dict[str, list[int]] = collections.defaultdict(list)
    for index, request in enumerate(requests):
        by_function[request.function].append(index)
    groups: list[list[int]] = [[] for _ in range(max(1, min(parts, len(by_function))))]
    for indices in sorted(by_function.values(), key=len, reverse=True):
        min(groups, key=len).extend(indices)
    return [sorted(group) for group in groups if group]


@dataclass
class Shared:
    """What the runs of one submission share, whichever worker runs them: its time budget,
    the bytes its replies may still take, the functions given up (a timeout, or two killed
    workers or garbled replies), whether its grading was stopped, with the workers to end
    then, and the places for running workers (a batch's, shared by its submissions: each
    running worker holds one, and lends it while a case runs past SLOW_CASE, so that a hang
    waiting out its limit leaves its core to another submission; unbounded by default)."""

    clock: _Clock
    places: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(1 << 30))
    meter: _Meter = field(default_factory=lambda: _Meter(MAX_SUBMISSION_BYTES))
    given_up: dict[str, CaseOutcome] = field(default_factory=dict)
    kills: collections.Counter[str] = field(default_factory=collections.Counter)
    stopped: threading.Event = field(default_factory=threading.Event)  # no case is wanted now
    running: set[WorkerProcess] = field(default_factory=set)  # its workers alive now

    def stop(self) -> None:
        """Run no more cases, and end the workers running one: the grading was given up."""
        self.stopped.set()
        for worker in list(self.running):
            worker.process.terminate()  # its guard ends it; the case reads a closed channel

    @classmethod
    def for_submission(
        cls, time_budget: float, places: threading.Semaphore | None = None
    ) -> Shared:
        clock = _Clock(time_budget)
        return cls(clock) if places is None else cls(clock, places)


@dataclass
class _Clock:
    """A submission's time: what is left of its budget, and the limit of its next case. The
    budget runs from the first case on: the first worker's start is the kit's to pay."""

    budget: float
    started: float | None = None
    timed_out: bool = False

    def left(self) -> float:
        return self.budget - (0.0 if self.started is None else time.monotonic() - self.started)

    def next_limit(self, case_limit: float) -> float:
        """The case limit, shorter once a case has timed out, never past the budget."""
        if self.started is None:
            self.started = time.monotonic()
        limit = min(case_limit, LIMIT_AFTER_A_TIMEOUT) if self.timed_out else case_limit
        return max(min(limit, self.left()), 0.0)

    def out_of_time(self, request: CaseRequest, file: str) -> CaseOutcome:
        message = messages.out_of_time(file=file, function=request.function, budget=self.budget)
        return CaseOutcome(request, "timeout", message)


def _needs_driver(device: str) -> bool:
    """Whether a case on `device` will talk to a driver (a GPU this machine has), which the
    worker's address-space limit and Landlock would break. A case on a GPU the machine lacks
    never reaches one: its worker stays fully confined."""
    kind = torch.device(device).type
    if kind in HOST_DEVICES:
        return False
    return kind != "cuda" or torch.cuda.is_available()


def check_request(request: CaseRequest) -> None:
    """A ValueError for a case the kit itself got wrong (an unknown problem, a bad shape)."""
    if request.kind != "optimizer":
        return
    try:
        problem = find_problem(str(request.problem))
    except KeyError as error:
        raise ValueError(f"the case of {request.function}: {error.args[0]}") from None
    size = problem.start(torch.float64, "cpu").numel()
    if request.shape is not None and math.prod(request.shape) != size:
        raise ValueError(
            f"the case of {request.function}: shape {request.shape} does not hold the "
            f"{size} coordinates of {problem.name}"
        )


def _start(
    module_path: Path,
    case_time_limit: float,
    start_time_limit: float,
    limits: Limits,
    gpu: bool,
) -> WorkerProcess:
    """A confined worker that has imported the student's module (`gpu`: as start_worker's);
    LoadFailure or WorkerError if not."""
    if not module_path.is_file():
        raise LoadFailure(_load_facts(module_path.name, "it does not exist"))
    worker = _confined(module_path, start_time_limit, limits, gpu)
    try:
        _load(worker, module_path, case_time_limit)
    except LoadFailure:
        stop_worker(worker)
        raise
    return worker


def _confined(
    module_path: Path, start_time_limit: float, limits: Limits, gpu: bool
) -> WorkerProcess:
    """A worker that says it is confined, or WorkerError. Until then no student code has run:
    a failure is the kit's or the machine's, and a forked worker that fails is replaced by
    one started cold (the fork server is given up)."""
    worker = start_worker(module_path.parent, limits, gpu=gpu)
    try:
        _handshake(worker, module_path, time.monotonic() + start_time_limit)
    except (ChannelTimeout, ChannelClosed, ProtocolError) as error:
        stop_worker(worker)
        if isinstance(worker.process, forks.ForkedGuard):
            forks.give_up()
            return _confined(module_path, start_time_limit, limits, gpu)
        raise WorkerError(
            f"the grading worker did not start ({error}); its stderr ended with: "
            f"{worker.stderr_text[-2000:]}"
        ) from None
    return worker


def _handshake(worker: WorkerProcess, module_path: Path, deadline: float) -> None:
    """Hear the worker's hello, send it the module and its plan, hear that it is confined."""
    hello = _read_status(worker, deadline, "ready")
    pid = optional(hello, "pid", int)
    if pid is not None:
        watch(worker, pid)
    plan = worker.plan.to_json()
    worker.send(encode_frame({"module": str(module_path), "sandbox": plan}), deadline)
    _warn_once(_read_status(worker, deadline, "confined").get("missing"))


def _load(worker: WorkerProcess, module_path: Path, limit: float) -> None:
    """Have the worker import the student's module; LoadFailure saying why it did not."""
    file, deadline = module_path.name, time.monotonic() + limit
    try:
        header = _read_status(worker, deadline, "loaded", "load_error")
    except ChannelTimeout:
        reason = f"importing it did not finish within {limit:g} s"
        raise LoadFailure(_load_facts(file, reason)) from None
    except ChannelClosed:
        reason = f"importing it {_exit_reason(worker, stop_worker(worker, EXIT_GRACE))}"
        raise LoadFailure(_load_facts(file, reason)) from None
    except ProtocolError as error:
        raise LoadFailure(_load_facts(file, f"the worker answered garbage ({error})")) from None
    if header["status"] == "load_error":
        try:
            facts = {
                "message": text(header, "message"),
                "error_type": optional_text(header, "error_type"),
                "error_message": optional_text(header, "error_message"),
                "line": optional(header, "line", int),
            }
        except ProtocolError as error:
            facts = _load_facts(file, f"the worker answered garbage ({error})")
        raise LoadFailure(facts)


def _warn_once(missing: object) -> None:
    """Say on stderr, once per grading process, what the worker's sandbox lacks here (the
    worker reports it before it has run any student code)."""
    if not isinstance(missing, list):
        raise ProtocolError("the worker did not say how it is confined")
    text = "; ".join(str(item) for item in missing)
    if text and text not in _warned:
        _warned.add(text)
        sys.stderr.write(
            f"optim-grader: warning: student code runs less confined on this machine: {text} "
            "(see docs/threat-model.md)\n"
        )


def _read_status(worker: WorkerProcess, deadline: float, *statuses: str) -> dict[str, Any]:
    """The next reply's header, which must have one of `statuses`."""
    header, _ = read_reply(lambda size: worker.read_exact(size, deadline))
    if header.get("status") not in statuses:
        raise ProtocolError(f"expected a reply with status {' or '.join(statuses)}")
    return header


def _load_facts(file: str, reason: str) -> dict[str, Any]:
    return {"message": messages.render("load_error", file=file, reason=reason)}


def _exit_reason(worker: WorkerProcess, status: int) -> str:
    """'ended the worker process (exit status 3)', 'killed the worker process (SIGKILL)', or
    which limit of the worker's it went over."""
    if status >= 0:
        return f"ended the worker process (exit status {status})"
    cpu = worker.plan.limits.cpu_seconds
    if -status == signal.SIGXCPU and cpu is not None:
        return f"used up the worker's {cpu} s of CPU time"
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    return f"killed the worker process ({name})"


class _Meter:
    """The bytes a submission's replies may still take, in all."""

    def __init__(self, left: int) -> None:
        self.left = left
        self._lock = threading.Lock()  # the workers of one submission may read at once

    def reader(self, worker: WorkerProcess, deadline: float) -> ReadExact:
        def read_exact(size: int) -> bytes:
            with self._lock:
                self.left -= size
            return worker.read_exact(size, deadline)

        return read_exact


def _ahead(
    requests: Sequence[CaseRequest],
    index: int,
    sent: collections.deque[int],
    given_up: dict[str, CaseOutcome],
    boundary: int | None,
) -> list[int]:
    """The requests to send now beyond case `index`, after those `sent`: the next ones the
    worker will run, up to AHEAD in all, stopping at an efficiency case and at `boundary`
    (unless the worker is past it already)."""
    chosen: list[int] = []
    after = sent[-1] + 1 if sent else index + 1
    for following in range(after, len(requests)):
        if len(sent) + len(chosen) >= AHEAD or following == boundary:
            break
        if requests[following].measure == "efficiency":
            break
        if requests[following].function not in given_up:
            chosen.append(following)
    return chosen


def _sent_all(
    worker: WorkerProcess, indices: list[int], requests: Sequence[CaseRequest], deadline: float
) -> list[int]:
    """Send the requests at `indices` in order until one cannot be sent; those sent."""
    for position, index in enumerate(indices):
        if not _send(worker, index, requests[index], deadline):
            return indices[:position]
    return indices


def _send(worker: WorkerProcess, index: int, request: CaseRequest, deadline: float) -> bool:
    """Send one request; False when the worker's stdin is closed or stays full: then the
    reading of its reply fails as this case's outcome (crashed, or timed out)."""
    try:
        worker.send(encode_frame({"id": index, "case": request.to_json()}), deadline)
    except (ChannelClosed, ChannelTimeout):
        return False
    return True


def _busy_until(worker: WorkerProcess, until: float) -> bool:
    """Wait for the worker's reply until `until`: True once it comes; False when it has not
    come by then, or sooner once the worker has run for none of STALL seconds (a sleep, a
    lock, a blocking read: its core is free). A fast case pays no look at /proc."""
    ran = None
    while not worker.replied_by(min(until, time.monotonic() + STALL)):
        now = worker.cpu_ns()
        if time.monotonic() >= until or (now is not None and now == ran):
            return False
        ran = now
    return True


def _run_one(
    worker: WorkerProcess,
    index: int,
    request: CaseRequest,
    file: str,
    started: float,
    limit: float,
    shared: Shared,
) -> tuple[CaseOutcome, bool]:
    """The outcome of a case sent to `worker`, timed here from `started` (the efficiency
    check's clock, which the worker cannot touch), and whether the worker can take the next
    case. A case past SLOW_CASE, or asleep before, lends its worker's place until it ends (a
    timed one never: nothing runs beside it)."""
    deadline = started + limit
    function, meter = request.function, shared.meter
    # An efficiency run's last x (up to its request's budget) is cut to a small sample as it
    # arrives: it takes nothing of the bytes the submission's replies may hold.
    metered = request.measure != "efficiency"
    lent = False
    try:
        if metered and not _busy_until(worker, min(deadline, started + SLOW_CASE)):
            shared.places.release()
            lent = True
        outcome = receive_outcome(
            request,
            meter.reader(worker, deadline)
            if metered
            else functools.partial(worker.read_exact, deadline=deadline),
            case_id=index,
            file=file,
            max_payload=max(meter.left, 0) if metered else None,
        )
    except ChannelTimeout:
        stop_worker(worker)  # before its place is taken back: a hang spins while it waits
        message = messages.render("timeout", file=file, function=function, limit=limit)
        return CaseOutcome(request, "timeout", message), False
    except ChannelClosed:
        how = _exit_reason(worker, stop_worker(worker, EXIT_GRACE))
        message = messages.render("crashed", file=file, function=function, how=how, where="")
        return CaseOutcome(request, "crashed", message), False
    finally:
        if lent:
            shared.places.acquire()
    elapsed = time.monotonic() - started
    return replace(outcome, elapsed=elapsed), outcome.status != "invalid_reply"
