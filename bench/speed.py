"""rssmania against its peers on N realistic feeds served by nginx on loopback (issues 4, 23).

    python bench/speed.py --feeds 250,2000 --runs 3 --json-out speed.jsonl
    python bench/speed.py --scale 200,2000,20000          # rssmania alone: the curve

Per N: generates the feeds (``feedgen.py``: RSS 2.0, Atom and RDF, 10-50
entries, 2-300 KB, some malformed, some not UTF-8), serves them with nginx on
loopback addresses (``nginx.py``: ETag, Last-Modified, gzip) in each host mix
of ``--mix``:

    uniform   4 feeds a host (``--per-host``), N/4 hosts
    zipf      N/5 hosts, host k holding a share of the feeds in 1/k, as real
              subscription lists do (YouTube, GitHub, Substack, Medium...): the
              busiest about 15% of the feeds, most hosts one or two

then, run after run and mix after mix, each tool in turn (the order rotates
between runs, so that a noisy neighbour hurts everyone alike) on a fresh state:

    cold   an empty state polls every feed
    warm   the same state polls again after 10% of the feeds gained an entry
           (the rest answer 304 to the ETag / Last-Modified sent back)

The tools (``peers.py``): rssmania ``update --all --json`` (the reference of
the ratios) and ``update --all`` (console text, as a person runs it); the seed's
``feedparser.parse(url)`` loop; the same over a ``multiprocessing.Pool``;
reader ``update_feeds(workers=8)``; ``newsboat -x reload`` with 8 threads.
After each poll, what the tool stored is counted against what the generator
wrote. Printed: medians of wall time, CPU time and peak memory of the
command's whole process tree (``measure.py``), what nginx sent, the counts,
and each peer's time over rssmania's.
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import importlib.util
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
IMPORT_NAMES = {"sgmllib3k": "sgmllib"}


def ensure_pip_extra() -> None:
    """pip-install the ``bench`` extra of pyproject.toml where a package is missing."""
    project = tomllib.loads((HERE.parent / "pyproject.toml").read_text())["project"]
    missing = []
    for req in project["optional-dependencies"]["bench"]:
        name = re.split(r"[<>=!~ ;\[]", req)[0]
        if not importlib.util.find_spec(IMPORT_NAMES.get(name, name)):
            missing.append(req)
    if missing:
        print(f"installing {' '.join(missing)} with pip", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
        importlib.invalidate_caches()


ensure_pip_extra()

import feedgen  # noqa: E402 (after the install of what it needs)
import floor  # noqa: E402
import measure  # noqa: E402
import nginx  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402


@dataclass
class Bench:
    corpus: feedgen.Corpus
    urls: list[str]
    log: nginx.AccessLog
    timeout: float
    results: report.Results = field(default_factory=dict)
    floors: dict[str, list[floor.Floor]] = field(default_factory=dict)

    def run_floor(self, state: Path) -> None:
        """fetch-only and parse-only (``floor.py``), cold then warm, in processes of their own."""
        state.mkdir()
        urls = str(peers.write_urls(state, self.urls))
        validators = str(state / "validators.json")
        try:
            for phase, mode in (("cold", "--keep"), ("warm", "--since")):
                if phase == "warm":
                    self.corpus.change()
                done = subprocess.run(
                    [sys.executable, str(HERE / "floor.py"), urls, mode, validators],
                    capture_output=True,
                    text=True,
                    timeout=self.timeout,
                    check=True,
                )
                found = floor.Floor.from_json(done.stdout)
                self.floors.setdefault(phase, []).append(found)
                describe = found.describe(os.cpu_count() or 1)
                print(f"  {'floor':16} {phase}: {describe}", flush=True)
        finally:
            self.corpus.reset()
            shutil.rmtree(state, ignore_errors=True)

    def run_tool(self, tool: peers.ToolType, state: Path) -> None:
        """Cold then warm on a fresh state; the corpus is back to cold when this returns."""
        state.mkdir()
        tool.prepare(state, self.urls)
        try:
            cold = self.poll(tool, state, "cold")
            if cold.sample.timed_out or cold.sample.returncode != 0:
                return  # a warm poll on a half-written state would measure nothing useful
            self.corpus.change()
            self.poll(tool, state, "warm")
        finally:
            self.corpus.reset()
            # 20,000 feeds make databases of gigabytes: keep the disk for the next tool.
            shutil.rmtree(state, ignore_errors=True)

    def poll(self, tool: peers.ToolType, state: Path, phase: str) -> report.Poll:
        cmd, env = tool.command(state)
        log = state / f"{phase}.log"
        self.log.mark()
        sample = measure.run(cmd, env=env, cwd=state, log=log, timeout=self.timeout)
        time.sleep(0.05)  # nginx logs a request after its last byte: let the log catch up
        wire = self.log.since_mark()
        expected = self.corpus.expected()
        got = {} if sample.timed_out else tool.counts(state)
        result = report.Poll(sample, wire, sum(got.values()), sum(expected))
        for url, spec, want in zip(self.urls, self.corpus.specs, expected, strict=True):
            if got.get(url, 0) != want:
                traits = " ".join(
                    [spec.kind, spec.encoding, spec.malformed or "well-formed"]
                    + ["relative links"] * spec.relative_links
                    + ["no guid"] * (not spec.guids)
                )
                result.diffs.append((spec.name, traits, want, got.get(url, 0)))
        if isinstance(tool, peers.Rssmania):
            result.code = rssmania_version()
            if result.diffs:
                result.errors = tool.errors(state)
        if sample.returncode != 0 or sample.timed_out:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            result.errors += [f"exit {sample.returncode}, timed out: {sample.timed_out}", *tail]
        self.results.setdefault((tool.name, phase), []).append(result)
        status = "timeout" if sample.timed_out else f"{sample.wall:7.2f} s"
        if sample.tree_wall - sample.wall > 0.5:
            status += f" (+{sample.tree_wall - sample.wall:.1f} s until its last process exited)"
        print(
            f"  {tool.name:16} {phase}: {status}, cpu {sample.cpu:6.2f} s, "
            f"peak {sample.peak_mb:6.0f} MB, {wire['200']} x 200 / {wire['304']} x 304, "
            f"stored {result.stored}/{result.expected}",
            flush=True,
        )
        return result


def check_server(url: str) -> str:
    """One gzip GET and one conditional GET: the server must behave like the web's."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.request("GET", parts.path, headers={"Accept-Encoding": "gzip"})
    first = conn.getresponse()
    first.read()
    etag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
    conn.request(
        "GET", parts.path, headers={"If-None-Match": etag or "", "Accept-Encoding": "gzip"}
    )
    second = conn.getresponse()
    second.read()
    conn.close()
    if not (etag and modified and second.status == 304):
        raise RuntimeError(f"nginx gave no validators or no 304: {etag!r} {modified!r}")
    return (
        f"server check: {first.status} {first.getheader('Content-Type')}, "
        f"Content-Encoding {first.getheader('Content-Encoding')}, ETag {etag}, "
        f"then {second.status} to If-None-Match"
    )


