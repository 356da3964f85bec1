"""The shell around the pipeline (issue 19, items 10, 11, 15): one run at a time per warehouse, a
build file that is held open or broken, a disk that fills during a publish. Every refusal is one
line on the terminal, a non-zero exit, and leaves published.duckdb byte-identical."""

from __future__ import annotations

import contextlib
import errno
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
import duckdb
import pytest

from orchestration.cli import run
from orchestration.core.build_file import BROKEN, LOCKED, NEWER, inspect_build_file, move_aside
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
from orchestration.publish import publication
from orchestration.publish.publication import PublishError, publish

RUN_ID = "5c1f0a2e-0000-4000-8000-000000000019"

HOLD_THE_LOCK = f"""
import sys, time
from pathlib import Path
from orchestration.core.run_lock import WarehouseLock
WarehouseLock(Path(sys.argv[1]), "`make run`", run_id="{RUN_ID}").acquire()
print("held", flush=True)
time.sleep(120)
"""

HOLD_THE_BUILD_FILE = """
import sys, time
import duckdb
conn = duckdb.connect(sys.argv[1])
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


# --- the build file: held open, broken ------------------------------------------------------------


def test_the_build_file_is_classified_in_a_moment(tmp_path):
    good = tmp_path / "good.duckdb"
    with duckdb.connect(str(good)) as conn:
        conn.execute("create table t as select range as i from range(200000)")
    data = good.read_bytes()
    cases = {
        "garbage.duckdb": os.urandom(50_000),
        "text.duckdb": b"not a database\n" * 100,
        "empty.duckdb": b"",
        "truncated.duckdb": data[: len(data) // 2],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        problem = inspect_build_file(tmp_path / name)
        assert problem is not None and problem.kind == BROKEN, (name, problem)
    assert inspect_build_file(good) is None and inspect_build_file(tmp_path / "absent.duckdb") is None
    with holding(HOLD_THE_BUILD_FILE, good) as other:
        problem = inspect_build_file(good)
    assert problem.kind == LOCKED and problem.pid == other.pid
    assert problem.locked_sentence().startswith(f"{good} is open in another program (PID {other.pid}: ")
    fixture = Path(__file__).parent / "fixtures" / "duckdb" / "written_by_duckdb_2.0.1.duckdb.gz"
    import gzip

    (tmp_path / "newer.duckdb").write_bytes(gzip.decompress(fixture.read_bytes()))
    assert inspect_build_file(tmp_path / "newer.duckdb").kind == NEWER


def test_moving_aside_keeps_the_file_and_its_log(tmp_path):
    build = tmp_path / "build.duckdb"
    build.write_bytes(b"junk")
    (tmp_path / "build.duckdb.wal").write_bytes(b"wal")
    aside = move_aside(build)
    assert re.fullmatch(r"build\.duckdb\.broken-\d{8}T\d{6}Z", aside.name)
    assert aside.read_bytes() == b"junk" and Path(f"{aside}.wal").read_bytes() == b"wal"
    assert not build.exists() and not (tmp_path / "build.duckdb.wal").exists()


def test_a_build_file_held_open_elsewhere_is_named_within_seconds(warehouse, capsys):
    build = warehouse / "build.duckdb"
    before = untouched(warehouse)
    with holding(HOLD_THE_BUILD_FILE, build) as other:
        code, out, err, seconds = main(warehouse, capsys)
        # a step that meets the lock later says so within seconds too, not after dagster-duckdb's ~100 s
        started = time.monotonic()
        with pytest.raises(dg.Failure, match=f"PID {other.pid}"):
            with BuildDuckDBResource(database=str(build)).get_connection():
                pass
        assert time.monotonic() - started < 5
    assert code == EXIT_BUSY and out == "" and seconds < 5
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"Cannot run: {build} is open in another program (PID {other.pid}: ")
    assert "close that connection" in err
    assert untouched(warehouse) == before


def test_a_broken_build_file_stops_a_months_run_with_the_command_that_rebuilds(warehouse, capsys):
    build = warehouse / "build.duckdb"
    build.write_bytes(os.urandom(100_000))
    before = untouched(warehouse)
    code, out, err, seconds = main(warehouse, capsys, months="2024-06")
    assert code == 1 and out == "" and seconds < 5
    assert err.splitlines() == [
        f'Cannot run: {build} is not a readable DuckDB file (The file "{build}" exists, but it is not a valid '
        "DuckDB database file!); the build holds only what runs rebuild from the source, so rebuild it whole: "
        f"`WAREHOUSE_DIR={warehouse} make run` (without MONTHS) moves it aside, kept, and reloads every month"
    ]
    assert untouched(warehouse) == before  # not moved: the command does it


def test_the_rebuild_command_quotes_what_the_shell_would_split():
    settings = Settings(warehouse_dir=Path("/data/my wh's"), source="csv", csv_dir=Path("/data/exports"))
    assert run.rebuild_command(settings) == (
        "WAREHOUSE_DIR='/data/my wh'\"'\"'s' WAREHOUSE_SOURCE=csv WAREHOUSE_CSV_DIR=/data/exports make run"
    )
    assert run.rebuild_command(Settings(warehouse_dir=REPO_ROOT / "warehouse", source="demo")) == "make run"


def test_a_broken_build_file_is_moved_aside_and_rebuilt_by_a_full_run(warehouse, capsys):
    """A truncated copy: the run keeps it beside the new build, says so in one line, and publishes."""
    build = warehouse / "build.duckdb"
    data = build.read_bytes()
    build.write_bytes(data[: len(data) * 3 // 4])
    broken = sha256(build)
    published = sha256(warehouse / "published.duckdb")
    code, out, err, _ = main(warehouse, capsys)
    assert code == 0, err[-3000:]
    lines = out.splitlines()
    moved = re.fullmatch(
        rf"{re.escape(str(build))} is not a readable DuckDB file \(Could not read enough bytes from file .*\): "
        rf"moved it to (?P<aside>{re.escape(str(build))}\.broken-\d{{8}}T\d{{6}}Z) and rebuilding "
        rf"{re.escape(str(build))} from the demo source",
        lines[0],
    )
    assert moved, lines[:2]
    assert lines[1].startswith(f"Building {build} from the demo source, every month")
    assert sha256(Path(moved["aside"])) == broken
    assert inspect_build_file(build) is None
    assert sha256(warehouse / "published.duckdb") != published  # a new publication
    log = re.search(r"^Full log: (\S+) ", out, re.MULTILINE)
    assert "moved it to" in Path(log[1]).read_text()


# --- a full disk during the publish -------------------------------------------------------------------


def make_build(path: Path) -> Path:
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.mart_monthly_note as select cast(m as date) as month, 1.0 as btc_price_avg_usd "
            "from generate_series(date '2024-01-01', date '2024-03-01', interval 1 month) t(m)"
        )
    return path


def no_space_in_exports(conn, schema, folder, publication_id):
    folder.mkdir(parents=True)
    (folder / "mart_monthly_note.parquet").write_bytes(b"half")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "mart_monthly_note.parquet"))


def no_space_in_duckdb(folder, expected):
    raise duckdb.IOException(f'IO Error: Could not write file "{folder}/published.duckdb.wal": No space left on device')


@pytest.mark.parametrize("failure", [("write_exports", no_space_in_exports), ("_verify", no_space_in_duckdb)])
def test_a_full_disk_during_a_publish_is_one_sentence_and_leaves_nothing_behind(failure, tmp_path, monkeypatch):
    build = make_build(tmp_path / "build.duckdb")
    published = tmp_path / "published.duckdb"
    publish(build, published, run_id="first", source="test", is_synthetic=True, gate_result="passed")
    before = sha256(published), sorted(p.name for p in (tmp_path / "publications").iterdir())
    monkeypatch.setattr(publication, *failure)
    with pytest.raises(PublishError) as raised:
        publish(build, published, run_id="second", source="test", is_synthetic=True, gate_result="passed")
    message = str(raised.value)
    assert "\n" not in message
    assert re.match(rf"no space left on {re.escape(str(tmp_path / 'publications'))} \([\d,]+ MB free\): ", message)
    assert "No space left on device" in message  # the error underneath, once
    assert (sha256(published), sorted(p.name for p in (tmp_path / "publications").iterdir())) == before
    assert not [p for p in tmp_path.rglob(".*") if p.name.endswith((".tmp", ".link", ".wal"))]


def test_sqlites_disk_io_error_counts_as_a_full_disk_only_when_the_disk_is_nearly_full(tmp_path, monkeypatch):
    error = RuntimeError("(sqlite3.OperationalError) disk I/O error")
    assert publication.is_no_space(OSError(errno.ENOSPC, "No space left on device"))
    assert not publication.is_no_space(error, tmp_path)
    monkeypatch.setattr(publication, "_free", lambda folder: 10e6)
    assert publication.is_no_space(error, tmp_path)
    assert publication.no_space_sentence(tmp_path) == f"no space left on {tmp_path} (10 MB free)"


def test_a_full_disk_during_a_runs_publish_names_the_folder_and_keeps_the_publication(warehouse, capsys, monkeypatch):
    """Through `make run MONTHS=...`: the step's line, one reason, the traceback only in the log."""
    before = sha256(warehouse / "published.duckdb"), os.readlink(warehouse / "publications" / "current")
    monkeypatch.setattr(publication, "write_exports", no_space_in_exports)
    code, out, err, _ = main(warehouse, capsys, months="2024-06")
    assert code == 1
    assert re.search(r"^\[\s*\d+/\d+\] publish: FAILED  \d+\.\d s$", out, re.MULTILINE), out
    lines = err.strip().splitlines()
    assert lines[0] == "RUN FAILED - nothing was published; the published file is unchanged."
    step = [line for line in lines if line.startswith("- step ")]
    assert len(step) == 1 and re.fullmatch(
        rf"- step published_warehouse failed: no space left on {re.escape(str(warehouse / 'publications'))} "
        r"\([\d,]+ MB free\): the new publication was not written and its temporary files are removed, readers keep "
        r"the current one; free some space and run again \(\[Errno 28\] No space left on device: '.*'\)",
        step[0],
    ), step
    assert lines[-1].startswith("The full log: "), err
    assert "Traceback" not in out + err
    log = Path(re.search(r"^The full log: (\S+) ", err, re.MULTILINE)[1]).read_text()
    assert "Traceback" in log or "Stack Trace" in log or 'File "' in log
    assert (sha256(warehouse / "published.duckdb"), os.readlink(warehouse / "publications" / "current")) == before
    assert not list((warehouse / "publications").glob(".*"))


