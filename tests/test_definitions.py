"""The one Definitions object loads, and its graph reads as the pipeline."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.raw.contract import DATASETS


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_every_raw_dataset_is_an_asset_feeding_its_staging_model(graph):
    for name in DATASETS:
        key = dg.AssetKey(["raw", name])
        assert key in graph.get_all_asset_keys()
        assert dg.AssetKey(["staging", f"stg_{name}"]) in graph.get(key).child_keys


def test_every_check_targets_an_asset_that_exists(graph):
    keys = graph.get_all_asset_keys()
    check_keys = graph.asset_check_keys
    assert any(c.name == "gx_mart_monthly_note" for c in check_keys)
    for check in check_keys:
        assert check.asset_key in keys, f"{check.name} targets missing asset {check.asset_key}"


def test_publish_is_downstream_of_every_mart_and_blocked_by_gx(graph):
    publish = dg.AssetKey("published_warehouse")
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert dg.AssetKey(["marts", "mart_monthly_note"]) in marts
    assert marts <= graph.get(publish).parent_keys
    gx = [c for c in graph.asset_check_keys if c.name.startswith("gx_")]
    assert gx and all(graph.get_check_spec(c).blocking for c in gx)


def test_groups_read_as_the_pipeline(graph):
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"raw", "staging", "intermediate", "facts", "marts", "publish"} <= groups


@pytest.mark.parametrize("name, cron", [("monthly_publish", "0 6 2 * *"), ("daily_refresh", "0 7 * * *")])
def test_schedules_are_defined_and_off_by_default(name, cron):
    schedule = defs.resolve_schedule_def(name)
    assert schedule.cron_schedule == cron
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "build_and_publish"


def test_monthly_publish_reloads_the_month_that_just_closed():
    at = datetime(2025, 1, 2, 6, 0, tzinfo=UTC)
    request = (
        defs.resolve_schedule_def("monthly_publish")
        .evaluate_tick(dg.build_schedule_context(scheduled_execution_time=at, repository_def=defs.get_repository_def()))
        .run_requests[0]
    )
    assert request.partition_key == "2024-12-01"


def test_daily_refresh_reloads_the_current_month():
    at = datetime(2025, 3, 15, 7, 0, tzinfo=UTC)
    request = (
        defs.resolve_schedule_def("daily_refresh")
        .evaluate_tick(dg.build_schedule_context(scheduled_execution_time=at, repository_def=defs.get_repository_def()))
        .run_requests[0]
    )
    assert (request.partition_key, request.run_key) == ("2025-03-01", "2025-03-01@2025-03-15")


def test_daily_raw_assets_are_monthly_partitioned_and_backfill_in_one_run(graph):
    monthly = {name for name, dataset in DATASETS.items() if dataset.monthly and dataset.date_column}
    assert monthly == {"btc_daily", "equity_prices", "splits"}
    for name in DATASETS:
        node = graph.get(dg.AssetKey(["raw", name]))
        if name in monthly:
            assert node.partitions_def.get_partition_keys()[0] == "2019-01-01"
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
        else:  # shares outstanding and the universe load whole on every run
            assert node.partitions_def is None


def test_dbt_environment_is_scoped_to_the_invocation(monkeypatch):
    from orchestration.transform.assets import environment

    monkeypatch.setenv("WAREHOUSE_DIR", "/readers/warehouse")
    with environment(WAREHOUSE_DIR="/run/warehouse"):
        assert os.environ["WAREHOUSE_DIR"] == "/run/warehouse"
    assert os.environ["WAREHOUSE_DIR"] == "/readers/warehouse"


def test_month_ranges_become_single_run_partition_tags():
    from orchestration.cli.run import partition_range_tags

    assert partition_range_tags("2024-01..2024-06") == {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2024-06-01",
    }
    assert partition_range_tags("2024-03")["dagster/asset_partition_range_end"] == "2024-03-01"
    everything = partition_range_tags(None)
    assert everything["dagster/asset_partition_range_start"] == "2019-01-01"
    with pytest.raises(ValueError, match="2018-12 is not a month of the history"):
        partition_range_tags("2018-12..2019-02")
    with pytest.raises(ValueError, match="runs backwards"):
        partition_range_tags("2024-06..2024-01")
    for unsupported in ("2024-01..2024-03,2024-05", "2024-1", "2024-01...2024-02", "January"):
        with pytest.raises(ValueError, match=r"give one month \(YYYY-MM\) or one range of months \(YYYY-MM..YYYY-MM\)"):
            partition_range_tags(unsupported)
    assert partition_range_tags(" 2024-01 .. 2024-02 ")["dagster/asset_partition_range_end"] == "2024-02-01"


def test_a_monthly_load_runs_for_one_month_and_without_a_month_says_how_to_launch_it(tmp_path):
    """The UI's Launchpad can start build_and_publish with no partition: the monthly raw loads then
    fail with what to do instead, before touching the warehouse."""
    from orchestration.cli.run import failure_lines
    from orchestration.core.settings import load_settings
    from orchestration.definitions import build_resources
    from orchestration.raw.assets import RAW_ASSETS

    monthly = [asset for asset in RAW_ASSETS if asset.partitions_def is not None]
    assert {a.key.to_user_string() for a in monthly} == {"raw/btc_daily", "raw/equity_prices", "raw/splits"}
    result = dg.materialize(
        monthly[:1],
        resources=build_resources(load_settings({"WAREHOUSE_DIR": str(tmp_path)})),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    assert not result.success
    assert failure_lines(result) == [
        f"step {monthly[0].op.name} failed: {monthly[0].key.to_user_string()} is loaded by month, and this run "
        "names no "
        "month: launch it for a partition or a range of them (in the Launchpad or the asset's Materialize dialog; the "
        "whole range is a full refresh), or use `make run` (every month) / `make run MONTHS=YYYY-MM..YYYY-MM`"
    ]
    assert not (tmp_path / "build.duckdb").exists()

    # one month, as the daily and monthly schedules launch it
    month = dg.materialize(
        monthly[:1],
        partition_key="2024-05-01",
        instance=dg.DagsterInstance.ephemeral(),
        resources=build_resources(load_settings({"WAREHOUSE_DIR": str(tmp_path)})),
    )
    assert month.success
    [event] = month.get_asset_materialization_events()
    assert (event.partition, event.materialization.metadata["first_date"].value) == ("2024-05-01", "2024-05-01")


def test_the_note_month_is_the_latest_complete_month_or_the_last_partition_before_it():
    from orchestration.cli.run import note_month

    keys = ["2019-01-01", "2019-02-01", "2019-03-01"]
    assert note_month(date(2019, 2, 1), keys) == date(2019, 2, 1)
    # a scaled demo whose data runs past the current month (the last partition)
    assert note_month(date(2038, 11, 1), keys) == date(2019, 3, 1)
    with pytest.raises(SystemExit, match="2018-12 is before the first partition 2019-01"):
        note_month(date(2018, 12, 1), keys)


@pytest.mark.parametrize(
    "mart, raw",
    [
        ("mart_monthly_note", ["btc_daily", "equity_prices", "splits", "shares_outstanding", "miner_universe"]),
        ("mart_valuation_history", ["btc_daily", "equity_prices", "splits", "shares_outstanding"]),
        ("mart_chain_monthly", ["btc_daily"]),
        ("mart_miner_monthly", ["equity_prices", "splits", "shares_outstanding", "miner_universe"]),
    ],
)
def test_every_mart_is_downstream_of_the_raw_data_it_is_built_from(graph, mart, raw):
    ancestors = graph.get_ancestor_asset_keys(dg.AssetKey(["marts", mart]))
    assert {dg.AssetKey(["raw", name]) for name in raw} <= ancestors


def test_a_dbt_model_outside_the_layer_folders_is_an_error_not_a_mart():
    from orchestration.transform.assets import group_for

    assert group_for(["miner_warehouse", "marts", "mart_monthly_note"], "model") == "marts"
    assert group_for(["miner_warehouse", "miner_universe"], "seed") == "raw"
    with pytest.raises(ValueError, match=r"miner_warehouse\.scratch_model is outside the layer folders"):
        group_for(["miner_warehouse", "scratch_model"], "model")
    with pytest.raises(ValueError, match="outside the layer folders"):
        group_for(["miner_warehouse", "reports", "r1"], "model")
