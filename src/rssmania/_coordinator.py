"""A round: feeds due in, results stored and yielded, feed by feed.

    storage.feed_states(due)          feeds due now (the Aggregator asks)
      -> _round.run_jobs()            batches on a process pool or a Dask cluster; outcomes
      -> _decide.decide()             new / updated entries, health, next check   (pure)
      -> storage.apply_many()         one transaction per group of feeds, each whole
      -> FeedResult                   yielded to the caller (CLI, sinks)
    between rounds: the search index catches up with the change log; retention now and then

The coordinator keeps what lasts from round to round: when each host was last
asked, which feeds a host throttled, what is in flight. Only this process
touches the database; workers get jobs and return plain data.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from rssmania._decide import DEFAULT_HOST_WAIT, OFFLINE, decide, is_offline, throttled_hosts
from rssmania._executors import PoolType, SerialExecutor
from rssmania._intents import FeedState, FeedWrite
from rssmania._pace import resumed
from rssmania._poll.jobs import PollJob, PollOutcome, PollSettings
from rssmania._round import InFlight, Paces, PollBatch, StopFlag, run_jobs
from rssmania._schedule import jitter
from rssmania._storage import Storage
from rssmania._storage import retention as _retention
from rssmania._storage import search as _search
from rssmania._storage import state as _state
from rssmania._storage import status as _status
from rssmania._storage import subscriptions as _subs
from rssmania._storage.connection import transaction
from rssmania._storage.store import Applied
from rssmania._text import one_line
from rssmania._urls import host_of
from rssmania.exceptions import DatabaseLockedError, FeedNotFoundError, UnstorableDataError
from rssmania.types import EntryChange, EntryStatus, Feed, FeedError, FeedResult

log = logging.getLogger("rssmania.core")

T = TypeVar("T")

_GROUP_FEEDS = 32
"""Feeds stored per transaction with an outbox (see Storage.apply_many).

