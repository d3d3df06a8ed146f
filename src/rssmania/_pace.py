"""A host's pace: how far apart to start requests to it. Pure: data and ``now`` in, a Pace out.

The model is a careful crawler's (Scrapy's AutoThrottle; Googlebot's crawl
rate, which follows the host's health):

    good answer, usual latency   delay -> halfway to latency / cap, never under the floor
    latency grown (x2, +0.25 s)  the host strains under us (against its fastest answers:
                                 the usual latency of a host that is always strained is
                                 the strained one): the delay waits out the strained
                                 answer, one request at a time; no floor is learned
    429, 503, reset, timeout     a complaint: delay doubled (at least STEP, and a fifth under
                                 the rate refused), floor = delay; after a 429 or 503, a
                                 pause (REFUSED_PAUSE) first
    the floor                    what the last complaint taught; halves every FLOOR_HALF_LIFE

A host that answers quickly and never complains is asked as fast as the cap
of requests in flight allows (latency / cap keeps the cap busy). A
complaint slows it down at once; recovery is gradual (halfway per answer,
and never below a floor that fades over hours), so a host that throttles at
N requests a second is not probed past N again at every round. Only a
complaint about a request sent after the last slow-down counts: the answers
to a burst sent at the old pace would otherwise double the delay once each.

The coordinator keeps each host's Pace from round to round and stores it
(``host_paces``) from run to run. Times are wall-clock seconds (``time.time()``):
a pace outlives the process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

STEP = 0.05
"""The first slow-down from full speed: 20 starts a second."""
MAX_DELAY = 5.0
"""The slowest pace: a host that still complains is left for the round (see HostGate)."""
GROWTH = 2.0
GROWTH_MIN = 0.25
"""Latency this many times the usual one, and this many seconds over it, is a complaint."""
REFUSED_PAUSE = 1.0
"""Seconds a host that refused a request (429, 503) is left alone before the next one:
rate limiters count over a window (most often a second), and one filled by a burst
refuses whatever comes until it has passed, at any pace."""
SMOOTHING = 0.3
"""Weight of the newest answer in the usual latency."""
RISE = 0.1
"""Weight of a slower answer in the fastest latency."""
FLOOR_HALF_LIFE = 3600.0
"""Seconds for a complaint's lesson to fade by half."""


@dataclass(frozen=True)
class Pace:
    """What is known of one host."""

    delay: float = 0.0
    """Seconds between two starts of requests to the host."""
    latency: float | None = None
    """Usual seconds for an answer (smoothed), None before the first."""
    fastest: float | None = None
    """Seconds of the host's fastest answers: falls at once, rises slowly."""
    floor: float = 0.0
    """The delay the last complaint set; fades (see ``floor_at``)."""
    since: float = 0.0
    """When the last slow-down happened (time.time())."""

    def floor_at(self, now: float) -> float:
        if not self.floor:
            return 0.0
        return float(self.floor * 0.5 ** (max(0.0, now - self.since) / FLOOR_HALF_LIFE))


def answered(pace: Pace, latency: float, *, cap: int, sent: float, now: float) -> Pace:
    """A good answer (2xx, 304, or any other answer that is not a complaint)."""
    usual, best = pace.latency, pace.fastest
    smooth = latency if usual is None else usual + SMOOTHING * (latency - usual)
    fastest = latency if best is None else min(latency, best + RISE * (latency - best))
    if best is not None and latency > GROWTH * best and latency - best > GROWTH_MIN:
        # Strained by our own requests overlapping: one request at a time
        # (no start before the last answer came), recovering as from any
        # slow-down. It sets no floor: a worker's own busy loop makes answers
        # look late too, and a floor learned from that slowed a host of 300
        # feeds to 0.05 s a request for the next hour.
        slower = complained(pace, sent=sent, now=now)
        if slower == pace:
            return replace(pace, latency=smooth)
        delay = min(MAX_DELAY, max(slower.delay, latency))
        return replace(slower, delay=delay, latency=smooth, floor=pace.floor)
    target = smooth / max(1, cap)
    delay = max(target, pace.floor_at(now), (pace.delay + target) / 2)
    return replace(pace, delay=delay, latency=smooth, fastest=fastest)


def complained(pace: Pace, *, sent: float, now: float, last_second: int = 0) -> Pace:
    """429, 503, a reset connection, a timeout, or latency that grew: slow down at once.

    ``last_second``: requests started in the second before a refusal. The host
    refused that rate: the pace goes a fifth below it, whatever the doubling says.
    """
    if sent < pace.since:
        return pace  # sent at the old pace: that slow-down answered it already
    below = 1.25 / last_second if last_second else 0.0
    delay = min(MAX_DELAY, max(2 * pace.delay, STEP, below))
    return replace(pace, delay=delay, floor=delay, since=now)


def resumed(pace: Pace, *, cap: int, now: float) -> Pace:
    """A pace stored by an earlier run: the floor has faded meanwhile, the delay with it."""
    target = (pace.latency or 0.0) / max(1, cap)
    return replace(pace, delay=max(target, pace.floor_at(now)))
