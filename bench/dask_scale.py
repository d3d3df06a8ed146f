"""Poll N generated feeds on a 2-worker Dask cluster on this machine vs the local process pool.

    pip install -e '.[dask]' psutil
    python bench/dask_scale.py --feeds 2000 20000 --runs 1 --hosts 500
    python bench/dask_scale.py --overhead          # per-batch cost of each pool, no I/O

Serves the feeds of ``poll_local.py``'s generator with ``static_server.py``
on ``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...), so that the
per-host politeness (2 requests at once, 0.1 s apart) does not set the pace.
Starts a Dask scheduler and two single-threaded workers as separate processes
on 127.0.0.1 (``dask scheduler`` / ``dask worker``), outside the timings.

Per size and run, interleaved: ``rssmania update --all --json`` with
``--workers 2``, then with ``--executor dask://...``, each cold (empty
database) then warm (10% of the feeds gained one entry). Checks that each
stored exactly the entries generated, and prints wall time, CPU seconds and
feeds/s. CPU covers the command's process tree (its pool's workers included)
and, for Dask, the scheduler's and workers' processes as well.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from pathlib import Path

import psutil
from poll_local import Corpus, feed_urls, serve, timed

from rssmania import Aggregator
from rssmania._dask import DaskPool
from rssmania._executors import WorkerPool
from rssmania._poll import PollJob, PollOutcome, PollSettings

HERE = Path(__file__).resolve().parent


@contextmanager
def local_cluster(tmp: Path, workers: int) -> Iterator[tuple[str, list[psutil.Process]]]:
    """A scheduler and ``workers`` one-thread workers on 127.0.0.1; yields (address, processes)."""
    scheduler_file = tmp / "scheduler.json"
    loopback = ["--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    commands = [["scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), *loopback]]
    commands += [
        ["worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--nworkers", "1",
         "--local-directory", str(tmp / f"w{i}"), *loopback]
        for i in range(workers)
    ]  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dask", *command],
                    # ``--overhead`` ships this module's ``echo`` by name.
                    env={
                        **os.environ,
                        "PYTHONPATH": os.pathsep.join(
                            filter(None, [str(HERE), os.environ.get("PYTHONPATH")])
                        ),
                    },
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            while not scheduler_file.exists() or not scheduler_file.read_text().strip():
                time.sleep(0.05)  # workers read the scheduler's address from it
        address = json.loads(scheduler_file.read_text())["address"]
        from distributed import Client  # noqa: PLC0415 - bench only

        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, [psutil.Process(p.pid) for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()


def cluster_cpu(processes: Sequence[psutil.Process]) -> float:
    """CPU seconds used so far by the cluster's processes and their children (the workers)."""
    total = 0.0
    for proc in processes:
        for p in [proc, *proc.children(recursive=True)]:
            try:
                times = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def poll_sizes(args: argparse.Namespace) -> None:
    results: dict[tuple[int, str], list[tuple[float, float]]] = {}
    described: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        site.mkdir()
        corpus = Corpus(site, [])
        with (
            serve(site, tmp, args.hosts) as addresses,
            local_cluster(tmp, 2) as (address, cluster),
        ):
            executors = {
                "local pool, 2 workers": ["--workers", "2"],
                "Dask, 2 workers": ["--executor", "dask://" + address.removeprefix("tcp://")],
            }
            for run in range(args.runs):
                for feeds in args.feeds:
                    urls = feed_urls(addresses, feeds)
                    corpus.write(feeds)
                    size = sum(site.joinpath(f"f{i}.xml").stat().st_size for i in range(feeds))
                    described[feeds] = f"{size / 1e6:.0f} MB, {sum(corpus.counts):,} entries"
                    for label, flags in executors.items():
                        db = tmp / f"run{run}-{feeds}.sqlite"
                        with Aggregator(db) as agg:
                            agg.add_feeds(urls)
                        for phase, changed in (("cold", 0.0), ("warm", 0.1)):
                            corpus.write(feeds, changed=changed)
                            wall, cpu = _update(db, flags, cluster if "Dask" in label else [])
                            results.setdefault((feeds, f"{label} {phase}"), []).append((wall, cpu))
                            assert _count(db) == sum(corpus.counts), (label, phase)
                            print(f"  {feeds} {label} {phase}: {wall:.2f} s", file=sys.stderr)
                        db.unlink()
    print(f"medians of {args.runs} interleaved run(s), {os.cpu_count()} cores, {args.hosts} hosts")
    print("| feeds | run | wall s | CPU s | feeds/s |")
    print("|---:|---|---:|---:|---:|")
    for (feeds, label), samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"| {feeds:,} ({described[feeds]}) | {label} | {wall:.1f} | {cpu:.1f} | "
              f"{feeds / wall:.0f} |")  # fmt: skip


def _update(db: Path, flags: list[str], cluster: Sequence[psutil.Process]) -> tuple[float, float]:
    """Wall and CPU seconds of `rssmania update --all`, the cluster's CPU included."""
    env = {**os.environ, "RSSMANIA_DB": str(db)}
    before = cluster_cpu(cluster)
    wall, cpu = timed([sys.executable, "-m", "rssmania", "update", "--all", "--json", *flags], env)
    return wall, cpu + cluster_cpu(cluster) - before


def _count(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM entries").fetchone()[0])


def echo(settings: PollSettings, jobs: Sequence[PollJob]) -> list[PollOutcome]:
    return [PollOutcome(job.url) for job in jobs]


def overhead(args: argparse.Namespace) -> None:
    """Milliseconds per batch of trivial work: one at a time (latency), and 4 in flight.

    Four, as a round keeps two batches per worker in flight; far more would
    deadlock the local pool (CPython's ProcessPoolExecutor with
    max_tasks_per_child, gh-115634), which a round never does.
    """
    settings = PollSettings(user_agent="bench")
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        local_cluster(Path(tmp_name), 2) as (address, _),
    ):
        pools = {"local pool": WorkerPool(2), "Dask": DaskPool(address)}
        print("| pool | ms per batch, one at a time | ms per batch, 4 in flight |")
        print("|---|---:|---:|")
        for label, pool in pools.items():
            pool.warm_up()
            pool.stop_event.clear()
            for i in range(20):  # workers started, code imported
                pool.submit(echo, settings, [PollJob(f"http://w/{i}")]).result()
            started = time.perf_counter()
            for i in range(200):
                pool.submit(echo, settings, [PollJob(f"http://a/{i}")]).result()
            one = (time.perf_counter() - started) / 200 * 1000
            started = time.perf_counter()
            pending = set()
            for i in range(2000):
                if len(pending) == 4:
                    _, pending = wait(pending, return_when=FIRST_COMPLETED)
                pending.add(pool.submit(echo, settings, [PollJob(f"http://b/{i}")]))
            wait(pending)
            many = (time.perf_counter() - started) / 2000 * 1000
            print(f"| {label} | {one:.2f} | {many:.2f} |")
            pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--overhead", action="store_true", help="per-batch cost only")
    args = parser.parse_args()
    if args.overhead:
        overhead(args)
    else:
        poll_sizes(args)


if __name__ == "__main__":
    # Run as this module, not as __main__: the local pool's workers unpickle
    # ``echo`` by its module's name, and they have no __main__ of ours.
    import dask_scale

    dask_scale.main()
