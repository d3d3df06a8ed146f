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
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from rssmania import Aggregator
from rssmania.sinks import console as human


class InFlightColumn(ProgressColumn):
    """What is being polled now, and what is slow: read from the aggregator at each refresh."""

    def __init__(self, agg: Aggregator, *, slow_after: float = 5.0) -> None:
        super().__init__()
        self.agg = agg
        self.slow_after = slow_after

    def render(self, task: Task) -> Text:
        return Text(human.in_flight_line(self.agg.in_flight(), slow_after=self.slow_after))


@contextlib.contextmanager
def progress_bar(
    console: Console, agg: Aggregator, total: int | None
) -> Iterator[Callable[[], None]]:
    with Progress(
        TextColumn("Polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        InFlightColumn(agg),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("poll", total=total)
        yield lambda: progress.advance(task)