MIXES = ("uniform", "zipf")


def host_mix(n: int, mix: str, *, per_host: int, seed: int) -> tuple[int, list[int]]:
    """(hosts, the host of each feed) for a mix of ``MIXES``."""
    if mix == "uniform":
        hosts = math.ceil(n / per_host)
        # Feed i on host i modulo the number of hosts, as poll_twice.py does.
        return hosts, [i % hosts for i in range(n)]
    hosts = max(1, n // 5)
    weights = [1 / k for k in range(1, hosts + 1)]
    counts = [max(1, round(n * w / sum(weights))) for w in weights]
    counts[0] += n - sum(counts)  # the busiest host takes what rounding left
    assignment = [host for host, count in enumerate(counts) for _ in range(count)]
    random.Random(seed).shuffle(assignment)  # a host's feeds of every kind and size
    return hosts, assignment


def bench_one(n: int, args: argparse.Namespace, tools: list[peers.ToolType]) -> report.Point:
    """Run every tool on N feeds in each mix, print the tables; return rssmania's polls
    (of the first mix) for the curve."""
    mixes = [m.strip() for m in args.mix.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="rssmania-speed-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        site.mkdir()
        started = time.perf_counter()
        corpus = feedgen.Corpus(site, n, seed=args.seed, changed=args.changed)
        corpus.write_all()
        summary = corpus.summary()
        print(f"\n{n} feeds generated in {time.perf_counter() - started:.0f} s: {summary}")
        layouts = {mix: host_mix(n, mix, per_host=args.per_host, seed=args.seed) for mix in mixes}
        with nginx.serve(site, tmp / "nginx", max(h for h, _ in layouts.values())) as (
            bases,
            log,
        ):
            benches = {
                mix: Bench(
                    corpus,
                    [
                        f"{bases[host]}/{name}"
                        for host, name in zip(hosts, corpus.names, strict=True)
                    ],
                    log,
                    args.timeout,
                )
                for mix, (_, hosts) in layouts.items()
            }
            print(check_server(benches[mixes[0]].urls[0]))
            for run in range(args.runs):
                shift = run % len(tools)
                order = tools[shift:] + tools[:shift]
                for mix, bench in benches.items():
                    print(f"run {run + 1}/{args.runs}, {mix}: {', '.join(t.name for t in order)}")
                    for tool in order:
                        name = tool.name.replace(" ", "-")
                        bench.run_tool(tool, tmp / f"{name}-{mix}-{run}")
                    if not args.no_floor:
                        bench.run_floor(tmp / f"floor-{mix}-{run}")
        points = []
        for mix, bench in benches.items():
            hosts, assignment = layouts[mix]
            busiest = max(Counter(assignment).values())
            context = {
                "date": time.strftime("%Y-%m-%d"),
                "rssmania": rssmania_version(),
                "feeds": n,
                "mix": mix,
                "hosts": hosts,
                "busiest_host": busiest,
                "runs": args.runs,
                "cores": os.cpu_count(),
                "corpus": summary,
            }
            report.print_table(context, [t.name for t in tools], bench.results)
            report.print_fastest_peer(bench.results)
            for phase, factor in (("cold", 1.3), ("warm", 1.5)):
                report.print_floor(
                    context, bench.floors.get(phase, []), bench.results, phase, factor
                )
            report.print_diffs(bench.results)
            if args.json_out:
                report.write_json(args.json_out, context, bench.results)
            points.append(
                report.Point(
                    context,
                    bench.results.get(("rssmania", "cold"), []),
                    bench.results.get(("rssmania", "warm"), []),
                )
            )
        return points[0]


def rssmania_version() -> str:
    """The commit measured, and whether src/ had uncommitted changes (figures move with them)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(HERE.parent), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    dirty = " + uncommitted changes in src/" if git("status", "--porcelain", "src") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + dirty


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", default="250", help="N, or several: 250,2000")
    parser.add_argument(
        "--scale", help="rssmania alone at each N (e.g. 200,2000,20000): time per feed, peak MB"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-host", type=int, default=4, help="feeds a host in the uniform mix")
    parser.add_argument(
        "--mix", default=",".join(MIXES), help=f"host mixes, comma-separated among {MIXES}"
    )
    names = [
        "rssmania",
        "rssmania-console",
        "feedparser-loop",
        "feedparser-pool",
        "reader",
        "newsboat",
    ]
    parser.add_argument("--only", help=f"comma-separated among {','.join(names)}")
    parser.add_argument("--skip", default="", help="comma-separated tools to leave out")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per command")
    parser.add_argument("--workers", type=int, help="passed to rssmania update --workers")
    parser.add_argument("--changed", type=float, default=0.1, help="share of feeds changed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json-out", type=Path, help="append the figures as JSON Lines")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip fetch-only + parse-only (floor.py)"
    )
    args = parser.parse_args()
    if args.scale:
        args.feeds = args.scale
        args.only = args.only or "rssmania"
        args.mix = args.mix if "--mix" in sys.argv else "uniform"
    return args


def compile_rssmania() -> None:
    """Byte-compile the rssmania being measured, as ``pip install .`` does.

    An editable install under PYTHONDONTWRITEBYTECODE (set on the development
    machines) compiles all of rssmania at every start, in the command and in
    the forkserver: 0.1 s each that an installed copy, and the peers, do not
    pay.
    """
    spec = importlib.util.find_spec("rssmania")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if not compileall.compile_dir(folder, quiet=1):
            print(f"warning: cannot byte-compile {folder}: rssmania's start-up is measured slow")


def main() -> None:
    args = parse_args()
    compile_rssmania()
    # A SIGTERM must unwind like Ctrl+C does, so that nginx is stopped and the
    # temp dir removed: Python's default would leave nginx running, orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Every URL is on loopback: a proxy from the environment would measure the proxy.
    for var in ("http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(var, None)
        os.environ.pop(var.upper(), None)
    cores = os.cpu_count() or 1
    tools = peers.all_tools(rssmania_workers=args.workers, cores=cores)
    wanted = {t.strip() for t in (args.only or "").split(",") if t.strip()}
    skipped = {t.strip() for t in args.skip.split(",") if t.strip()}
    tools = [
        t
        for t in tools
        if (not wanted or t.name.replace(" ", "-") in wanted)
        and t.name.replace(" ", "-") not in skipped
    ]
    if any(t.name == "newsboat" for t in tools):
        nginx.ensure_apt(("newsboat", "newsboat"))
    if args.json_out:
        args.json_out = args.json_out.resolve()
    curve = [bench_one(int(n), args, tools) for n in args.feeds.split(",")]
    if len(curve) > 1 and any(point.cold for point in curve):
        report.print_curve(curve)


if __name__ == "__main__":
    main()
