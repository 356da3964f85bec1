"""Every published number has a written definition and a type: the dbt YAML is the contract."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.transform.project import DBT_DIR, dbt_project


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(dbt_project().manifest_path.read_text())


def marts(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "marts"]


def test_the_five_published_marts_exist(manifest):
    assert {m["name"] for m in marts(manifest)} == {
        "mart_monthly_note",
        "mart_chain_monthly",
        "mart_miner_monthly",
        "mart_miner_operations_monthly",
        "mart_valuation_history",
    }


def test_every_mart_enforces_its_contract_with_a_type_and_definition_per_column(manifest):
    for mart in marts(manifest):
        assert mart["config"]["contract"]["enforced"], mart["name"]
        assert mart["config"]["materialized"] == "table", mart["name"]
        assert mart["description"].strip(), mart["name"]
        for name, column in mart["columns"].items():
            assert column.get("data_type"), f"{mart['name']}.{name} has no data_type"
            assert len(column.get("description", "").strip()) >= 15, f"{mart['name']}.{name} has no real definition"


def test_every_fact_behind_the_marts_has_unit_tests(manifest):
    tested = {n["model"] for n in manifest["unit_tests"].values()}
    facts = ("fct_chain_daily", "fct_chain_monthly", "fct_miner_monthly", "fct_equity_monthly", "fct_equity_daily")
    for fact in (*facts, "fct_miner_operations_monthly", "fct_operations_monthly"):
        assert fact in tested, f"{fact} has no dbt unit test"


def test_every_dbt_unit_test_passes(demo_run, manifest):
    """The pipeline's build leaves the unit tests out (dbt_build_args): this is where all of them
    run, in `make test` and so in CI, against the relations the session's demo run built."""
    exit_code, settings, _ = demo_run
    assert exit_code == 0
    warehouse = settings.warehouse_dir
    env = {**os.environ, "WAREHOUSE_DIR": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    command = [
        str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit",
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(warehouse / "unit_test_target"), "--log-path", str(warehouse / "unit_test_logs"),
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    passed = re.search(r"PASS=(\d+)", result.stdout)
    assert passed and int(passed.group(1)) == len(manifest["unit_tests"]), result.stdout[-2000:]


def test_every_mart_checks_that_its_numbers_are_finite(manifest):
    tested = {
        n["attached_node"].split(".")[-1]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and n.get("test_metadata", {}).get("name") == "numbers_are_finite"
    }
    assert tested == {m["name"] for m in marts(manifest)}


def test_a_nan_or_an_infinity_in_a_mart_fails_its_finite_check(demo_run, tmp_path):
    """On a copy of the session's build with two bad values: the check names the month, column, value."""
    import shutil

    import duckdb

    settings = demo_run[1]
    shutil.copy(settings.build_db, tmp_path / "build.duckdb")
    with duckdb.connect(str(tmp_path / "build.duckdb")) as conn:
        conn.execute(
            "update marts.mart_valuation_history set mcap_to_4y_rewards_peak = 'inf' where month = '2024-06-01'"
        )
        conn.execute(
            "update marts.mart_valuation_history set combined_market_cap_usd = 'nan' where month = '2021-03-01'"
        )
    env = {**os.environ, "WAREHOUSE_DIR": str(tmp_path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    command = [
        str(Path(sys.executable).parent / "dbt"), "test",
        "--select", "mart_valuation_history,test_name:numbers_are_finite",
        "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--store-failures",
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "Got 2 results" in result.stdout
    with duckdb.connect(str(tmp_path / "build.duckdb"), read_only=True) as conn:
        (table,) = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name like 'numbers_are_finite%'"
        ).fetchone()
        rows = conn.execute(f"select cast(row_key as varchar), column_name, value from {table} order by 1").fetchall()
    assert rows == [("2021-03-01", "combined_market_cap_usd", "nan"), ("2024-06-01", "mcap_to_4y_rewards_peak", "inf")]
