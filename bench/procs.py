"""Run one measured command in a subprocess: wall time, CPU time and peak memory.

Two peak-memory figures, because the pipeline is more than one process (Dagster's Python process
and the `dbt build` it starts and waits for):

- `max_process_rss`: `ru_maxrss` of the rusage `wait4()` returns for the child. Linux folds every
  waited-for descendant into it, so this is the largest RSS any *single* process of the run reached
  (the driver itself, or dbt), not their sum.
- `tree_rss`: the largest *sum* of the RSS of the child and all its live descendants, sampled from
  /proc every `interval` seconds (so a spike shorter than the interval can be missed). This is what
  the machine had to hold at once, and the figure the "peak RSS" target is judged on.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measured:
    exit_code: int
    wall_seconds: float
    cpu_seconds: float  # user + system of the child and its waited-for descendants
    max_process_rss: int  # bytes
    tree_rss: int  # bytes, sampled
    samples: int


def _children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
            found += [int(c) for c in text.split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> int:
    """The summed RSS of `root` and every live descendant."""
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss(pid)
        todo += _children(pid)
    return total


def run_measured(args: list[str], *, env: dict[str, str], cwd: Path, log: Path, interval: float = 0.05) -> Measured:
    """Run `args`, stdout and stderr to `log`, and measure it (see the module docstring)."""
    peak = {"rss": 0, "samples": 0}
    done = threading.Event()
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)

        def sample() -> None:
            while not done.is_set():
                peak["rss"] = max(peak["rss"], tree_rss(proc.pid))
                peak["samples"] += 1
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        finally:
            wall = time.perf_counter() - started
            done.set()
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        exit_code=proc.returncode,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_process_rss=usage.ru_maxrss * 1024,
        tree_rss=peak["rss"],
        samples=peak["samples"],
    )