def test_an_error_outside_the_steps_is_one_line_with_the_traceback_in_the_log(warehouse, capsys, monkeypatch):
    """E.g. Dagster's own storage on a full disk: no Python traceback on the terminal."""
    before = sha256(warehouse / "published.duckdb")

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(warehouse / "dagster_home" / "runs.db"))

    monkeypatch.setattr(run, "_run", fail)
    code, out, err, _ = main(warehouse, capsys)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert re.fullmatch(
        rf"RUN FAILED: no space left on {re.escape(str(warehouse))} \([\d,]+ MB free\); nothing was published; "
        "the published file is unchanged.",
        lines[0],
    ), lines
    assert lines[1].startswith("The full log: ") and len(lines) == 2
    log = Path(re.search(r"^The full log: (\S+) ", err, re.MULTILINE)[1]).read_text()
    assert "Traceback (most recent call last)" in log and "OSError: [Errno 28]" in log
    assert sha256(warehouse / "published.duckdb") == before


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


# --- folders that cannot be written --------------------------------------------------------------


@contextlib.contextmanager
def immutable(path: Path):
    """`path` made immutable (chattr +i): no file can be created, renamed or deleted in it, even by
    root, which CI is (a chmod would not stop root). Undone afterwards, so the test's folder can be
    removed."""
    subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)


