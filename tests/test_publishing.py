"""Atomic publication: the old file or the new one, never a mix; readers keep their view."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.publish.publication import PublishError, ShrinkRefused, publish


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_build(path: Path, months: int, price: float) -> Path:
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.mart_monthly_note as select cast(m as date) as month, ? as btc_price_avg_usd "
            "from generate_series(date '2024-01-01', date '2024-01-01' + to_months(? - 1), interval 1 month) t(m)",
            [price, months],
        )
        conn.execute("comment on table marts.mart_monthly_note is 'One row per month.'")
        conn.execute("comment on column marts.mart_monthly_note.btc_price_avg_usd is 'Mean daily price, USD.'")
    return path


def publish_as(build: Path, published: Path, run_id: str, **hooks):
    """publish() as the tests here call it: a synthetic test source whose gate passed."""
    return publish(build, published, run_id=run_id, source="test", is_synthetic=True, gate_result="passed", **hooks)


@pytest.fixture
def warehouse(tmp_path):
    build = make_build(tmp_path / "build.duckdb", months=3, price=100.0)
    published = tmp_path / "published.duckdb"
    publish_as(build, published, "run-1")
    return tmp_path, build, published


def test_publish_copies_marts_with_comments_and_logs(warehouse):
    _, _, published = warehouse
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select count(*) from mart_monthly_note").fetchone()[0] == 3
        assert (
            conn.execute(
                "select comment from duckdb_columns() where table_name = 'mart_monthly_note' and column_name = "
                "'btc_price_avg_usd'"
            ).fetchone()[0]
            == "Mean daily price, USD."
        )
        run_id, first, last, counts = conn.execute(
            "select run_id, first_month, last_month, row_counts from publication_log"
        ).fetchone()
    assert (run_id, str(first), str(last)) == ("run-1", "2024-01-01", "2024-03-01")
    assert json.loads(counts) == {"mart_monthly_note": 3}


def test_second_publication_replaces_tables_and_keeps_the_log(warehouse):
    tmp_path, build, published = warehouse
    reader = duckdb.connect(str(published), read_only=True)  # e.g. a BI tool holding the file open
    make_build(tmp_path / "build2.duckdb", months=5, price=200.0)
    publish_as(tmp_path / "build2.duckdb", published, "run-2")
    assert reader.execute("select count(*), max(btc_price_avg_usd) from mart_monthly_note").fetchone() == (3, 100.0)
    reader.close()
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select count(*), max(btc_price_avg_usd) from mart_monthly_note").fetchone() == (5, 200.0)
        assert [r[0] for r in conn.execute("select run_id from publication_log order by published_at").fetchall()] == [
            "run-1",
            "run-2",
        ]
    assert not list((tmp_path / "publications").glob(".*.tmp"))


def test_failure_before_rename_leaves_the_old_file_byte_for_byte(warehouse):
    tmp_path, build, published = warehouse
    before = sha256(published)

    def crash(_tmp):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        publish_as(build, published, "run-2", before_rename=crash)
    assert sha256(published) == before
    assert not list((tmp_path / "publications").glob(".*.tmp"))
    assert len(list((tmp_path / "publications").glob("2*"))) == 1


def test_nothing_to_publish_is_an_error(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(PublishError, match="has no tables in schema marts"):
        publish(empty, tmp_path / "published.duckdb", run_id="r", source="t", is_synthetic=False, gate_result="passed")
    assert not (tmp_path / "published.duckdb").exists()
    assert not (tmp_path / "exports").exists()
    assert not list((tmp_path / "publications").iterdir())


KILL_MID_PUBLISH = """
import os, signal, sys
from pathlib import Path
from orchestration.publish.publication import publish
publish(Path(sys.argv[1]), Path(sys.argv[2]), run_id="killed", source="test", is_synthetic=True, gate_result="passed",
        before_rename=lambda tmp: os.kill(os.getpid(), signal.SIGKILL))
