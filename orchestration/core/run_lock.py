"""One run at a time per warehouse: an operating-system lock on WAREHOUSE_DIR/.run.lock.

Two runs on one warehouse interfere (one rewrites the raw tables under the other's checks, or
sweeps the other's half-written publication), so whatever writes the warehouse holds this lock
while it does: `make run` and `make docs` before they start anything, a Dagster run launched from
the UI or by a schedule when it sets up the build file (core/resources.py) or publishes
(publish/asset.py), `make clean` while it deletes. A second one is refused at once, with one
sentence naming the holder (its command, pid, host, start time and run id, which the holder
writes into the lock file).

Refused, not queued: a run that waits looks hung, a scheduled run that waits piles up behind a
long backfill, and a second run right after the first would rebuild what the first just built.

The lock is `fcntl.flock` on an open file, so the kernel drops it when the holder exits however
it exits (kill -9 included): a lock file left behind is never stale, whatever it says inside. Within
one process the lock is reentrant (`make run` holds it, and the resources of the run it executes
in that process take it again). Standard library only: `make clean` runs without the venv.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = ".run.lock"
# `make run`'s exit code when another run holds the warehouse (sysexits.h EX_TEMPFAIL: try again
# later), so a wrapper can tell "busy" from "failed" (1) and "bad setting" (2).
EXIT_BUSY = 75


@dataclass(frozen=True)
class Holder:
    """Who holds a warehouse's lock, as it wrote itself into the lock file."""

    what: str  # "`make run`", "`make docs`", "Dagster run of build_and_publish", ...
    pid: int
    host: str
    started: str  # ISO 8601, UTC
    run_id: str | None = None

    def describe(self, now: datetime | None = None) -> str:
        started = datetime.fromisoformat(self.started)
        elapsed = ((now or datetime.now(UTC)) - started).total_seconds()
        host = "" if self.host == socket.gethostname() else f" on {self.host}"
        run = f", run {self.run_id}" if self.run_id else ""
        return (
            f"{self.what} (pid {self.pid}{host}, started {started:%Y-%m-%d %H:%M:%S} UTC, "
            f"{_duration(elapsed)} ago{run})"
        )


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse: the message is the one sentence to show."""

    def __init__(self, warehouse_dir: Path, holder: Holder | None) -> None:
        self.warehouse_dir, self.holder = warehouse_dir, holder
        who = f"another {holder.describe()}" if holder else "another run (which has not written its details yet)"
        stop = f" (kill {holder.pid})" if holder and holder.host == socket.gethostname() else ""
        super().__init__(f"{who} is using {warehouse_dir}; wait for it to finish or stop it{stop}, then run again")


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def read_holder(warehouse_dir: Path) -> Holder | None:
    """What the lock file says (the last holder's details; a holder only while the lock is held)."""
    try:
        data = json.loads((warehouse_dir / LOCK_FILE).read_text(encoding="utf-8"))
        return Holder(**{key: data.get(key) for key in Holder.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


class WarehouseLock:
    """The lock on one warehouse folder; `acquire` raises WarehouseBusy when another process holds it."""

    def __init__(self, warehouse_dir: Path, what: str, run_id: str | None = None) -> None:
        self.warehouse_dir = Path(warehouse_dir)
        self.holder = Holder(
            what=what,
            pid=os.getpid(),
            host=socket.gethostname(),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            run_id=run_id,
        )
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.warehouse_dir / LOCK_FILE

    def acquire(self) -> WarehouseLock:
        self.warehouse_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WarehouseBusy(self.warehouse_dir, self._other_holder()) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(asdict(self.holder)) + "\n").encode(), 0)
        self._fd = fd
        return self

    def _other_holder(self) -> Holder | None:
        """The holder's details; it writes them just after taking the lock, so allow it a moment."""
        for _ in range(10):
            holder = read_holder(self.warehouse_dir)
            if holder is not None and holder.pid != os.getpid():
                return holder
            time.sleep(0.05)
        return read_holder(self.warehouse_dir)

    def release(self) -> None:
        if self._fd is not None:
            # The file stays: removing it would let a third process lock a new file while a second
            # still waits on the old one. What it says is only believed while it is locked.
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WarehouseLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


_held: dict[Path, tuple[WarehouseLock, int]] = {}  # this process's locks: folder -> (lock, depth)
_held_guard = threading.Lock()


def _key(warehouse_dir: Path) -> Path:
    return Path(warehouse_dir).resolve()


def held_by_this_process(warehouse_dir: Path) -> bool:
    return _key(warehouse_dir) in _held


@contextmanager
def hold_warehouse(warehouse_dir: Path, what: str, run_id: str | None = None) -> Iterator[Holder]:
    """Hold the warehouse's lock for the block (reentrant within this process); WarehouseBusy when
    another process holds it. Yields the holder (this process's first taker)."""
    key = _key(warehouse_dir)
    with _held_guard:
        if key in _held:
            lock, depth = _held[key]
            _held[key] = (lock, depth + 1)
        else:
            lock = WarehouseLock(warehouse_dir, what, run_id).acquire()
            _held[key] = (lock, 1)
    try:
        yield lock.holder
    finally:
        with _held_guard:
            lock, depth = _held[key]
            if depth > 1:
                _held[key] = (lock, depth - 1)
            else:
                del _held[key]
                lock.release()
