"""The progress bar of `update` on a terminal: its own module, imported only when shown.

rich.progress costs a noticeable part of start-up, which `update --json` into
a pipe (a cron job, a script) does not need to pay.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from rssmania import Aggregator
from rssmania.sinks import console as human


class InFlightColumn(ProgressColumn):
    """What is being polled now, and what is slow: read from the aggregator at each refresh."""

    def __init__(
        self, agg: Aggregator, *, slow_after: float = 5.0, width: Callable[[], int] | None = None
    ) -> None:
        super().__init__()
        self.agg = agg
        self.slow_after = slow_after
        self.width = width

    def render(self, task: Task) -> Text:
        width = None
        if self.width is not None:
            count = len(str(int(task.total or 0)))
            width = self.width() - (_BEFORE_IN_FLIGHT + 2 * count + 1)
        line = human.in_flight_line(self.agg.in_flight(), slow_after=self.slow_after, width=width)
        return Text(line, no_wrap=True, overflow="ellipsis")


class Bar:
    """A round's progress bar: ``advance()`` once a feed, ``paused()`` around printing."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress = progress
        self._task = task

    def advance(self) -> None:
        self.progress.advance(self._task)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The frame cleared, for articles printed to another stream of the same terminal.

        rich keeps its own console's prints above the frame, but articles go
        to standard output and the bar to standard error: they came out right
        after the frame, on its line ("…6 in flight\\x1b[1mNew articles…").
        Stopping a transient display erases it; starting it again draws it
        below what was printed.
        """
        self.progress.stop()
        try:
            yield
        finally:
            self.progress.start()


_BAR = 20
_BEFORE_IN_FLIGHT = len("Polling") + _BAR + len("0:00:00") + 4
"""Characters left of the in-flight column but the done/total count (separators included)."""


def make_progress(console: Console, agg: Aggregator, *, slow_after: float = 5.0) -> Progress:
    return Progress(
        TextColumn("Polling"),
        BarColumn(bar_width=_BAR),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        InFlightColumn(agg, slow_after=slow_after, width=lambda: console.width),
        console=console,
        transient=True,
    )


@contextlib.contextmanager
def progress_bar(console: Console, agg: Aggregator, total: int | None) -> Iterator[Bar]:
    with make_progress(console, agg) as progress:
        yield Bar(progress, progress.add_task("poll", total=total))