"""


def test_process_killed_between_temp_file_and_rename(warehouse):
    """SIGKILL at the worst moment: the new file is fully written under its temporary name."""
    tmp_path, _, published = warehouse
    new_build = make_build(tmp_path / "build2.duckdb", months=7, price=300.0)
    before = sha256(published)
    reader = duckdb.connect(str(published), read_only=True)
    done = subprocess.run(
        [sys.executable, "-c", KILL_MID_PUBLISH, str(new_build), str(published)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == -9, done.stderr
    assert list((tmp_path / "publications").glob(".*.tmp/exports/miner_note.xlsx")), (
        "the kill landed after the new publication was written whole"
    )
    assert sha256(published) == before
    assert reader.execute("select count(*), max(btc_price_avg_usd) from mart_monthly_note").fetchone() == (3, 100.0)
    reader.close()
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select run_id from publication_log").fetchall() == [("run-1",)]
    # The next publication clears the orphan and succeeds.
    publish_as(new_build, published, "run-3")
    assert not list((tmp_path / "publications").glob(".*.tmp"))


def test_a_publication_with_fewer_months_is_refused_unless_allowed(warehouse):
    tmp_path, _, published = warehouse  # 2024-01 .. 2024-03
    longer = publish_as(make_build(tmp_path / "b5.duckdb", months=5, price=1.0), published, "run-2")
    assert (longer.previous_first_month, longer.previous_last_month) == ("2024-01-01", "2024-03-01")
    assert longer.lost_months() is None  # grew: 2024-01 .. 2024-05
    before = sha256(published)
    shorter = make_build(tmp_path / "b2.duckdb", months=2, price=1.0)
    with pytest.raises(ShrinkRefused) as refused:
        publish_as(shorter, published, "run-3")
    assert str(refused.value) == (
        "not published: readers would lose the months 2024-03 .. 2024-05 (readers have 2024-01 .. 2024-05), which "
        "the current publication has; a source with less history than the last publication, e.g. a truncated "
        "export? Readers keep the current publication. To publish the shorter history anyway: WAREHOUSE_ALLOW_SHRINK=1"
    )
    assert sha256(published) == before
    assert not list((tmp_path / "publications").glob(".*.tmp"))
    allowed = publish_as(shorter, published, "run-4", allow_shrink=True)
    assert allowed.lost_months() == "2024-03 .. 2024-05"


def make_members_build(path: Path, tickers: dict[str, list[str]]) -> Path:
    """A build whose mart_miner_monthly has a row per member and month: {month: [tickers]}."""
    make_build(path, months=len(tickers), price=1.0)
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "create table marts.mart_miner_monthly (month date, ticker varchar, is_member boolean, "
            "is_partial_month boolean)"
        )
        last = max(tickers)
        for month, members in tickers.items():
            for ticker in members:
                conn.execute(
                    "insert into marts.mart_miner_monthly values (?, ?, true, ?)", [month, ticker, month == last]
                )
    return path


def test_a_publication_that_drops_members_of_the_latest_complete_month_is_refused(tmp_path):
    published = tmp_path / "published.duckdb"
    full = {"2024-01-01": ["CLSK", "MARA", "RIOT"], "2024-02-01": ["CLSK", "MARA", "RIOT"], "2024-03-01": ["MARA"]}
    publish_as(make_members_build(tmp_path / "b1.duckdb", full), published, "run-1")
    before = sha256(published)
    cut = {**full, "2024-02-01": ["MARA"]}  # 2024-02 is the latest complete month (2024-03 is partial)
    with pytest.raises(ShrinkRefused, match=r"readers would lose the members CLSK, RIOT in 2024-02, which") as refused:
        publish_as(make_members_build(tmp_path / "b2.duckdb", cut), published, "run-2")
    assert "the months" not in str(refused.value) and "WAREHOUSE_ALLOW_SHRINK=1" in str(refused.value)
    assert sha256(published) == before
    allowed = publish_as(make_members_build(tmp_path / "b3.duckdb", cut), published, "run-3", allow_shrink=True)
    assert (allowed.lost_members, allowed.lost_months()) == ("CLSK, RIOT in 2024-02", None)
    # a member that joins, or one that leaves in a later month, is not a loss
    grown = {**full, "2024-02-01": ["CLSK", "MARA", "RIOT", "IREN"], "2024-03-01": ["IREN"]}
    assert publish_as(make_members_build(tmp_path / "b4.duckdb", grown), published, "run-4").lost_members is None


def test_the_first_publication_has_nothing_to_compare(tmp_path):
    first = publish_as(make_build(tmp_path / "b.duckdb", months=2, price=1.0), tmp_path / "p.duckdb", "run-1")
    assert (first.previous_first_month, first.lost_months()) == (None, None)


def test_months_lost_at_both_ends_across_a_year_boundary(tmp_path):
    from orchestration.publish.publication import Publication

    publication = Publication(tmp_path, None, {}, "2024-02-01", "2024-11-01", "2023-12-01", "2025-01-01")
    assert publication.lost_months() == "2023-12 .. 2024-01; 2024-12 .. 2025-01"


def test_the_file_records_its_storage_version_and_writer(warehouse):
    _, _, published = warehouse
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select storage_version, writer_duckdb_version from publication_log").fetchone() == (
            "v1.0.0",
            duckdb.__version__,
        )
        # DuckDB's own view of the file, not only what we wrote into the log: "v1.0.0 and later"
        assert (
            conn.execute(
                "select tags['storage_version'] from duckdb_databases() where not internal "
                "and database_name = current_database()"
            ).fetchone()[0]
            == "v1.0.0+"
        )


def _current(tmp_path: Path) -> Path:
    return (tmp_path / "publications" / "current").resolve()


def test_the_duckdb_file_and_the_exports_switch_together(warehouse):
    """Both reader paths go through one link: after each publication they name the same folder,
    and the Parquet files carry that publication's id."""
    import pyarrow.parquet as pq

    tmp_path, _, published = warehouse
    first = _current(tmp_path)
    held_exports = (tmp_path / "exports").resolve()  # a reader that resolved the exports before the switch
    second = publish_as(make_build(tmp_path / "b2.duckdb", months=5, price=2.0), published, "run-2")
    assert published.resolve().parent == (tmp_path / "exports").resolve().parent == _current(tmp_path) != first
    assert _current(tmp_path).name == second.publication_id
    metadata = pq.read_metadata(tmp_path / "exports" / "mart_monthly_note.parquet").metadata
    assert metadata[b"publication_id"] == second.publication_id.encode()
    assert pq.read_table(tmp_path / "exports" / "mart_monthly_note.parquet").num_rows == 5
    assert pq.read_table(held_exports / "mart_monthly_note.parquet").num_rows == 3  # the old set, whole
    with duckdb.connect(str(published), read_only=True) as conn:
        assert (
            conn.execute("select publication_id from publication_log order by published_at desc limit 1").fetchone()[0]
            == second.publication_id
        )


