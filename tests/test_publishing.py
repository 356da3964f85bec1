"""Atomic publication: the old file or the new one, never a mix; readers keep their view."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.publishing import PublishError, publish


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


@pytest.fixture
def warehouse(tmp_path):
    build = make_build(tmp_path / "build.duckdb", months=3, price=100.0)
    published = tmp_path / "published.duckdb"
    publish(build, published, run_id="run-1", source="test", is_synthetic=True, gate_result="passed")
    return tmp_path, build, published


def test_publish_copies_marts_with_comments_and_logs(warehouse):
    _, _, published = warehouse
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select count(*) from mart_monthly_note").fetchone()[0] == 3
        assert conn.execute(
            "select comment from duckdb_columns() where table_name = 'mart_monthly_note' and column_name = 'btc_price_avg_usd'"
        ).fetchone()[0] == "Mean daily price, USD."
        run_id, first, last, counts = conn.execute(
            "select run_id, first_month, last_month, row_counts from publication_log"
        ).fetchone()
    assert (run_id, str(first), str(last)) == ("run-1", "2024-01-01", "2024-03-01")
    assert json.loads(counts) == {"mart_monthly_note": 3}


def test_second_publication_replaces_tables_and_keeps_the_log(warehouse):
    tmp_path, build, published = warehouse
    reader = duckdb.connect(str(published), read_only=True)  # e.g. a BI tool holding the file open
    make_build(tmp_path / "build2.duckdb", months=5, price=200.0)
    publish(tmp_path / "build2.duckdb", published, run_id="run-2", source="test", is_synthetic=True, gate_result="passed")
    assert reader.execute("select count(*), max(btc_price_avg_usd) from mart_monthly_note").fetchone() == (3, 100.0)
    reader.close()
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select count(*), max(btc_price_avg_usd) from mart_monthly_note").fetchone() == (5, 200.0)
        assert [r[0] for r in conn.execute("select run_id from publication_log order by published_at").fetchall()] == ["run-1", "run-2"]
    assert not list(tmp_path.glob(".published.duckdb.*.tmp"))


def test_failure_before_rename_leaves_the_old_file_byte_for_byte(warehouse):
    tmp_path, build, published = warehouse
    before = sha256(published)

    def crash(_tmp):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        publish(build, published, run_id="run-2", source="test", is_synthetic=True, gate_result="passed", before_rename=crash)
    assert sha256(published) == before
    assert not list(tmp_path.glob(".published.duckdb.*.tmp"))


def test_nothing_to_publish_is_an_error(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(PublishError, match="has no tables in schema marts"):
        publish(empty, tmp_path / "published.duckdb", run_id="r", source="t", is_synthetic=False, gate_result="passed")
    assert not (tmp_path / "published.duckdb").exists()


KILL_MID_PUBLISH = """
import os, signal, sys
from pathlib import Path
from orchestration.publishing import publish
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
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
    )
    assert done.returncode == -9, done.stderr
    assert list(tmp_path.glob(".published.duckdb.*.tmp")), "the kill landed after the temporary file was written"
    assert sha256(published) == before
    assert reader.execute("select count(*), max(btc_price_avg_usd) from mart_monthly_note").fetchone() == (3, 100.0)
    reader.close()
    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("select run_id from publication_log").fetchall() == [("run-1",)]
    # The next publication clears the orphan and succeeds.
    publish(new_build, published, run_id="run-3", source="test", is_synthetic=True, gate_result="passed")
    assert not list(tmp_path.glob(".published.duckdb.*.tmp"))


def test_a_publication_with_fewer_months_says_which_months_readers_lost(warehouse):
    tmp_path, _, published = warehouse  # 2024-01 .. 2024-03
    longer = publish(make_build(tmp_path / "b5.duckdb", months=5, price=1.0), published,
                     run_id="run-2", source="test", is_synthetic=True, gate_result="passed")
    assert (longer.previous_first_month, longer.previous_last_month) == ("2024-01-01", "2024-03-01")
    assert longer.lost_months() is None  # grew: 2024-01 .. 2024-05
    shorter = publish(make_build(tmp_path / "b2.duckdb", months=2, price=1.0), published,
                      run_id="run-3", source="test", is_synthetic=True, gate_result="passed")
    assert shorter.lost_months() == "2024-03 .. 2024-05"


def test_the_first_publication_has_nothing_to_compare(tmp_path):
    first = publish(make_build(tmp_path / "b.duckdb", months=2, price=1.0), tmp_path / "p.duckdb",
                    run_id="run-1", source="test", is_synthetic=True, gate_result="passed")
    assert (first.previous_first_month, first.lost_months()) == (None, None)


def test_months_lost_at_both_ends_across_a_year_boundary(tmp_path):
    from orchestration.publishing import Publication

    publication = Publication(tmp_path, None, {}, "2024-02-01", "2024-11-01", "2023-12-01", "2025-01-01")
    assert publication.lost_months() == "2023-12 .. 2024-01; 2024-12 .. 2025-01"
