"""Every published number has a written definition and a type: the dbt YAML is the contract."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.defs.dbt_project import DBT_PROJECT


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(DBT_PROJECT.manifest_path.read_text())


def marts(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "marts"]


def test_the_four_published_marts_exist(manifest):
    assert {m["name"] for m in marts(manifest)} == {
        "mart_monthly_note", "mart_chain_monthly", "mart_miner_monthly", "mart_valuation_history",
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
    for fact in ("fct_chain_daily", "fct_chain_monthly", "fct_miner_monthly", "fct_equity_monthly", "fct_equity_daily"):
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
        "--project-dir", str(DBT_PROJECT.project_dir), "--profiles-dir", str(DBT_PROJECT.project_dir),
        "--target-path", str(warehouse / "unit_test_target"), "--log-path", str(warehouse / "unit_test_logs"),
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    passed = re.search(r"PASS=(\d+)", result.stdout)
    assert passed and int(passed.group(1)) == len(manifest["unit_tests"]), result.stdout[-2000:]