def test_two_publications_before_the_current_are_kept(warehouse):
    tmp_path, build, published = warehouse
    ids = [publish_as(build, published, f"run-{n}").publication_id for n in range(2, 6)]
    assert sorted(p.name for p in (tmp_path / "publications").glob("2*")) == ids[-3:]
    with duckdb.connect(str(published), read_only=True) as conn:  # the log keeps every publication
        assert conn.execute("select count(*) from publication_log").fetchone()[0] == 5


def test_a_published_file_from_before_the_folders_is_carried_then_replaced(tmp_path):
    """A regular published.duckdb (the layout before publication folders) whose log lacks the new
    columns: its rows are carried with null there, and the link takes its place."""
    published = tmp_path / "published.duckdb"
    with duckdb.connect(str(published)) as conn:
        conn.execute(
            "create table publication_log (published_at timestamp, run_id varchar, source varchar, "
            "is_synthetic boolean, first_month date, last_month date, row_counts json, gate_result varchar)"
        )
        conn.execute(
            "insert into publication_log values ('2026-11-01 00:00', 'old', 'demo', true, "
            "'2024-01-01', '2024-02-01', '{}', 'passed')"
        )
    result = publish_as(make_build(tmp_path / "b.duckdb", months=3, price=1.0), published, "new")
    assert published.is_symlink() and result.notices == ()
    assert result.previous_last_month == "2024-02-01"
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select run_id, storage_version from publication_log order by published_at").fetchall() == [
            ("old", None),
            ("new", "v1.0.0"),
        ]


