"""What runs leave on disk stays bounded: the newest WAREHOUSE_KEEP_RUNS dbt folders and GX results."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration.core.paths import WarehousePaths
from orchestration.core.retention import prune_gx_results, prune_run_folders
from orchestration.core.settings import DEFAULT_KEEP_RUNS, Settings, load_settings


def folder(path: Path, modified: float) -> Path:
    """A finished dbt run's folder, last written at `modified` (seconds since the epoch)."""
    path.mkdir(parents=True)
    (path / "run_results.json").write_text("{}")
    for written in (path / "run_results.json", path):
        os.utime(written, (modified, modified))
    return path


def test_only_the_newest_run_folders_stay(tmp_path):
    runs = tmp_path / "dbt_runs"
    old, older, newest, newer = (folder(runs / name, t) for name, t in (("a", 300), ("b", 100), ("c", 500), ("d", 400)))
    (runs / "stray.txt").write_text("not a run")

    assert sorted(prune_run_folders(runs, keep=2, current=newest)) == [old, older]
    assert sorted(p.name for p in runs.iterdir()) == ["c", "d", "stray.txt"]
    assert prune_run_folders(runs, keep=2, current=newest) == []  # nothing more to do
    assert prune_run_folders(tmp_path / "missing", keep=2, current=newest) == []


def test_the_current_run_and_a_build_still_writing_its_log_are_kept(tmp_path):
    """A folder counts as new when a file in it changed (dbt writes dbt.log all along a build),
    and the step's own folder stays whatever its times say."""
    runs = tmp_path / "dbt_runs"
    current = folder(runs / "current", 100)
    building = folder(runs / "building", 200)
    (building / "dbt.log").write_text("...")
    os.utime(building / "dbt.log", (900, 900))
    os.utime(building, (200, 200))
    done = folder(runs / "done", 500)

    assert prune_run_folders(runs, keep=2, current=current) == [done]
    with pytest.raises(ValueError, match="at least 1"):
        prune_run_folders(runs, keep=0, current=current)