Only with an outbox: a caller that stops iterating in the middle of a group
never sees the rest of it, which was committed; the change log still holds their
changes. Without one, each feed is its own transaction, as it is yielded.
"""

# What storing one feed's result may raise on data no column holds (a lone
# surrogate, an integer beyond 64 bits, a type SQLite does not bind): that
# feed's problem, not the round's. sqlite3's own errors reach us wrapped at
# the storage boundary: UnstorableDataError is the wrapping of those that
# mean "this value" (a ProgrammingError on 3.11), any other StorageError
# (disk full, locked) is the database's, and ends the round (but for `run`
# on a locked database: see LOCKED_RETRY).
_UNSTORABLE = (ValueError, OverflowError, TypeError, UnstorableDataError)

PRUNE_EVERY = 6 * 3600.0
"""Seconds between two applications of the retention policy by `run` (the first at start)."""

# Seconds `run` waits before trying again to store into a database that
# another program keeps locked (after SQLite's own 10 s wait).
LOCKED_RETRY = 5.0


class Coordinator:
    """Runs rounds for one aggregator: its storage, its executor, its memory of hosts."""

    def __init__(
        self,
        storage: Storage,
        executor: PoolType | SerialExecutor,
        poll_batch: PollBatch,
        settings: PollSettings,
        *,
        default_interval: int,
        max_interval: int,
        announce: bool,
        stop_grace: float,
        batch_deadline: float | None,
        index_search: bool,
        now: Callable[[], datetime],
        publish_progress: bool = False,
    ) -> None:
        self.storage = storage
        self.executor = executor
        self._poll = poll_batch
        self.settings = settings
        self.default_interval = default_interval
        self.max_interval = max_interval
        self.announce = announce
        """Mark what is stored for the command line to print (``outbox``)."""
        self.stop_grace = stop_grace
        self._batch_deadline = batch_deadline
        self.index_search = index_search
        self.publish_progress = publish_progress
        self.on_idle: Callable[[datetime | None], None] | None = None
        """Told, while watching and idle, when the next feed comes due (None: no feed)."""
        self._now = now
        self.stop = StopFlag(grace=stop_grace)
        self.in_flight: InFlight = {}
        self.viewer: int | None = None
        self.views: dict[int, tuple[str | None, str | None]] = {}
        """The viewer's own title and category of each feed, for the results of a round."""
        self._polling: dict[str, FeedState] = {}
        self._watching = False
        self._next_prune = 0.0
        self._host_asked: dict[str, float] = {}
        """When the last round that asked each host ended (time.monotonic())."""
        self._throttled: dict[str, tuple[PollOutcome, float]] = {}
        """Feeds that answered 429/503, until their wait is over (time.monotonic())."""
        self._paces: Paces | None = None
        """Each host's pace (``rssmania._pace``), from the database at the first round."""

    def new_stop_flag(self) -> None:
        # A stop ends one round; it is not carried into the next.
        self.stop = StopFlag(grace=self.stop_grace)

    def load_views(self, viewer: int | None) -> None:
        self.viewer = viewer
        if viewer is None:
            self.views = {}
            return
        self.views = _subs.views(self.storage.db, viewer)

    def _as_viewed(
        self, feed: Feed, changes: list[EntryChange]
    ) -> tuple[Feed, tuple[EntryChange, ...]]:
        """A round's result as the aggregator's user sees it: their title and category,
        and, for an updated entry, whether they had read or starred it."""
        view = self.views.get(feed.id)
        if view is None or self.viewer is None:
            return feed, tuple(changes)
        feed = replace(feed, user_title=view[0], category=view[1])
        updated = [c.entry.entry_id for c in changes if c.status is EntryStatus.UPDATED]
        unread, starred = (
            _state.unread_and_starred(self.storage.db, self.viewer, updated)
            if updated
            else (set(), set())
        )
        title = view[0] if view[0] is not None else feed.title

        def viewed(change: EntryChange) -> EntryChange:
            entry = change.entry
            read = change.status is EntryStatus.UPDATED and entry.entry_id not in unread
            starred_ = entry.entry_id in starred
            # Most changes are new entries of a feed under its own title: as stored.
            if entry.feed_title == title and not read and not starred_:
                return change
            return replace(
                change, entry=replace(entry, feed_title=title, read=read, starred=starred_)
            )

        return feed, tuple(viewed(c) for c in changes)

    def watch(self, idle: float) -> Generator[FeedResult, None, None]:
        self._watching = True
        try:
            yield from self._watch_until_stopped(idle)
        finally:
            self._watching = False

    def _watch_until_stopped(self, idle: float) -> Generator[FeedResult, None, None]:
        while not self.stop.requested:
            now = self._now()
            states = self.storage.feed_states(now=now, due_only=True)
            if states:
                yield from self.poll(states)
                # Between rounds: the round's results were all stored and yielded first.
                self.catch_up_index()
                continue
            self._maintain()  # idle: the index catches up; retention now and then
            next_due = self.storage.next_due()
            if self.on_idle is not None:
                self.on_idle(next_due)
            wait = idle if next_due is None else (next_due - now).total_seconds()
            self._sleep(min(max(wait, 0.05), idle))

    def catch_up_index(self) -> None:
        """The search index reads the change log between rounds, in transactions of its own.

        Never within a round: indexing a cold round's 60,000 entries costs 2 s of a
        core, which the workers were using; a round of `update` leaves it to the
        next search, `run` or `serve`."""
        if self.index_search:
            self.when_unlocked(
                lambda: _search.catch_up(self.storage.db, self.storage.path, now=self._now())
            )

    def _maintain(self) -> None:
        self.catch_up_index()
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY

        db, path = self.storage.db, self.storage.path

        def write(work: Callable[[sqlite3.Connection], T]) -> T:
            def run() -> T:
                with transaction(db, path):
                    return work(db)

            return self.when_unlocked(run)

        gone = _retention.prune_all(
            write,
            _retention.feed_ids(db),
            now=self._now(),
            dry_run=False,
            stopped=lambda: self.stop.requested,
        )
        if gone:
            log.info("retention: %d entries deleted", sum(gone.values()))

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stop.requested and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def poll(self, states: Iterable[FeedState]) -> Generator[FeedResult, None, None]:
        """One round over ``states``; with ``publish_progress``, its progress goes to the
        database about once a second, for pages served by another process."""
        if not self.publish_progress:
            yield from self._round_of(list(states))
            return
        states = list(states)
        results = self._round_of(states)
        done, shown = 0, 0.0
        try:
            self._publish(done, len(states), finished=False)
            for result in results:
                done += 1
                yield result
                if time.monotonic() - shown > 1.0:
                    shown = time.monotonic()
                    self._publish(done, len(states), finished=False)
        finally:
            results.close()
        self._publish(done, len(states), finished=True)

    def _publish(self, done: int, total: int, *, finished: bool) -> None:
        progress: dict[str, object] = {
            "done": done,
            "total": total,
            "in_flight": sum(
                len(batch.polling(time.monotonic(), time.time()))
                for batch in list(self.in_flight.values())
            ),
            "finished": finished,
            "at": self._now().isoformat(),
        }

        def write() -> None:
            with transaction(self.storage.db, self.storage.path) as db:
                _status.publish_progress(db, progress)

        self.when_unlocked(write)

    def _learned_paces(self) -> Paces:
        if self._paces is None:
            now = time.time()
            cap = self.settings.host_concurrency
            self._paces = {
                host: resumed(pace, cap=cap, now=now)
                for host, pace in self.storage.host_paces().items()
            }
        return self._paces

    def _round_of(self, states: Iterable[FeedState]) -> Generator[FeedResult, None, None]:
        by_url = {s.url: s for s in states}
        self._polling = by_url
        paces = self._learned_paces()
        jobs = [
            PollJob(s.url, s.etag, s.last_modified, s.body_hash, self._spacing_left(s.url))
            for s in by_url.values()
        ]
        executor = self.executor
        outcomes = run_jobs(
            executor,
            self._poll,
            self.settings,
            jobs,
            # Asked of the pool only with work to do: for Dask, that is a request.
            workers=1 if isinstance(executor, SerialExecutor) or not jobs else executor.workers,
            stop=self.stop,
            in_flight=self.in_flight,
            deadline=self._batch_deadline,
            paces=paces,
        )
        # Connection failures wait for the end of the round: if nothing at
        # all could be reached, the machine is offline and no feed is blamed
        # (Miniflux #2150 marks every feed broken instead).
        unreached: list[tuple[FeedState, PollOutcome]] = []
        # What the end of the round needs of the others, without their entries:
        # a round of 20,000 feeds must not hold every parsed feed until it ends.
        answered: list[PollOutcome] = []
        learned: set[str] = set()
        try:
            for finished in outcomes:
                to_store: list[tuple[FeedState, PollOutcome]] = []
                for outcome in finished:
                    if outcome.pace is not None:
                        # Read at the next submit: a host's next batch starts at this pace.
                        paces[host_of(outcome.url)] = outcome.pace
                        learned.add(host_of(outcome.url))
                    state = by_url.get(outcome.url)
                    if state is None:  # a poll function that invented a URL: a bug
                        log.error("outcome for a URL that was not asked for: %s", outcome.url)
                        continue
                    if outcome.cancelled:
                        continue  # stopped before it finished: stays due
                    if outcome.host_throttled:
                        skipped = self._not_polled(state)
                        if skipped is not None:
                            yield skipped
                        continue
                    if outcome.error is not None and outcome.error.kind == "connect":
                        unreached.append((state, outcome))
                        continue
                    answered.append(replace(outcome, feed=None) if outcome.feed else outcome)
                    to_store.append((state, outcome))
                yield from self._store(to_store)
        finally:
            # Also when storing fails: kill the batches in flight now, rather
            # than when the traceback that holds this frame is collected.
            outcomes.close()
        if learned:  # for the next run: the next round of this one reads self._paces
            self.when_unlocked(
                lambda: self.storage.save_paces(
                    {host: paces[host] for host in learned}, now=self._now()
                )
            )
        # A round ends once every request of it is over: the next round's
        # first request to these hosts is spaced from here (`run` polls round
        # after round, and started them 3 ms apart).
        ended = time.monotonic()
        for outcome in [*answered, *(outcome for _, outcome in unreached)]:
            self._host_asked[host_of(outcome.url)] = ended
        now = self._now()
        for host, (wait, reason) in throttled_hosts(
            self._recent_throttles(answered, ended), threshold=self.settings.throttled_host_after
        ).items():
            log.warning("host %s is throttling us: %s; waiting %.0f s", host, reason, wait)
            self.storage.throttle_host(host, until=now + timedelta(seconds=wait), reason=reason)
            self._throttled = {
                u: t for u, t in self._throttled.items() if host_of(t[0].final_url or u) != host
            }
        offline = is_offline(answered, [outcome for _, outcome in unreached])
        if offline:
            log.warning("network unreachable: none of %d feeds could be reached", len(unreached))
        yield from self._store(
            [
                (state, replace(failed, error=OFFLINE) if offline else failed)
                for state, failed in unreached
            ]
        )

    def _recent_throttles(self, answered: list[PollOutcome], now: float) -> list[PollOutcome]:
        """This round's throttled feeds, and those of earlier rounds whose wait is not over.

        In `run`, a round holds what is due at that moment: two feeds of one
        host rarely answer 429 in the same round, and the host was never left
        alone however often its feeds said so.
        """
        for outcome in answered:
            if outcome.error is not None and outcome.error.kind == "throttled":
                wait = outcome.retry_after or DEFAULT_HOST_WAIT
                self._throttled[outcome.url] = (outcome, now + wait)
            else:
                self._throttled.pop(outcome.url, None)
        self._throttled = {u: t for u, t in self._throttled.items() if t[1] > now}
        return [replace(o, retry_after=until - now) for o, until in self._throttled.values()]

    def _spacing_left(self, url: str) -> float:
        host = host_of(url)
        asked = self._host_asked.get(host)
        if asked is None:
            return 0.0
        pace = self._learned_paces().get(host)
        spacing = max(self.settings.host_spacing, pace.delay if pace is not None else 0.0)
        return max(0.0, asked + spacing - time.monotonic())

    def stored_entries(self, url: str) -> dict[str, str]:
        """A feed's stored entries: a Dask worker sends back only the others."""
        state = self._polling.get(url)
        return self.storage.entry_hashes(state.id) if state is not None else {}

    def _not_polled(self, state: FeedState) -> FeedResult | None:
        try:
            feed = self.storage.get_feed_by_id(state.id)
        except FeedNotFoundError:
            return None  # removed while its round ran
        return FeedResult(
            feed=feed,
            changes=(),
            error=FeedError("throttled", "not requested: its host asked us to slow down"),
            not_modified=False,
            seconds=0.0,
        )

    def _decide(self, state: FeedState, outcome: PollOutcome, now: datetime) -> FeedWrite:
        stored, previous = self.storage.entry_versions(state.id) if outcome.feed else ({}, {})
        return decide(
            state,
            outcome,
            stored,
            previous=previous,
            now=now,
            default_interval=self.default_interval,
            spread=jitter(state.url, now),
            max_interval=self.max_interval,
        )

    def _store_one_by_one(
        self, group: list[tuple[FeedState, PollOutcome]], now: datetime
    ) -> tuple[list[tuple[FeedState, PollOutcome]], list[Applied | None]]:
        stored: list[tuple[FeedState, PollOutcome]] = []
        applied: list[Applied | None] = []
        for state, polled in group:
            outcome = polled
            try:
                done = self.storage.apply_many(
                    [self._decide(state, outcome, now)], announce=self.announce
                )
            except _UNSTORABLE as exc:
                log.exception("cannot store the result of polling %s", state.url)
                outcome = PollOutcome.failed(
                    state.url,
                    "internal",
                    f"internal error: its result cannot be stored: {one_line(str(exc))}",
                )
                done = self.storage.apply_many(
                    [self._decide(state, outcome, now)], announce=self.announce
                )
            stored.append((state, outcome))
            applied.extend(done)
        return stored, applied

    def _store(
        self, polled: list[tuple[FeedState, PollOutcome]]
    ) -> Generator[FeedResult, None, None]:
        """Decide and store outcomes, a group per transaction; yield each feed's result."""
        size = _GROUP_FEEDS if self.announce else 1
        for start in range(0, len(polled), size):
            group = polled[start : start + size]
            now = self._now()
            try:
                writes = [self._decide(state, outcome, now) for state, outcome in group]
                applied = self._apply(writes)
            except _UNSTORABLE:
                # Some feed's result cannot be stored (a bug): store the group
                # feed by feed, and that one as its error, not the round's end.
                group, applied = self._store_one_by_one(group, now)
            for (state, outcome), done in zip(group, applied, strict=True):
                if done is None:
                    log.info("%s was removed while it was polled; result dropped", state.url)
                    continue
                if outcome.error is not None:
                    log.info("%s: %s", state.url, outcome.error.message)
                feed = done.feed
                if feed.interval != state.interval:
                    feed = self._interval_set_meanwhile(feed, now)
                feed, changes = self._as_viewed(feed, done.changes)
                yield FeedResult(
                    feed=feed,  # as committed: its URL may have just moved
                    changes=changes,
                    error=outcome.error,
                    not_modified=outcome.not_modified,
                    seconds=outcome.seconds,
                )

    def _interval_set_meanwhile(self, feed: Feed, now: datetime) -> Feed:
        """The feed's interval was set while it was polled: the poll planned its next
        check with the old one (a day away undid ``set --interval 60``). Applied
        now as ``set`` applies it."""

        def plan() -> None:
            with transaction(self.storage.db, self.storage.path) as db:
                _subs.plan_interval(db, feed.id, feed.interval or self.default_interval, now=now)

        self.when_unlocked(plan)
        try:
            return self.storage.get_feed_by_id(feed.id)
        except FeedNotFoundError:
            return feed  # removed since: nothing left to plan

    def _apply(self, writes: list[FeedWrite]) -> list[Applied | None]:
        return self.when_unlocked(lambda: self.storage.apply_many(writes, announce=self.announce))

    def when_unlocked(self, write: Callable[[], T]) -> T:
        while True:
            try:
                return write()
            except DatabaseLockedError:
                # Another program holds a write for longer than SQLite waits
                # (a backup, a sqlite3 shell): `run` waits its turn rather
                # than stop polling; `update` says so and ends.
                if not self._watching or self.stop.requested:
                    raise
                log.warning(
                    "the database is locked by another process; trying again in %g s",
                    LOCKED_RETRY,
                )
                self._sleep(LOCKED_RETRY)
