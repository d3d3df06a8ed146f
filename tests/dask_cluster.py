"""A real Dask cluster on 127.0.0.1 for tests: `dask scheduler` and `dask worker` processes.

Everything binds to 127.0.0.1 (the scheduler's HTTP routes too: `--no-dashboard`
alone still listens on 0.0.0.0:8787). Workers run from this Python and import
rssmania and `tests` from this checkout, so test functions pickle by name.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.procs import descendants

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


class DaskCluster:
    """One scheduler and ``workers`` single-threaded workers, each under its nanny."""

    def __init__(self, tmp: Path, *, workers: int = 2) -> None:
        self.tmp = tmp
        self.n_workers = workers
        self.scheduler_file = tmp / "scheduler.json"
        self.env = {
            **os.environ,
            # This checkout first, for the coordinator's code and the tests' functions alike.
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
            ),
        }
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.worker_procs: list[subprocess.Popen[bytes]] = []
        self.address = ""

    def _start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with open(self.tmp / log, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                env=self.env,
                cwd=self.tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own process group: the nanny and its worker are stopped together.
                start_new_session=True,
            )

    def start(self, timeout: float = 60.0) -> DaskCluster:
        self.start_scheduler(timeout)
        for i in range(self.n_workers):
            self.add_worker(f"worker{i}.log")
        self.wait_for_workers(self.n_workers, timeout)
        return self

    def start_scheduler(self, timeout: float = 60.0) -> None:
        self.scheduler_file.unlink(missing_ok=True)
        self.scheduler = self._start(
            "scheduler",
            "--host",
            LOOPBACK,
            "--port",
            "0",
            "--no-dashboard",
            "--dashboard-address",
            f"{LOOPBACK}:0",
            "--scheduler-file",
            str(self.scheduler_file),
            log="scheduler.log",
        )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
                self.address = json.loads(self.scheduler_file.read_text())["address"]
                break
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler did not start:\n{self.log('scheduler.log')}")
            time.sleep(0.05)

    def add_worker(self, log: str) -> None:
        self.worker_procs.append(
            self._start(
                "worker",
                "--scheduler-file",
                str(self.scheduler_file),
                "--host",
                LOOPBACK,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--dashboard-address",
                f"{LOOPBACK}:0",
                "--local-directory",
                str(self.tmp / "work"),
                # Without a scheduler for that long, a worker exits: nothing outlives a test.
                "--death-timeout",
                "30",
                log=log,
            )
        )

    def client(self, timeout: float = 30.0) -> Any:
        from distributed import Client  # noqa: PLC0415 - only where the cluster runs

        return Client(self.address, timeout=timeout, set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        """Until ``n`` workers are up (nannies restart killed ones)."""
        client = self.client()
        try:
            client.wait_for_workers(n, timeout=timeout)
            # A worker that just died may still be listed: wait until each one answers.
            deadline = time.monotonic() + timeout
            while len(client.run(os.getpid)) < n:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"fewer than {n} Dask workers answer")
                time.sleep(0.1)
        finally:
            client.close()

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> PID of the process that runs tasks (the nanny's child)."""
        client = self.client()
        try:
            return dict(client.run(os.getpid))
        finally:
            client.close()

    def kill_scheduler(self) -> None:
        assert self.scheduler is not None
        os.killpg(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait()

    def listening(self) -> set[str]:
        """Addresses the cluster's processes listen on (TCP, IPv4 and IPv6), read from /proc."""
        roots = [*self.worker_procs, *([self.scheduler] if self.scheduler else [])]
        pids = {p.pid for p in roots} | set().union(*(descendants(p.pid) for p in roots))
        inodes = set()
        for pid in pids:
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        target = os.readlink(fd)
                        if target.startswith("socket:["):
                            inodes.add(target[8:-1])
        found = set()
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    found.add(_address(fields[1].split(":")[0]))
        return found

    def log(self, name: str) -> str:
        path = self.tmp / name
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def stop(self) -> None:
        procs = [*self.worker_procs, *([self.scheduler] if self.scheduler else [])]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # A worker process (the nanny's child) is in the same group: killpg reached it.
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def _address(hex_ip: str) -> str:
    """/proc/net/tcp's address (hex, in host byte order per 32-bit word) as text."""
    raw = bytes.fromhex(hex_ip)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


@contextlib.contextmanager
def dask_cluster(tmp: Path, *, workers: int = 2) -> Iterator[DaskCluster]:
    pytest.importorskip("distributed")
    cluster = DaskCluster(tmp, workers=workers)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


# Fixtures under other names than their own: a test module imports them, and
# its tests' parameters named ``cluster`` would otherwise shadow the import.
@pytest.fixture(scope="module", name="shared_cluster")
def shared_cluster_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """One cluster per test module; tests that kill workers wait for nannies to replace them."""
    with dask_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


@pytest.fixture(name="cluster")
def cluster_fixture(shared_cluster: DaskCluster) -> DaskCluster:
    shared_cluster.wait_for_workers(shared_cluster.n_workers)
    return shared_cluster
