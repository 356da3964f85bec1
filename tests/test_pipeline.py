"""The whole demo pipeline through the same Definitions the UI loads, read back from published.duckdb."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.cli import run
from orchestration.core.paths import WarehousePaths
from orchestration.core.settings import load_settings

NOTE = ["marts", "mart_monthly_note"]


@pytest.fixture
def published(demo_run):
    with duckdb.connect(str(demo_run[1].published_db), read_only=True) as conn:
        yield conn


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_succeeds_and_says_the_data_is_synthetic(demo_run, capsys):
    exit_code, settings, _ = demo_run
    assert exit_code == 0
    assert settings.published_db.exists() and settings.build_db.exists()
    lines = run.summary_lines(settings.paths)
    assert "SYNTHETIC DEMO DATA" in lines[0]
    assert lines[1].startswith("Latest month 2025-06: BTC average $")
    assert lines[2].startswith("  13 miners, combined market cap $") and "leader " in lines[2]
    assert "market cap / remaining bitcoin value" in lines[3]
    assert re.fullmatch(
        r"  13 of 13 members reported operations: \d+\.\d% of the network's hashrate; market cap / their "
        r"proportional 4 years' rewards \d+\.\d\dx \(peak \d+\.\d\dx, average \d+\.\d\dx\)",
        lines[4],
    )
    assert lines[5] == (
        f"Readers: DuckDB 1.0.0 or later (storage v1.0.0), `make sql`; exports in "
        f"{settings.warehouse_dir / 'exports'} (Parquet per table, miner_note.xlsx)"
    )


def test_each_raw_load_logs_its_rows_and_what_an_empty_universe_means(demo_run):
    instance = demo_run[2]
    session_run = instance.get_runs(filters=dg.RunsFilter(job_name="build_and_publish"))[-1]  # the oldest
    messages = [e.user_message for e in instance.all_logs(session_run.run_id) if not e.is_dagster_event]
    assert "raw.btc_daily: 2373 rows from demo (SYNTHETIC) (whole table)" in messages
    assert (
        "raw.miner_universe: 0 rows from demo (SYNTHETIC) (whole table; none from the source, so the built-in "
        "seed seeds/miner_universe.csv applies)"
    ) in messages


def test_one_note_row_per_month_2019_01_to_2025_06(published):
    months = [
        r[0] for r in published.execute("select strftime(month, '%Y-%m') from mart_monthly_note order by 1").fetchall()
    ]
    expected = [f"{y}-{m:02d}" for y in range(2019, 2026) for m in range(1, 13)][: 6 * 12 + 6]
    assert months == expected


def test_note_prices_match_the_raw_days(published, demo_run):
    build = demo_run[1].build_db
    published.execute(f"attach '{build}' as build (read_only)")
    avg_raw, month_end_raw = published.execute(
        "select avg(price_usd), (select avg(price_usd) from build.raw.btc_daily where date between "
        "'2024-06-24' and '2024-06-30') "
        "from build.raw.btc_daily where date between '2024-06-01' and '2024-06-30'"
    ).fetchone()
    avg, month_end, synthetic = published.execute(
        "select btc_price_avg_usd, btc_price_month_end_usd, is_synthetic_data from mart_monthly_note where "
        "month = '2024-06-01'"
    ).fetchone()
    assert avg == pytest.approx(avg_raw, rel=1e-12)
    assert month_end == pytest.approx(month_end_raw, rel=1e-12)
    assert 40_000 < avg < 90_000  # the demo's June 2024 is shaped on the real ~62k
    assert synthetic is True


def test_combined_market_cap_is_the_members_close_times_shares(published, demo_run):
    # June 2025 has no split after any shares report, so cap = close x latest reported shares.
    published.execute(f"attach '{demo_run[1].build_db}' as build (read_only)")
    expected, members = published.execute(
        """
        with last_day as (select max(date) as d from build.raw.equity_prices where date <= '2025-06-30'),
        closes as (select ticker, close from build.raw.equity_prices, last_day where date = last_day.d),
        shares as (select ticker, arg_max(shares, as_of) as shares from build.raw.shares_outstanding
                   where as_of <= '2025-06-30' group by ticker)
        select sum(close * shares), count(*) from closes join shares using (ticker)
        """
    ).fetchone()
    cap, count = published.execute(
        "select combined_market_cap_usd, miner_count from mart_monthly_note where month = '2025-06-01'"
    ).fetchone()
    assert count == members == 13  # 14 in the universe, SDIG delisted in March 2025
    assert cap == pytest.approx(expected, rel=1e-9)


def test_published_tables_carry_their_definitions(published):
    comments = dict(
        published.execute(
            "select column_name, comment from duckdb_columns() where table_name = 'mart_monthly_note'"
        ).fetchall()
    )
    assert "7 daily bitcoin prices" in comments["btc_price_month_end_usd"]
    columns = published.execute(
        "select table_name, column_name, comment from duckdb_columns() where database_name = 'published'"
    ).fetchall()
    assert {table for table, _, _ in columns} >= {"mart_monthly_note", "publication_log"}
    assert [(table, column) for table, column, comment in columns if not comment] == []  # every column defined
    log = published.execute(
        "select source, is_synthetic, first_month, last_month, row_counts, attribution from publication_log"
    ).fetchall()
    assert len(log) == 1
    source, synthetic, first, last, counts, attribution = log[0]
    assert (source, synthetic, str(first), str(last)) == ("demo (SYNTHETIC)", True, "2019-01-01", "2025-06-01")
    assert attribution.startswith("SYNTHETIC demo data")
    assert json.loads(counts)["mart_monthly_note"] == 78


def note_suite(tmp_path: Path, name: str, expectations: list[dict], query: str | None = None) -> Path:
    """A GX suite file on mart_monthly_note, written beside the test."""
    suite = json.loads(Path("expectations/mart_monthly_note.json").read_text())
    suite["name"], suite["expectations"] = name, expectations
    suite["meta"].pop("query", None)
    if query:
        suite["meta"]["query"] = query
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(suite))
    return path


def check_evaluations(result: dg.ExecuteInProcessResult) -> list:
    return [
        e.event_specific_data for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]


def price_between(low: float | None, high: float | None) -> list[dict]:
    return [
        {
            "type": "expect_column_values_to_be_between",
            "severity": "critical",
            "kwargs": {"column": "btc_price_avg_usd", "min_value": low, "max_value": high},
        }
    ]


def test_a_failing_blocking_check_stops_publication(demo_run, tmp_path):
    """In one gate, a critical expectation that fails and a suite that cannot even run (its query
    names no table) each fail their own check, the passing suite still reports, and the publish
    asset is blocked; the published file is untouched."""
    from orchestration.definitions import build_resources
    from orchestration.publish.asset import published_warehouse
    from orchestration.quality.checks import gx_checks
    from orchestration.transform.assets import warehouse_dbt_assets

    settings = demo_run[1]
    before = sha256(settings.published_db)
    reader = duckdb.connect(str(settings.published_db), read_only=True)
    suites = [
        note_suite(tmp_path, "impossible_btc_price", price_between(None, 1_000)),
        note_suite(tmp_path, "positive_btc_price", price_between(0, None)),
        note_suite(tmp_path, "broken_query", price_between(0, None), query="select * from marts.no_such_table"),
    ]
    gates = gx_checks(suites)
    assert len(gates) == 1  # one step validates the three

    result = dg.materialize(
        [warehouse_dbt_assets, published_warehouse, *gates],
        selection=[dg.AssetKey(NOTE), dg.AssetKey("published_warehouse")],
        resources=build_resources(load_settings()),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    assert not result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey(NOTE) in materialized
    assert dg.AssetKey("published_warehouse") not in materialized
    evaluations = {e.check_name: e for e in check_evaluations(result)}
    assert evaluations["gx_positive_btc_price"].passed
    assert not evaluations["gx_impossible_btc_price"].passed
    assert not evaluations["gx_broken_query"].passed
    failures = "\n".join(run.failure_lines(result))
    assert "expect_column_values_to_be_between failed on marts.mart_monthly_note.btc_price_avg_usd" in failures
    assert "example row: {'month': '2019-01-01'" in failures
    assert "check gx_broken_query on marts/mart_monthly_note failed (ERROR)" in failures
    assert "validation failed on marts.mart_monthly_note (CatalogException" in failures
    assert sha256(settings.published_db) == before
    assert reader.execute("select count(*) from mart_monthly_note").fetchone()[0] == 78
    reader.close()


def test_one_check_of_a_gate_runs_on_its_own(demo_run, tmp_path):
    """What the UI's "Execute" on one check does: only that suite is validated."""
    from orchestration.definitions import build_resources
    from orchestration.quality.checks import gx_checks
    from orchestration.transform.assets import warehouse_dbt_assets

    gates = gx_checks(
        [
            note_suite(tmp_path, "impossible_btc_price", price_between(None, 1_000)),
            note_suite(tmp_path, "positive_btc_price", price_between(0, None)),
        ]
    )
    result = dg.materialize(
        [warehouse_dbt_assets, *gates],
        selection=dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey(NOTE), "gx_positive_btc_price")),
        resources=build_resources(load_settings()),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    assert result.success
    assert [(e.check_name, e.passed) for e in check_evaluations(result)] == [("gx_positive_btc_price", True)]
    assert not result.get_asset_materialization_events()  # the mart itself is not rebuilt