def test_a_previous_file_this_duckdb_cannot_read_is_kept_and_said(tmp_path):
    """E.g. a file written by DuckDB 2.x: its log cannot be carried; the file is kept, not lost."""
    published = tmp_path / "published.duckdb"
    published.write_bytes(b"\0" * 8 + b"DUCK" + b"\xe7\x03" + b"\0" * 4082)  # a header no 1.x release reads
    result = publish_as(make_build(tmp_path / "b.duckdb", months=3, price=1.0), published, "new")
    (notice,) = result.notices
    assert "publication_log was not carried over" in notice and "legacy-" in notice
    (kept,) = (tmp_path / "publications").glob("legacy-*-published.duckdb")
    assert kept.read_bytes()[8:12] == b"DUCK"
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select run_id from publication_log").fetchall() == [("new",)]


HOLD_READ_WRITE = """
import sys, time
import duckdb
conn = duckdb.connect(sys.argv[1])  # read-write: DuckDB's default, and what many SQL clients do
print(conn.execute("select count(*) from mart_monthly_note").fetchone()[0], flush=True)
sys.stdin.readline()
print(conn.execute("select count(*) from mart_monthly_note").fetchone()[0], flush=True)
"""


def test_a_reader_holding_the_file_read_write_does_not_block_publication(warehouse):
    """Such a reader holds DuckDB's lock on the file; publishing needs nothing of that file."""
    tmp_path, _, published = warehouse
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_WRITE, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "3"
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(published), read_only=True)  # the lock is real
        result = publish_as(make_build(tmp_path / "b5.duckdb", months=5, price=1.0), published, "run-2")
        assert result.previous_last_month == "2024-03-01"  # the log was carried all the same
        out, _ = reader.communicate("\n", timeout=60)
        assert out.strip() == "3"  # the reader keeps its publication until it reconnects
    finally:
        reader.kill()
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select count(*) from mart_monthly_note").fetchone()[0] == 5
        assert conn.execute("select run_id from publication_log order by published_at").fetchall() == [
            ("run-1",),
            ("run-2",),
        ]


def test_a_copy_of_the_warehouse_that_followed_the_links_publishes(warehouse):
    """`cp -r` or a restored backup turns the links into folders and a file: the next publication
    puts the links back and carries the log."""
    import shutil

    tmp_path, build, _ = warehouse
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, symlinks=False, ignore=shutil.ignore_patterns("copy"))
    assert not (copy / "published.duckdb").is_symlink() and (copy / "publications" / "current").is_dir()
    publish_as(build, copy / "published.duckdb", "run-2")
    assert all((copy / p).is_symlink() for p in ("published.duckdb", "exports", "publications/current"))
    with duckdb.connect(str(copy / "published.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from publication_log").fetchone()[0] == 2
    assert not list((copy / "publications").glob(".*"))


def test_a_folder_of_someone_elses_files_where_the_exports_link_goes_is_left_alone(warehouse):
    tmp_path, build, published = warehouse
    (tmp_path / "exports").unlink()
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "my_notes.txt").write_text("mine")
    with pytest.raises(PublishError, match="exports is a folder with files of its own"):
        publish_as(build, published, "run-2")
    assert (tmp_path / "exports" / "my_notes.txt").read_text() == "mine"
    with duckdb.connect(str(published), read_only=True) as conn:  # the publication did not switch
        assert conn.execute("select run_id from publication_log").fetchall() == [("run-1",)]
    assert len(list((tmp_path / "publications").glob("2*"))) == 1
