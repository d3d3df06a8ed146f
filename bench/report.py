"""What ``speed.py`` measured, as tables for people and JSON Lines for the docs."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from floor import Floor
from measure import Sample

PEAK_LIMIT_MB = 500  # issue 4: the whole tree under 500 MB at 20,000 feeds


@dataclass
class Poll:
    """One tool's one poll (cold or warm) in one run."""

    sample: Sample
    wire: dict[str, int]  # what nginx logged meanwhile: requests, 200, 304, other, bytes
    stored: int
    expected: int
    # (feed file, its traits, expected entries, stored entries) for each feed that differs.
    diffs: list[tuple[str, str, int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    code: str = ""  # the rssmania commit polled: src/ may change between runs


@dataclass
class Point:
    """rssmania's polls at one N: a point of the scaling curve."""

    context: dict[str, object]
    cold: list[Poll]
    warm: list[Poll]


Results = dict[tuple[str, str], list[Poll]]


def _median(polls: list[Poll], attr: str) -> float:
    values = [getattr(p.sample, attr) for p in polls if not p.sample.timed_out]
    return statistics.median(values) if values else math.nan


def _fmt(value: float, width: int, digits: int = 2) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:{width}.{digits}f}"


def _wall(polls: list[Poll], width: int) -> str:
    if polls and all(p.sample.timed_out for p in polls):
        return f"{'timeout':>{width}}"
    return _fmt(_median(polls, "wall"), width)


def _stored(polls: list[Poll]) -> str:
    if not polls:
        return "-"
    last = polls[-1]
    # Any run that missed is flagged, not only the last one.
    flag = "" if all(p.stored == p.expected for p in polls) else " !"
    return f"{last.stored}/{last.expected}{flag}"


def _rssmania_walls(results: Results) -> dict[str, float]:
    return {p: _median(results.get(("rssmania", p), []), "wall") for p in ("cold", "warm")}


def print_table(context: dict[str, object], tools: list[str], results: Results) -> None:
    corpus = context["corpus"]
    assert isinstance(corpus, dict)
    mix = (
        f" ({context['mix']}: the busiest holds {context['busiest_host']})"
        if "mix" in context
        else ""
    )
    print(
        f"\n{context['feeds']} feeds on {context['hosts']} loopback hosts{mix}, {corpus['mb']} MB "
        f"({corpus['kb_min']}-{corpus['kb_max']} KB, median {corpus['kb_median']}), "
        f"{corpus['entries']} entries; RSS 2.0 {corpus['rss']}, Atom {corpus['atom']}, "
        f"RDF {corpus['rdf']}; {corpus['malformed']} malformed, {corpus['non_utf8']} not "
        f"UTF-8. {context['date']}, rssmania {context['rssmania']}, {context['cores']} cores, "
        f"medians of {context['runs']} interleaved runs."
    )
    header = (
        f"{'tool':16} {'cold s':>8} {'warm s':>8} {'cold CPU':>9} {'warm CPU':>9} "
        f"{'peak MB':>8} {'warm 304':>9} {'warm MB':>8} {'stored cold':>14} "
        f"{'stored warm':>14} {'x cold':>7} {'x warm':>7}"
    )
    print(header)
    print("-" * len(header))
    base = {
        phase: _median(results.get(("rssmania", phase), []), "wall") for phase in ("cold", "warm")
    }
    for tool in tools:
        cold = results.get((tool, "cold"), [])
        warm = results.get((tool, "warm"), [])
        peak = max(_median(cold, "peak_mb"), _median(warm, "peak_mb"))
        ratio = {
            phase: _median(polls, "wall") / base[phase] if base[phase] else math.nan
            for phase, polls in (("cold", cold), ("warm", warm))
        }
        w304 = statistics.median(p.wire["304"] for p in warm) if warm else math.nan
        wmb = statistics.median(p.wire["bytes"] / 1e6 for p in warm) if warm else math.nan
        print(
            f"{tool:16} {_wall(cold, 8)} {_wall(warm, 8)} {_fmt(_median(cold, 'cpu'), 9)} "
            f"{_fmt(_median(warm, 'cpu'), 9)} {_fmt(peak, 8, 0)} {_fmt(w304, 9, 0)} "
            f"{_fmt(wmb, 8, 1)} {_stored(cold):>14} {_stored(warm):>14} "
            f"{_fmt(ratio['cold'], 7)} {_fmt(ratio['warm'], 7)}"
        )
    print("x cold / x warm: the tool's wall time over rssmania's (above 1: rssmania is faster)")


FLOOR_FACTOR = 2  # issue 4: a cold poll within 2x of fetch-only + parse-only / cores


def print_floor(
    context: dict[str, object],
    floors: list[Floor],
    results: Results,
    phase: str = "cold",
    factor: float = FLOOR_FACTOR,
) -> None:
    """rssmania's poll against fetch-only + parse-only / cores (medians of the runs)."""
    if not floors:
        return
    cores = int(str(context["cores"]))
    fetch = statistics.median(f.fetch_s for f in floors)
    parse = statistics.median(f.parse_cpu_s for f in floors)
    store = statistics.median(f.store_cpu_s for f in floors)
    middle = replace(floors[0], fetch_s=fetch, parse_cpu_s=parse, store_cpu_s=store)
    floor, storing = middle.seconds(cores), middle.with_storing(cores)
    wall = _median(results.get(("rssmania", phase), []), "wall")
    verdict = ("met" if wall <= factor * floor else "NOT met") + f" (target: within {factor}x)"
    print(
        f"{phase} floor: fetch-only {fetch:.2f} s + parse-only {parse:.2f} s CPU / {cores} "
        f"cores = {floor:.2f} s (medians of {len(floors)}); rssmania {phase} "
        f"{_fmt(wall, 0)} s = {_fmt(wall / floor, 0)}x the floor: {verdict}"
    )
    print(
        f"{phase} floor with storing: fetch-only {fetch:.2f} s + (parse-only {parse:.2f} s + "
        f"store-only {store:.2f} s) CPU / {cores} cores = {storing:.2f} s; rssmania {phase} "
        f"= {_fmt(wall / storing, 0)}x that"
    )
    context[f"{phase}_floor"] = {
        "fetch_s": fetch,
        "parse_cpu_s": parse,
        "store_cpu_s": store,
        "floor_s": floor,
        "with_storing_s": storing,
    }


PEER_TARGETS = {"cold": 5.0, "warm": 2.5}  # issue 23, at 2,000 feeds


def print_fastest_peer(results: Results) -> None:
    """The fastest peer's wall time over rssmania's, cold and warm."""
    for phase, target in PEER_TARGETS.items():
        ours = _median(results.get(("rssmania", phase), []), "wall")
        peers = {
            tool: _median(polls, "wall")
            for (tool, p), polls in results.items()
            if p == phase and not tool.startswith("rssmania")
        }
        peers = {tool: wall for tool, wall in peers.items() if not math.isnan(wall)}
        if not peers or math.isnan(ours):
            continue
        tool = min(peers, key=peers.__getitem__)
        ratio = peers[tool] / ours
        print(
            f"{phase}: the fastest peer, {tool}, {peers[tool]:.2f} s = {ratio:.2f}x rssmania's "
            f"{ours:.2f} s (issue 23 asks {target}x at 2,000 feeds)"
        )


def print_diffs(results: Results) -> None:
    """Each tool's entry-count differences, by the traits of the feeds that differ."""
    codes = {p.code for polls in results.values() for p in polls if p.code}
    if len(codes) > 1:
        print(f"rssmania changed between runs (medians mix them): {sorted(codes)}")
    for (tool, phase), polls in results.items():
        for run, poll in enumerate(polls, start=1):
            if not poll.diffs and not poll.errors:
                continue
            traits = Counter(traits for _, traits, _, _ in poll.diffs)
            print(
                f"{tool} {phase} run {run}: {len(poll.diffs)} feeds differ, "
                f"{poll.stored - poll.expected:+d} entries; by kind: {dict(traits)}"
            )
            for name, kinds, want, got in poll.diffs[:5]:
                print(f"    {name} ({kinds}): expected {want}, stored {got}")
            for line in poll.errors[:5]:
                print(f"    error: {line}")


def write_json(path: Path, context: dict[str, object], results: Results) -> None:
    base = {
        phase: _median(results.get(("rssmania", phase), []), "wall") for phase in ("cold", "warm")
    }
    with path.open("a") as out:
        for (tool, phase), polls in results.items():
            wall = _median(polls, "wall")
            row = {
                **context,
                "tool": tool,
                "phase": phase,
                "wall_s": wall,
                "cpu_s": _median(polls, "cpu"),
                "peak_mb": _median(polls, "peak_mb"),
                "ratio_to_rssmania": wall / base[phase] if base[phase] else None,
                "stored": polls[-1].stored,
                "expected": polls[-1].expected,
                "samples": [
                    {
                        "wall_s": p.sample.wall,
                        "tree_wall_s": p.sample.tree_wall,
                        "cpu_s": p.sample.cpu,
                        "peak_mb": p.sample.peak_mb,
                        "timed_out": p.sample.timed_out,
                        "returncode": p.sample.returncode,
                        "stored": p.stored,
                        "differing_feeds": len(p.diffs),
                        "wire": p.wire,
                        "code": p.code,
                    }
                    for p in polls
                ],
            }
            # NaN is no JSON: a timed-out median is null.
            out.write(json.dumps(row, default=str).replace("NaN", "null") + "\n")


def print_curve(points: list[Point]) -> None:
    print("\nrssmania alone: time per feed and peak memory of the whole process tree")
    header = (
        f"{'feeds':>7} {'hosts':>6} {'cold s':>8} {'ms/feed':>8} {'warm s':>8} {'ms/feed':>8} "
        f"{'cold CPU':>9} {'peak MB cold':>13} {'peak MB warm':>13} {'stored':>8}"
    )
    print(header)
    print("-" * len(header))
    for point in points:
        n = int(str(point.context["feeds"]))
        cold, warm = _median(point.cold, "wall"), _median(point.warm, "wall")
        peak = max(_median(point.cold, "peak_mb"), _median(point.warm, "peak_mb"))
        flag = "" if peak < PEAK_LIMIT_MB else f"  over {PEAK_LIMIT_MB} MB!"
        print(
            f"{n:7} {point.context['hosts']!s:>6} {_fmt(cold, 8)} {_fmt(cold / n * 1e3, 8)} "
            f"{_fmt(warm, 8)} {_fmt(warm / n * 1e3, 8)} {_fmt(_median(point.cold, 'cpu'), 9)} "
            f"{_fmt(_median(point.cold, 'peak_mb'), 13, 0)} "
            f"{_fmt(_median(point.warm, 'peak_mb'), 13, 0)} {_stored(point.cold):>8}{flag}"
        )
