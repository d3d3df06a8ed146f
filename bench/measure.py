"""Run one command and measure its whole process tree: wall time, CPU time, peak memory.

    python bench/measure.py --reap RESULT_JSON CMD...   (used by ``run``, not by hand)

- CPU: the command runs under a child subreaper (``prctl
  PR_SET_CHILD_SUBREAPER``) that waits for every descendant, orphans
  included, then reads ``RUSAGE_CHILDREN``: a process pool's workers are
  reaped by a forkserver nobody waits for, and their CPU would be lost.
- Memory: the sum of the RSS of every process below the reaper, sampled every
  20 ms with psutil (the tree itself is listed every 200 ms); the peak of that
  sum is reported. RSS counts shared pages once per process, so forked
  workers are over-counted a little; every tool is counted the same way.
- Wall: from the start of the command to its exit, Python start-up and
  imports included: what a user waits for. ``tree_wall`` runs on to the exit
  of the last descendant: processes left behind (a forkserver, workers that
  notice late that their parent is gone) cost the machine, not the user.

nginx is started by the benchmark, not by the command, so it is in no tree.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

PR_SET_CHILD_SUBREAPER = 36
SAMPLE_SECONDS = 0.02
TREE_EVERY = 10  # samples between two listings of the process tree


@dataclass(frozen=True)
class Sample:
    wall: float
    tree_wall: float
    cpu: float
    peak_mb: float
    returncode: int
    timed_out: bool


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path,
    timeout: float,
) -> Sample:
    """Run ``cmd`` (stdout discarded, stderr to ``log``) and measure its tree."""
    result = log.with_suffix(".result.json")
    result.unlink(missing_ok=True)
    with log.open("ab") as err:
        reaper = subprocess.Popen(
            [sys.executable, __file__, "--reap", str(result), *cmd],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # one process group to kill on a timeout
        )
    peak = _PeakSampler(reaper.pid)
    peak.start()
    timed_out = False
    try:
        reaper.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(reaper)
    except BaseException:
        # Ctrl+C or SIGTERM of the benchmark: the command has its own session
        # and would outlive it.
        _kill_tree(reaper)
        raise
    finally:
        peak.stop()
    if timed_out or not result.exists():
        nan = float("nan")
        return Sample(timeout, timeout, nan, peak.peak_mb, reaper.returncode or -9, timed_out)
    got = json.loads(result.read_text())
    return Sample(got["wall"], got["tree_wall"], got["cpu"], peak.peak_mb, got["returncode"], False)


class _PeakSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak_mb = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        children: list[psutil.Process] = []
        tick = 0
        while not self._done.wait(SAMPLE_SECONDS):
            # Listing the tree reads every /proc/PID/stat on the machine: done
            # every 10th sample only, the sampler would otherwise take a tenth
            # of a core from the command it measures. Reading each RSS is cheap.
            if tick % TREE_EVERY == 0:
                try:
                    children = self.root.children(recursive=True)
                except psutil.Error:
                    return
            tick += 1
            total = 0
            for child in children:
                # A child may exit between the listing and the read.
                with suppress(psutil.Error):
                    total += child.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _kill_tree(reaper: subprocess.Popen[bytes]) -> None:
    try:
        tree = psutil.Process(reaper.pid).children(recursive=True)
    except psutil.Error:
        tree = []
    # A child may have left the process group (setsid): kill it by pid as well.
    with suppress(ProcessLookupError, psutil.NoSuchProcess):
        os.killpg(reaper.pid, signal.SIGKILL)
    for proc in tree:
        with suppress(ProcessLookupError, psutil.NoSuchProcess):
            proc.kill()
    reaper.wait()


def reap(result: Path, cmd: list[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started = time.perf_counter()
    returncode = subprocess.call(cmd)
    wall = time.perf_counter() - started
    # Orphans (a forkserver, its workers) are now our children: wait for all of them.
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    tree_wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    got = {"wall": wall, "tree_wall": tree_wall, "cpu": cpu, "returncode": returncode}
    result.write_text(json.dumps(got))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--reap"]:
        sys.exit(__doc__)
    reap(Path(sys.argv[2]), sys.argv[3:])
