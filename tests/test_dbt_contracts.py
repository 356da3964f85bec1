"""Every published number has a written definition and a type: the dbt YAML is the contract."""

from __future__ import annotations

import json

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
