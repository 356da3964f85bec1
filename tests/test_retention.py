"""What runs leave on disk stays bounded: the newest WAREHOUSE_KEEP_RUNS dbt folders and GX results."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration.retention import DEFAULT_KEEP_RUNS, prune_gx_results, prune_run_folders
from orchestration.settings import Settings, load_settings


def folder(path: Path, modified: float) -> Path:
    path.mkdir(parents=True)
    (path / "run_results.json").write_text("{}")
    os.utime(path, (modified, modified))
    return path


def test_only_the_newest_run_folders_stay(tmp_path):
    runs = tmp_path / "dbt_runs"
    old, older, newest, newer = (folder(runs / name, t) for name, t in (("a", 300), ("b", 100), ("c", 500), ("d", 400)))
    (runs / "stray.txt").write_text("not a run")

    assert sorted(prune_run_folders(runs, keep=2)) == [old, older]
    assert sorted(p.name for p in runs.iterdir()) == ["c", "d", "stray.txt"]
    assert prune_run_folders(runs, keep=2) == []  # nothing more to do
    assert prune_run_folders(tmp_path / "missing", keep=2) == []


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

    deleted = prune_gx_results(tmp_path, keep=2)

    assert deleted == [tmp_path / "validations" / "raw" / "btc_daily" / "run-2"]
    for folder in ("validations", "data_docs/local_site/validations"):
        assert runs_of(tmp_path, folder, "raw.btc_daily") == ["run-0", "run-1"]
        assert runs_of(tmp_path, folder, "mart_monthly_note") == ["run-0", "run-2"]
    assert (tmp_path / "data_docs" / "local_site" / "index.html").exists()
    assert prune_gx_results(tmp_path / "no_such_project", keep=2) == []


@pytest.mark.parametrize("text, expected", [("", DEFAULT_KEEP_RUNS), ("5", 5), (" 12 ", 12)])
def test_keep_runs_comes_from_the_environment(text, expected, tmp_path):
    assert load_settings({"WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_KEEP_RUNS": text}).keep_runs == expected


@pytest.mark.parametrize("text", ["0", "-3", "ten", "2.5"])
def test_a_keep_runs_that_is_not_a_count_is_refused(text, tmp_path):
    with pytest.raises(ValueError, match=re.escape(f"WAREHOUSE_KEEP_RUNS={text!r}")):
        load_settings({"WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_KEEP_RUNS": text})


def test_a_dbt_build_writes_its_folder_beside_the_warehouse_and_prunes_the_oldest(demo_run, tmp_path):
    from orchestration.defs.dbt_assets import DBT_RUNS, warehouse_dbt_assets
    from orchestration.defs.dbt_project import DBT_DIR
    from orchestration.defs.resources import build_resources

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(demo_run[1].build_db, warehouse / "build.duckdb")
    stale = [folder(warehouse / DBT_RUNS / f"warehouse_dbt_assets-old{n}", 1_000 + n) for n in range(3)]

    result = dg.materialize(
        [warehouse_dbt_assets],
        selection=[dg.AssetKey(["staging", "stg_splits"])],
        resources=build_resources(Settings(warehouse_dir=warehouse, source="demo", keep_runs=2)),
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    kept = sorted((warehouse / DBT_RUNS).iterdir())
    assert [p.name for p in kept if p not in stale] == [p.name for p in kept if result.run_id[:7] in p.name]
    assert stale[2] in kept and len(kept) == 2  # this run's folder and the newest old one
    this_run = next(p for p in kept if p not in stale)
    assert (this_run / "run_results.json").exists() and (this_run / "dbt.log").exists()
    assert not list((DBT_DIR / "target").glob(f"*-{result.run_id[:7]}-*"))  # nothing left in the project