def test_materialisations_carry_row_counts_months_and_the_headline(demo_run):
    instance = demo_run[2]
    note = instance.get_latest_materialization_event(dg.AssetKey(NOTE)).asset_materialization.metadata
    assert note["dagster/row_count"].value == 78
    assert note["months_covered"].value == "2019-01 .. 2025-06"
    headline = note["latest_month"].value
    assert "| month | 2025-06-01 |" in headline and "| is_synthetic_data | True |" in headline
    published = instance.get_latest_materialization_event(
        dg.AssetKey("published_warehouse")
    ).asset_materialization.metadata
    assert published["row_counts"].value["mart_monthly_note"] == 78
    assert published["gate_result"].value.startswith("passed: ")
    staging = instance.get_latest_materialization_event(
        dg.AssetKey(["staging", "stg_btc_daily"])
    ).asset_materialization.metadata
    assert staging["dagster/row_count"].value == 2373  # 2019-01-01 .. 2025-06-30


def test_a_full_refresh_marks_every_month_of_the_raw_loads_materialised(demo_run):
    """One planned event per asset for the range (settings.DAGSTER_RUN_SETTINGS) still leaves the
    UI's partition bar right after a successful run: every month materialised, none missing."""
    from orchestration.core.partitions import MONTHLY

    instance = demo_run[2]
    session_run = instance.get_runs(filters=dg.RunsFilter(job_name="build_and_publish"))[-1]  # the oldest
    planned = instance.get_records_for_run(
        session_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    assert (
        len([r for r in planned if r.event_log_entry.dagster_event.asset_key == dg.AssetKey(["raw", "btc_daily"])]) == 1
    )
    for name in ("btc_daily", "equity_prices", "splits"):
        materialized = instance.get_materialized_partitions(dg.AssetKey(["raw", name]))
        assert materialized == set(MONTHLY.get_partition_keys()), name


def test_the_data_docs_index_lists_the_newest_results_only(demo_run, tmp_path):
    """A warehouse run daily for years must not render thousands of results into the index on
    every gate: it lists the newest DATA_DOCS_INDEX_RESULTS."""
    import re
    import shutil

    from orchestration.quality import gx_engine, suites

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(demo_run[1].build_db, warehouse / "build.duckdb")
    suite = [suites.EXPECTATIONS_DIR / "raw.splits.json"]
    limit = gx_engine.DATA_DOCS_INDEX_RESULTS
    gx_engine.validate_suites(WarehousePaths(warehouse), suite, "run-0000")
    for run_number in range(1, limit + 1):  # the runs in between, as a gate leaves them
        copy_run(warehouse / "gx" / "uncommitted", "run-0000", f"run-{run_number:04d}", microseconds_later=run_number)
    newest = gx_engine.validate_suites(WarehousePaths(warehouse), suite, f"run-{limit + 1:04d}")[0]

    listed = set(re.findall(r"'run_name': 'run-(\d{4})'", Path(newest.data_docs).read_text()))
    assert listed == {f"{n:04d}" for n in range(2, limit + 2)}  # the oldest two are left out


def test_a_gate_keeps_every_suites_newest_results_and_their_pages_only(demo_run, tmp_path):
    """With keep_runs (WAREHOUSE_KEEP_RUNS), a gate deletes older results and their Data Docs
    pages before it rebuilds the index, so the index links no deleted page."""
    import re
    import shutil

    from orchestration.quality import gx_engine, suites

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(demo_run[1].build_db, warehouse / "build.duckdb")
    uncommitted = warehouse / "gx" / "uncommitted"
    suite = [suites.EXPECTATIONS_DIR / "raw.splits.json"]
    gx_engine.validate_suites(WarehousePaths(warehouse), suite, "run-0000")
    for run_number in range(1, 5):
        copy_run(uncommitted, "run-0000", f"run-{run_number:04d}", microseconds_later=run_number)
    newest = gx_engine.validate_suites(WarehousePaths(warehouse), suite, "run-0005", keep_runs=3)[0]

    for results in (uncommitted / "validations", uncommitted / "data_docs" / "local_site" / "validations"):
        assert sorted(p.name for p in (results / "raw" / "splits").iterdir()) == ["run-0003", "run-0004", "run-0005"]
    assert set(re.findall(r"'run_name': 'run-(\d{4})'", Path(newest.data_docs).read_text())) == {"0003", "0004", "0005"}


def copy_run(uncommitted: Path, source: str, target: str, microseconds_later: int) -> None:
    """Copy a gate's stored result and rendered page as a later run's."""
    import shutil
    from datetime import datetime, timedelta

    stamp = "%Y%m%dT%H%M%S.%fZ"
    for folder in (uncommitted / "validations", uncommitted / "data_docs" / "local_site" / "validations"):
        for path in [p for p in folder.rglob("*") if p.is_file() and source in p.parts]:
            parts = list(path.relative_to(folder).parts)
            at = parts.index(source)
            later = datetime.strptime(parts[at + 1], stamp) + timedelta(microseconds=microseconds_later)
            parts[at], parts[at + 1] = target, later.strftime(stamp)
            destination = folder.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, destination)


def test_a_build_file_written_by_duckdb_2_stops_the_run_before_any_step(demo_run, tmp_path, capsys):
    """A warehouse built before the pin to DuckDB 1.x: the run says what to do, touches nothing."""
    import gzip

    from orchestration.core.settings import Settings

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    build = warehouse / "build.duckdb"
    fixture = Path(__file__).parent / "fixtures" / "duckdb" / "written_by_duckdb_2.0.1.duckdb.gz"
    build.write_bytes(gzip.decompress(fixture.read_bytes()))
    before = sha256(build)
    code = run.main(instance=dg.DagsterInstance.ephemeral(), settings=Settings(warehouse_dir=warehouse, source="demo"))
    err = capsys.readouterr().err
    assert code == 1
    assert (
        f"the run could not start: {build} was written by a newer DuckDB than this pipeline's {duckdb.__version__}"
        in err
    )
    assert "version number 999" in err and f"mv '{build}' '{build}.duckdb2'" in err
    assert sha256(build) == before and not (warehouse / "published.duckdb").exists()
