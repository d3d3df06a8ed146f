"""Deciding what a poll outcome means: pure, data in, intents out.

    FeedState (stored) + PollOutcome (from a worker) + stored entry hashes
        -> FeedWrite: new and updated entries, validators, health, next check and why

Nothing here touches the database or the clock; storage applies a FeedWrite in
one transaction.

The rules, in the order they are tried:

    outcome                       error streak   next check
    ---------------------------   ------------   -------------------------------------
    410 Gone                      +1             never: polling stops, the reason is kept
    429/503 with Retry-After      unchanged      max(Retry-After, interval); none before
                                                 Retry-After, not even `update --all`
    offline (every feed failed)   unchanged      min(interval, 5 min)
    any other error               +1             interval * 2^(streak-1), capped at a day
    200 / 304                     reset to 0     interval, raised by the publisher's hints
    (every delay is stretched by up to 10%, so feeds polled together drift apart)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from rssmania._intents import EntryWrite, FeedState, FeedWrite
from rssmania._poll.identity import alias_of
from rssmania._poll.jobs import ParsedEntry, PollOutcome
from rssmania._schedule import (
    MAX_INTERVAL,
    MAX_RETRY_AFTER,
    MOVE_AFTER,
    OFFLINE_RETRY,
    after,
    effective_interval,
    retry_delay,
)
from rssmania._urls import host_of
from rssmania.types import EntryStatus, FeedError


def decide(
    state: FeedState,
    outcome: PollOutcome,
    stored: Mapping[str, str],
    *,
    previous: Mapping[str, str] | None = None,
    now: datetime,
    default_interval: int,
    spread: float = 0.0,
    max_interval: int = MAX_INTERVAL,
) -> FeedWrite:
    """``stored`` maps each stored entry key of the feed to its content hash,
    ``previous`` to the hash it had before its last change (if it changed).

    ``spread`` in [0, 1) picks where in the jitter range the next check falls.
    """
    base = state.interval or default_interval
    if outcome.error is not None:
        return _failed(state, outcome, outcome.error, now=now, base=base, spread=spread)
    writes: list[EntryWrite] = []
    entries = _as_stored(outcome.feed.entries, stored) if outcome.feed is not None else ()
    if outcome.feed is not None:
        for entry in entries:
            known = stored.get(entry.key)
            if known == entry.content_hash:
                continue
            status = EntryStatus.NEW if known is None else EntryStatus.UPDATED
            # Stored without being reported: a hash of another scheme
            # (rssmania reads entries differently now, the publisher changed
            # nothing), or the hash before the last change (a server that
            # alternates between two copies of its feed, a cache out of step
            # with its origin, would have the entry reported at every poll;
            # a publisher's revert goes unannounced too).
            quiet = known is not None and (
                hash_scheme(known) != hash_scheme(entry.content_hash)
                or (previous or {}).get(entry.key) == entry.content_hash
            )
            writes.append(EntryWrite(entry, status, sort_date(entry, now), quiet=quiet))
    hint = outcome.interval_hint
    if hint is None and outcome.not_modified:
        hint = state.interval_hint  # a 304 carries no <ttl>: the last one still holds
    interval = effective_interval(base, hint, max_interval=max_interval)
    redirect, move_to = _redirect(state, outcome)
    return FeedWrite(
        feed_id=state.id,
        checked=now,
        next_check=after(now, interval, spread),
        next_check_reason="interval" if interval == base else "publisher's hint",
        http_status=outcome.http_status,
        error_count=0,
        error=None,
        validators=(outcome.etag, outcome.last_modified),
        body_hash=outcome.body_hash,
        interval_hint=hint,
        title=outcome.feed.title if outcome.feed else None,
        link=outcome.feed.link if outcome.feed else None,
        entries=tuple(writes),
        not_modified=outcome.not_modified,
        redirect=redirect,
        move_to=move_to,
        served=tuple(e.key for e in entries) if outcome.feed else None,
    )


def _failed(
    state: FeedState,
    outcome: PollOutcome,
    error: FeedError,
    *,
    now: datetime,
    base: int,
    spread: float,
) -> FeedWrite:
    errors = state.error_count + 1
    disabled = None
    not_before = None
    if error.kind == "gone":
        delay, reason, disabled = float(MAX_RETRY_AFTER), "stopped: gone", error.message
    elif error.kind == "throttled" and outcome.retry_after is not None:
        # The server's own schedule: not a fault of the feed.
        errors = state.error_count
        delay = min(max(outcome.retry_after, base), MAX_RETRY_AFTER)
        reason = "Retry-After"
        not_before = now + timedelta(seconds=min(outcome.retry_after, MAX_RETRY_AFTER))
    elif error.kind == "offline":
        errors = state.error_count
        delay, reason = min(base, OFFLINE_RETRY), "offline"
    else:
        delay, reason = retry_delay(base, errors), "backoff"
    return FeedWrite(
        feed_id=state.id,
        checked=now,
        next_check=after(now, delay, spread),
        next_check_reason=reason,
        http_status=outcome.http_status,
        error_count=errors,
        error=error,
        validators=None,
        body_hash=None,
        interval_hint=None,
        title=None,
        link=None,
        entries=(),
        redirect=(state.redirect_url, state.redirect_streak),
        disabled_reason=disabled,
        not_before=not_before,
    )


def _redirect(state: FeedState, outcome: PollOutcome) -> tuple[tuple[str | None, int], str | None]:
    """Count polls in a row that saw the same permanent redirect; move the feed after a few.

    A single 301 can be a mistake on the server, fixed the next hour; one
    that holds over several polls is the publisher's decision (newsboat #881,
    NetNewsWire #953 never store it). 302/307 never count.
    """
    target = outcome.permanent_url
    if target is None or target == state.url:
        return (None, 0), None
    streak = state.redirect_streak + 1 if target == state.redirect_url else 1
    if streak >= MOVE_AFTER:
        return (None, 0), target
    return (target, streak), None


def _as_stored(entries: Sequence[ParsedEntry], stored: Mapping[str, str]) -> list[ParsedEntry]:
    """``entries``, each under the key it is stored under: its own, or its alias.

    An entry without a guid is keyed by its link, or by link and title when
    another entry of the document shares the link (rssmania._poll.identity);
    a feed that adds a second post at one link, or drops one, would turn a
    stored entry into a new one. So an entry whose alias is stored with the
    same text (the hash past its scheme), and whose own key is not stored
    with it, keeps the alias. Other text under the alias: the link's entry is another article,
    or was edited; then the entry is new, the stored one stays as it was.
    """
    claimed: set[str] = set()
    out = [] if stored else list(entries)  # a feed's first poll has no alias to keep
    for entry in entries if stored else ():
        digest = _digest(entry.content_hash)
        if entry.key in stored and _digest(stored[entry.key]) == digest:
            out.append(entry)
            continue
        alias = alias_of(entry)
        if (
            alias is not None
            and alias in stored
            and alias not in claimed
            and _digest(stored[alias]) == digest
        ):
            claimed.add(alias)
            out.append(entry._replace(key=alias, alias=entry.key))
        else:
            out.append(entry)
    # Two entries under one key (one took its alias, another has it as its own
    # key): the first keeps it, as parse does with repeats.
    seen: set[str] = set()
    kept = []
    for entry in out:
        if entry.key not in seen:
            seen.add(entry.key)
            kept.append(entry)
    return kept


def _digest(content_hash: str) -> str:
    return content_hash.rpartition(":")[2]


def hash_scheme(content_hash: str) -> str:
    """ "2" for "2:9f86d0...", "" for the unprefixed hashes of the first releases."""
    scheme, sep, _ = content_hash.partition(":")
    return scheme if sep and len(scheme) < 4 else ""


def sort_date(entry: ParsedEntry, first_seen: datetime) -> datetime:
    """The date an entry is listed under: its own, but never in the future.

    A date later than the moment we first saw the entry is clock skew or a
    scheduled post; listing it under first_seen keeps it from sitting on top
    of the list for weeks.
    """
    own = entry.published or entry.updated
    if own is None or own > first_seen:
        return first_seen
    return own


# -- decisions about a whole round -------------------------------------------

OFFLINE = FeedError(
    "offline", "network unreachable: no feed could be reached (not counted against this feed)"
)
DEFAULT_HOST_WAIT = 120.0
"""How long a host that sends 429s without saying for how long is left alone."""


def is_offline(answered: Sequence[PollOutcome], unreached: Sequence[PollOutcome]) -> bool:
    """True when nothing answered and connections failed on two hosts or more.

    One dead server is that server's problem; every host at once is ours.
    """
    hosts = {host_of(o.url) for o in unreached}
    return not answered and len(hosts) >= 2


def throttled_hosts(
    outcomes: Iterable[PollOutcome], *, threshold: int
) -> dict[str, tuple[float, str]]:
    """Hosts where ``threshold`` feeds or more answered 429/503: (seconds to wait, why).

    One throttled feed delays only itself; several mean the host is busy
    (FreshRSS #7870 blocks a whole domain on the first one).
    """
    waits: dict[str, list[float]] = {}
    reasons: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.error is not None and outcome.error.kind == "throttled":
            # The host that answered, at the end of any redirects: not an
            # innocent one whose feeds send readers there.
            host = host_of(outcome.final_url or outcome.url)
            waits.setdefault(host, []).append(outcome.retry_after or DEFAULT_HOST_WAIT)
            reasons[host] = outcome.error.message
    return {
        host: (min(max(found), MAX_RETRY_AFTER), reasons[host])
        for host, found in waits.items()
        if len(found) >= threshold
    }
