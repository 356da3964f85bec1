"""Whether the build file can be used, found out in a second before a run starts.

DuckDB says within milliseconds what is wrong with WAREHOUSE_DIR/build.duckdb: another program
holds its lock (a `duckdb` shell, a notebook, a BI tool left open on it), it was written by a newer
DuckDB, or it is not a DuckDB file at all (garbage bytes, a truncated copy, a bad block). Found
only inside the steps, the first two cost minutes of silent retries and the last fails every later
run the same way. The build file is derived data (the raw tables and the dbt models, rebuilt from
the source by a full refresh), so a broken one is moved aside, kept, never deleted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

LOCKED, NEWER, BROKEN = "locked", "newer", "broken"
# DuckDB errors on opening a file that say nothing about its contents: a file in that state is not broken.
NOT_ITS_CONTENTS = (
    "Could not set lock",
    "version number",
    "Permission denied",
    "No space left",
    "Read-only file system",
    "Too many open files",
    "Out of Memory",
    "Resource temporarily unavailable",
)
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


@dataclass(frozen=True)
class BuildFileProblem:
    kind: str  # LOCKED, NEWER or BROKEN
    path: Path
    detail: str  # DuckDB's first line, without its "IO Error: "
    pid: int | None = None  # LOCKED: the process holding DuckDB's lock, when DuckDB names it
    program: str | None = None

    def locked_sentence(self) -> str:
        who = f"another program (PID {self.pid}: {self.program})" if self.pid else "another program"
        return (
            f"{self.path} is open in {who}, which holds DuckDB's lock on it: close that connection "
            "(a `duckdb` shell, a notebook, a BI tool or SQL client on the build file; readers belong on "
            "published.duckdb) and run again"
        )

    def broken_sentence(self) -> str:
        return f"{self.path} is not a readable DuckDB file ({self.detail})"


def inspect_build_file(path: Path) -> BuildFileProblem | None:
    """What stops a run from using the build file at `path`, or None (also when it does not exist
    yet, or for an error about the machine rather than the file: the step that meets it reports it)."""
    if not path.exists():
        return None
    try:
        duckdb.connect(str(path), read_only=True).close()
    except (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException) as error:
        detail = str(error).splitlines()[0].removeprefix("IO Error: ") if str(error) else type(error).__name__
        holder = _HOLDER.search(detail)
        if "Could not set lock" in detail:
            return BuildFileProblem(
                LOCKED,
                path,
                detail,
                pid=int(holder["pid"]) if holder else None,
                program=holder["program"] if holder else None,
            )
        if "version number" in detail:
            return BuildFileProblem(NEWER, path, detail)
        if any(marker in detail for marker in NOT_ITS_CONTENTS):
            return None
        return BuildFileProblem(BROKEN, path, detail)
    except duckdb.Error:
        return None  # the file open in this process with another configuration, ...: for the step to report
    return None


def move_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename a broken build file (and its write-ahead log) to `<name>.broken-<UTC time>` beside
    it; the new name."""
    stamp = f"{now or datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    os.rename(path, aside)
    wal = path.with_name(f"{path.name}.wal")
    if wal.exists():
        os.rename(wal, aside.with_name(f"{aside.name}.wal"))
    return aside
