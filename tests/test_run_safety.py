"""The shell around the pipeline (issue 19): one run at a time per warehouse. Every refusal is one
line on the terminal, a non-zero exit, and leaves published.duckdb byte-identical."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.cli import run
from orchestration.core.paths import REPO_ROOT
from orchestration.core.resources import BuildDuckDBResource
from orchestration.core.run_lock import (
    EXIT_BUSY,
    LOCK_FILE,
    WarehouseBusy,
    WarehouseLock,
    hold_warehouse,
    read_holder,
)
from orchestration.core.settings import Settings

RUN_ID = "5c1f0a2e-0000-4000-8000-000000000019"

HOLD_THE_LOCK = f"""
import sys, time
from pathlib import Path
from orchestration.core.run_lock import WarehouseLock
WarehouseLock(Path(sys.argv[1]), "`make run`", run_id="{RUN_ID}").acquire()
print("held", flush=True)
time.sleep(120)
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def holding(script: str, path: Path):
    """A process holding `path` (the warehouse's run lock, or DuckDB's lock on a file) until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def warehouse(demo_run, tmp_path) -> Path:
    """A private copy of the session's published demo warehouse (links kept), to break."""
    target = tmp_path / "warehouse"
    shutil.copytree(
        demo_run[1].warehouse_dir,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns("gx", "dbt_runs", "logs", "notes", "dagster_home", LOCK_FILE),
    )
    (target / "logs").mkdir()
    return target


def untouched(warehouse: Path) -> dict[str, object]:
    """What a refused run must leave as it was."""
    return {
        "published": sha256(warehouse / "published.duckdb"),
        "build": sha256(warehouse / "build.duckdb"),
        "current": os.readlink(warehouse / "publications" / "current"),
        "files": sorted(p.name for p in warehouse.iterdir() if p.name != LOCK_FILE),  # the lock: not content
        "logs": sorted((warehouse / "logs").iterdir()),
    }


def main(warehouse: Path, capsys, months: str | None = None) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code = run.main(dg.DagsterInstance.ephemeral(), Settings(warehouse_dir=warehouse, source="demo"), months=months)
    captured = capsys.readouterr()
    return code, captured.out, captured.err, time.monotonic() - started


# --- one run at a time ------------------------------------------------------------------------------


def test_a_second_run_is_refused_at_once_naming_the_first(warehouse, capsys):
    with holding(HOLD_THE_LOCK, warehouse) as first:
        before = untouched(warehouse)  # the holder's lock file included
        code, out, err, seconds = main(warehouse, capsys)
    assert code == EXIT_BUSY and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert re.fullmatch(
        rf"Cannot run: another `make run` \(pid {first.pid}, started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC, "
        rf"\d+ s ago, run {RUN_ID}\) is using {re.escape(str(warehouse))}; wait for it to finish or stop it "
        rf"\(kill {first.pid}\), then run again",
        lines[0],
    ), lines[0]
    assert seconds < 5
    assert untouched(warehouse) == before


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    with holding(HOLD_THE_LOCK, tmp_path) as first:
        with pytest.raises(WarehouseBusy, match=f"pid {first.pid}"):
            WarehouseLock(tmp_path, "`make run`").acquire()
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        assert (tmp_path / LOCK_FILE).exists()  # the file stays, saying who held it last: not believed
        with WarehouseLock(tmp_path, "`make run`", run_id="next") as lock:
            assert read_holder(tmp_path) == lock.holder


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    with hold_warehouse(tmp_path, "`make run`", "outer") as outer:
        with hold_warehouse(tmp_path, "Dagster run of build_and_publish", "inner") as inner:
            assert inner == outer
        # still held: another open file description is refused
        with pytest.raises(WarehouseBusy, match="another `make run`"):
            WarehouseLock(tmp_path, "test").acquire()
    WarehouseLock(tmp_path, "test").acquire().release()


def test_a_holder_on_another_host_is_named_without_a_kill(tmp_path):
    (tmp_path / LOCK_FILE).write_text(
        f'{{"what": "`make run`", "pid": 7, "host": "elsewhere", "started": "2026-12-04T19:02:11+00:00", '
        f'"run_id": "{RUN_ID}"}}'
    )
    busy = str(WarehouseBusy(tmp_path, read_holder(tmp_path)))
    assert busy.startswith("another `make run` (pid 7 on elsewhere, started 2026-12-04 19:02:11 UTC, ")
    assert "kill" not in busy and socket.gethostname() != "elsewhere"


def test_a_dagster_run_launched_beside_a_make_run_is_refused_by_the_build_resource(tmp_path):
    """What a run from the UI or a schedule meets: its build resource takes the same lock."""
    with holding(HOLD_THE_LOCK, tmp_path) as first:
        started = time.monotonic()
        with pytest.raises(Exception) as raised:
            with dg.build_resources({"duckdb": BuildDuckDBResource(database=str(tmp_path / "build.duckdb"))}):
                pass
        assert time.monotonic() - started < 2
    assert str(raised.value.__cause__).startswith(
        f"another `make run` (pid {first.pid}, "
    )  # the run could not start: ...


def test_make_clean_waits_for_no_run(tmp_path, monkeypatch, capsys):
    from orchestration.cli import clean

    monkeypatch.setattr(clean, "DBT_OUTPUT", ())
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    (tmp_path / "warehouse" / "publications").mkdir(parents=True)
    with holding(HOLD_THE_LOCK, tmp_path / "warehouse"):
        assert clean.main() == 2
        assert (tmp_path / "warehouse" / "publications").is_dir()
    assert "clean: not deleting now: another `make run` (pid" in capsys.readouterr().err
    assert clean.main() == 0 and not (tmp_path / "warehouse").exists()


def test_the_make_run_stream_reaches_no_traceback_for_a_refusal(tmp_path):
    """The real command line: a refused run prints its one line on stderr and nothing else."""
    with holding(HOLD_THE_LOCK, tmp_path) as first:
        done = subprocess.run(
            [sys.executable, "-m", "orchestration.cli.run"],
            cwd=REPO_ROOT,
            env={**os.environ, "WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_SOURCE": "demo"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == EXIT_BUSY and done.stdout == ""
    assert done.stderr.startswith(f"Cannot run: another `make run` (pid {first.pid}, ") and done.stderr.count("\n") == 1