def test_a_warehouse_folder_that_cannot_be_written_is_one_sentence_before_anything_starts(tmp_path, capsys):
    folder = tmp_path / "read-only warehouse"
    folder.mkdir()
    with immutable(folder):
        code, out, err, _ = main(folder, capsys)
    assert code == 2 and out == ""
    assert err == (
        f"Cannot run: cannot write to {folder} (operation not permitted): make it writable (chmod u+w; "
        "chattr -i if it is immutable; remount a read-only disk) or set WAREHOUSE_DIR to a folder you can write to\n"
    )
    assert list(folder.iterdir()) == []


def test_a_publications_folder_that_cannot_be_written_is_refused_before_the_run(warehouse, capsys):
    before = untouched(warehouse)
    with immutable(warehouse / "publications"):
        code, _, err, _ = main(warehouse, capsys, months="2024-06")
    assert code == 2 and err.startswith(f"Cannot run: cannot write to {warehouse / 'publications'} (operation")
    assert untouched(warehouse) == before


def test_a_publish_into_a_folder_that_cannot_be_written_names_it_and_keeps_the_publication(tmp_path):
    """The same sentence from the publish step itself (a folder made read-only while the run built)."""
    build = make_build(tmp_path / "build.duckdb")
    published = tmp_path / "published.duckdb"
    publish(build, published, run_id="first", source="test", is_synthetic=True, gate_result="passed")
    before = sha256(published), sorted(p.name for p in (tmp_path / "publications").iterdir())
    with immutable(tmp_path / "publications"), pytest.raises(PublishError) as raised:
        publish(build, published, run_id="second", source="test", is_synthetic=True, gate_result="passed")
    assert str(raised.value) == (
        f"cannot write to {tmp_path / 'publications'} (operation not permitted): make it writable (chmod u+w; "
        "chattr -i if it is immutable; remount a read-only disk) or set WAREHOUSE_DIR to a folder you can write "
        "to; nothing was written, readers keep the current publication"
    )
    assert (sha256(published), sorted(p.name for p in (tmp_path / "publications").iterdir())) == before
