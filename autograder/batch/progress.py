"""Progress of a batch: a bar with an ETA on a terminal, plain lines anywhere else.

CI logs and pipes get one line per submission and no control codes, so nothing ever waits on
or garbles a terminal that is not there.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter(Protocol):
    """Told of each finished submission; a context manager around the whole batch."""

    def __enter__(self) -> Reporter: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def done(self, line: str) -> None: ...


def reporter(stream: TextIO, total: int) -> Reporter:
    """A bar on a terminal, plain lines otherwise (and nothing when there is nothing to do)."""
    if stream.isatty() and total:
        return BarReporter(stream, total)
    return LineReporter(stream, total)


class LineReporter:
    """`[3/40, ETA 1:02] alice: 27.5 / 40`, one line per submission, flushed."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream, self._total, self._done = stream, total, 0
        self._start = time.monotonic()

    def __enter__(self) -> LineReporter:
        self._start = time.monotonic()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def done(self, line: str) -> None:
        self._done += 1
        elapsed = time.monotonic() - self._start
        left = self._total - self._done
        eta = f", ETA {_clock(elapsed / self._done * left)}" if left else ""
        print(f"[{self._done}/{self._total}{eta}] {line}", file=self._stream, flush=True)


class BarReporter:
    """rich's bar with the count, the elapsed time and the ETA; each line printed above it."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._progress = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
        )
        self._task = self._progress.add_task("grading", total=total)

    def __enter__(self) -> BarReporter:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def done(self, line: str) -> None:
        self._progress.console.print(line, markup=False, highlight=False)
        self._progress.advance(self._task)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"