def gx_result(uncommitted: Path, suite: str, run: str, stamp: str) -> None:
    """A stored validation result and its Data Docs page, where GX files them."""
    for folder, suffix in (("validations", "json"), ("data_docs/local_site/validations", "html")):
        path = uncommitted.joinpath(folder, *suite.split("."), run, stamp, f"duckdb_tables-{suite}.{suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


def runs_of(uncommitted: Path, folder: str, suite: str) -> list[str]:
    return sorted(p.name for p in uncommitted.joinpath(folder, *suite.split(".")).iterdir())


def test_every_suite_keeps_its_own_newest_results_and_their_pages(tmp_path):
    """A suite validated alone (a check executed from the UI) keeps its history although other
    suites ran more often since; runs are ordered by the time GX files them under, not by name."""
    gx_result(tmp_path, "raw.btc_daily", "run-0", "20260301T000000.000000Z")
    gx_result(tmp_path, "raw.btc_daily", "run-1", "20260101T000000.000000Z")
    gx_result(tmp_path, "raw.btc_daily", "run-1", "20260401T000000.000000Z")  # run-1 validated it twice
    gx_result(tmp_path, "raw.btc_daily", "run-2", "20260201T000000.000000Z")
    gx_result(tmp_path, "mart_monthly_note", "run-0", "20250101T000000.000000Z")
    gx_result(tmp_path, "mart_monthly_note", "run-2", "20250102T000000.000000Z")
    (tmp_path / "data_docs" / "local_site" / "index.html").write_text("<html/>")

    deleted = prune_gx_results(tmp_path, keep=2, current_run="run-9")

    assert deleted == [tmp_path / "validations" / "raw" / "btc_daily" / "run-2"]
    for folder in ("validations", "data_docs/local_site/validations"):
        assert runs_of(tmp_path, folder, "raw.btc_daily") == ["run-0", "run-1"]
        assert runs_of(tmp_path, folder, "mart_monthly_note") == ["run-0", "run-2"]
    assert (tmp_path / "data_docs" / "local_site" / "index.html").exists()
    assert prune_gx_results(tmp_path / "no_such_project", keep=2, current_run="run-9") == []


def test_the_gates_own_results_are_kept_whatever_their_time(tmp_path):
    """A gate's run time comes from its clock; a clock set back must not delete what it just wrote."""
    gx_result(tmp_path, "raw.splits", "run-0", "20260301T000000.000000Z")
    gx_result(tmp_path, "raw.splits", "run-1", "20260401T000000.000000Z")
    gx_result(tmp_path, "raw.splits", "this-run", "20200101T000000.000000Z")

    prune_gx_results(tmp_path, keep=2, current_run="this-run")

    assert runs_of(tmp_path, "validations", "raw.splits") == ["run-1", "this-run"]


@pytest.mark.parametrize("text, expected", [("", DEFAULT_KEEP_RUNS), ("5", 5), (" 12 ", 12)])
def test_keep_runs_comes_from_the_environment(text, expected, tmp_path):
    assert load_settings({"WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_KEEP_RUNS": text}).keep_runs == expected


@pytest.mark.parametrize("text", ["0", "-3", "ten", "2.5"])
def test_a_keep_runs_that_is_not_a_count_is_refused(text, tmp_path):
    with pytest.raises(ValueError, match=re.escape(f"WAREHOUSE_KEEP_RUNS={text!r}")):
        load_settings({"WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_KEEP_RUNS": text})


def test_a_dbt_build_writes_its_folder_beside_the_warehouse_and_prunes_the_oldest(demo_run, tmp_path):
    from orchestration.definitions import build_resources
    from orchestration.transform.assets import warehouse_dbt_assets
    from orchestration.transform.project import DBT_DIR

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(demo_run[1].build_db, warehouse / "build.duckdb")
    stale = [folder(WarehousePaths(warehouse).dbt_runs / f"warehouse_dbt_assets-old{n}", 1_000 + n) for n in range(3)]

    result = dg.materialize(
        [warehouse_dbt_assets],
        selection=[dg.AssetKey(["staging", "stg_splits"])],
        resources=build_resources(Settings(warehouse_dir=warehouse, source="demo", keep_runs=2)),
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    kept = sorted((WarehousePaths(warehouse).dbt_runs).iterdir())
    assert [p.name for p in kept if p not in stale] == [p.name for p in kept if result.run_id[:7] in p.name]
    assert stale[2] in kept and len(kept) == 2  # this run's folder and the newest old one
    this_run = next(p for p in kept if p not in stale)
    assert (this_run / "run_results.json").exists() and (this_run / "dbt.log").exists()
    assert not list((DBT_DIR / "target").glob(f"*-{result.run_id[:7]}-*"))  # nothing left in the project


def test_a_gate_run_by_dagster_keeps_the_configured_number_of_results(demo_run, tmp_path):
    """WAREHOUSE_KEEP_RUNS reaches the gate: with 1, a suite's second run deletes its first."""
    from orchestration.definitions import build_resources
    from orchestration.quality.checks import gx_checks
    from orchestration.quality.suites import EXPECTATIONS_DIR
    from orchestration.raw.assets import RAW_ASSETS

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(demo_run[1].build_db, warehouse / "build.duckdb")
    gates = gx_checks([EXPECTATIONS_DIR / "raw.splits.json"])
    check = dg.AssetCheckKey(dg.AssetKey(["raw", "splits"]), "gx_raw.splits")
    resources = build_resources(Settings(warehouse_dir=warehouse, source="demo", keep_runs=1))

    run_ids = []
    for _ in range(2):
        result = dg.materialize([*RAW_ASSETS, *gates], selection=dg.AssetSelection.checks(check),
                                resources=resources, instance=dg.DagsterInstance.ephemeral())  # fmt: skip
        assert result.success
        run_ids.append(result.run_id)

    uncommitted = warehouse / "gx" / "uncommitted"
    for folder in ("validations", "data_docs/local_site/validations"):
        assert runs_of(uncommitted, folder, "raw.splits") == [run_ids[1]]
