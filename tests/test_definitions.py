"""The one Definitions object loads, and its graph reads as the pipeline."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.sources import DATASETS


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


def test_monthly_schedule_is_defined_and_off_by_default():
    schedule = defs.resolve_schedule_def("monthly_publish")
    assert schedule.cron_schedule == "0 6 2 * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "build_and_publish"
