"""The benchmark's own logic (not its timings): the mart comparison catches what it must."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.compare import compare_marts, compare_table
from bench.run import parse_scales, refresh_partition


@pytest.fixture
def conn():
    conn = duckdb.connect()
    for schema in ("expected", "actual"):
        conn.execute(f"create schema {schema}")
        conn.execute(
            f"create table {schema}.t (month date, ticker varchar, cap double, btc decimal(20, 8), n bigint, "
            "ok boolean)"
        )
        conn.execute(
            f"insert into {schema}.t values "
            "('2024-01-01', 'MARA', 1e9, 1.00000001, 3, true), "
            "('2024-01-01', 'RIOT', null, 2.5, null, false), "
            "('2024-02-01', 'MARA', 0.0, 0, 1, null)"
        )
    yield conn
    conn.close()


def check(conn) -> list:
    return compare_table(conn, "expected.t", "actual.t", ("month", "ticker"))


def test_identical_tables_have_no_mismatch(conn):
    assert check(conn) == []


def test_floats_within_the_relative_tolerance_match(conn):
    conn.execute("update actual.t set cap = cap * (1 + 1e-12) where ticker = 'MARA'")
    assert check(conn) == []


def test_each_kind_of_difference_is_reported(conn):
    conn.execute("update actual.t set cap = cap * (1 + 1e-6) where month = '2024-01-01' and ticker = 'MARA'")
    conn.execute("update actual.t set btc = 1.00000002 where ticker = 'MARA' and month = '2024-01-01'")
    conn.execute("update actual.t set n = 7 where ticker = 'RIOT'")  # null -> value
    conn.execute("update actual.t set ok = true where month = '2024-02-01'")  # null -> value
    conn.execute("insert into actual.t values ('2024-03-01', 'MARA', 1, 1, 1, true)")
    found = {(m.column, m.kind): m for m in check(conn)}
    assert set(found) == {
        ("cap", "values"),
        ("btc", "values"),
        ("n", "values"),
        ("ok", "values"),
        (None, "missing_keys"),
    }
    assert found[("cap", "values")].count == 1
    assert "2024-01-01, MARA" in found[("cap", "values")].example
    assert "only on the right" in found[(None, "missing_keys")].example


def test_columns_types_and_duplicate_keys_are_checked(conn):
    conn.execute("alter table actual.t alter n type integer")
    conn.execute("insert into actual.t select * from actual.t where ticker = 'RIOT'")
    kinds = {(m.column, m.kind) for m in check(conn)}
    assert ("n", "types") in kinds and (None, "duplicate_keys") in kinds
    conn.execute("alter table actual.t drop column ok")
    assert [m.kind for m in check(conn)] == ["columns"]


def test_compare_marts_covers_the_five_published_marts():
    conn = duckdb.connect()
    for schema in ("a", "b"):
        conn.execute(f"create schema {schema}")
        for table in ("mart_chain_monthly", "mart_monthly_note", "mart_valuation_history"):
            conn.execute(f"create table {schema}.{table} as select date '2024-01-01' as month, 1.5 as x")
        for table in ("mart_miner_monthly", "mart_miner_operations_monthly"):
            conn.execute(
                f"create table {schema}.{table} as select date '2024-01-01' as month, 'MARA' as ticker, 2.0 as y"
            )
    conn.execute("update b.mart_valuation_history set x = 2")
    conn.execute("update b.mart_miner_operations_monthly set y = 3")
    mismatches, rows = compare_marts(conn, "a", "b")
    assert rows == dict.fromkeys(
        (
            "mart_chain_monthly",
            "mart_miner_monthly",
            "mart_miner_operations_monthly",
            "mart_monthly_note",
            "mart_valuation_history",
        ),
        1,
    )
    assert sorted((m.table, m.column) for m in mismatches) == [
        ("mart_miner_operations_monthly", "y"),
        ("mart_valuation_history", "x"),
    ]


def test_scales_parse_and_are_bounded():
    assert [s.label for s in parse_scales("14x7, 200x20,1000X20")] == ["14x7", "200x20", "1000x20"]
    for bad in ("13x7", "1001x20", "200x21", "200", ""):
        with pytest.raises(SystemExit):
            parse_scales(bad)


def test_refresh_month_is_a_partition(tmp_path):
    db = tmp_path / "published.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("create table mart_monthly_note as select date '2038-12-01' as month")
    assert refresh_partition(db, today=date(2026, 11, 25)) == "2026-11-01"
    with duckdb.connect(str(db)) as conn:
        conn.execute("update mart_monthly_note set month = date '2025-06-01'")
    assert refresh_partition(db, today=date(2026, 11, 25)) == "2025-06-01"


def baseline_mismatches(build_db: Path, marts_db: Path, marts_schema: str, work_db: Path) -> tuple[list[str], dict]:
    """Run bench/baseline.sql on the raw tables of `build_db` (as `make bench` does) and compare
    its marts with those in `marts_db`.`marts_schema`: the mismatches described, the row counts."""
    from bench.baseline import SQL, prepare, run_once

    assert "marts" in prepare(build_db, work_db)
    run_once(work_db, SQL.read_text())
    with duckdb.connect() as conn:
        conn.execute(f"attach '{marts_db}' as pipeline (read_only)")
        conn.execute(f"attach '{work_db}' as base (read_only)")
        mismatches, rows = compare_marts(conn, f"pipeline.{marts_schema}", "base.marts")
    return [m.describe() for m in mismatches], rows


def test_baseline_reproduces_the_published_marts_of_the_demo(demo_run, tmp_path):
    """`bench/baseline.sql` is the benchmark's "limit" only while it computes the same numbers as
    the models: run it on the demo's raw tables and compare it with what the pipeline published,
    so a change to a definition that misses the baseline fails here, not first in `make bench`."""
    code, settings, _ = demo_run
    assert code == 0
    mismatches, rows = baseline_mismatches(
        settings.build_db, settings.published_db, "main", tmp_path / "baseline.duckdb"
    )
    assert mismatches == []
    assert rows["mart_miner_monthly"] > 500 and rows["mart_monthly_note"] > 60


def test_baseline_matches_dbt_when_the_data_ends_mid_month(demo_run, tmp_path):
    """The same comparison on equity data that stops on 2025-02-14 while the chain data covers
    February: a month partial on the equity side only, which the demo lacks (no returns, no cap
    changes, kept out of the gauges' history; bitcoin's changes stay)."""
    import os
    import shutil
    import subprocess
    import sys

    from orchestration.transform.assets import dbt_build_args
    from orchestration.transform.project import DBT_DIR

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    build_db = warehouse / "build.duckdb"
    shutil.copyfile(demo_run[1].build_db, build_db)
    with duckdb.connect(str(build_db)) as conn:
        conn.execute("delete from raw.equity_prices where date > '2025-02-14'")
        conn.execute("delete from raw.btc_daily where date > '2025-02-28'")
    dbt = Path(sys.executable).with_name("dbt")
    built = subprocess.run(
        [
            str(dbt),
            *dbt_build_args(),
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path),
        ],
        env={**os.environ, "WAREHOUSE_DIR": str(warehouse)},
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    mismatches, _ = baseline_mismatches(build_db, build_db, "marts", tmp_path / "baseline.duckdb")
    with duckdb.connect(str(build_db), read_only=True) as conn:
        partial = conn.execute(
            "select month, is_partial_month, btc_price_avg_mom is not null, combined_market_cap_mom, leader_ticker "
            "from marts.mart_monthly_note order by month desc limit 1"
        ).fetchone()
    assert mismatches == []
    assert partial == (date(2025, 2, 1), True, True, None, None)
