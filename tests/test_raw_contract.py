"""The raw contract (orchestration/raw/contract.py) is the one declaration of every raw table:
the loader validates against it, and the two other places that state its rules must agree with it:

- models/staging/sources.yml: the same tables, the same columns in the same order;
- raw.load_log (orchestration.raw.contract.LOAD_LOG_COLUMNS, the loader's table): sources.yml
  and models/staging/stg_load_log.sql name its columns in its order, with its types;
- expectations/raw.<table>.json: the structural expectations (columns, types, not-null, key,
  positive, non-negative, non-empty) are exactly those the contract implies, all `critical`. The statistical and
  cross-row rules (ranges, moves, calendars, query columns) stay the suite's own and are not checked.

A difference that is known and decided is listed in KNOWN_GAPS with why; the list can only shrink.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from orchestration.raw.contract import DATASETS as RAW_DATASETS
from orchestration.raw.contract import LOAD_LOG_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SOURCES_YML = ROOT / "models" / "staging" / "sources.yml"
STG_LOAD_LOG = ROOT / "models" / "staging" / "stg_load_log.sql"
EXPECTATIONS = ROOT / "expectations"

# How DuckDB types arrive in the GX gate's pandas frames (conn.sql(...).df()); VARCHAR columns become
# categoricals in the gate (quality/gx_engine.py), so they get no dtype expectation.
PANDAS_TYPES = {
    "DATE": ["datetime64[us]", "datetime64[ns]"],
    "DOUBLE": ["float64"],
    "BIGINT": ["int64"],
    "INTEGER": ["int32", "int64"],
}
STRUCTURAL = {
    "expect_table_columns_to_match_set",
    "expect_table_row_count_to_be_between",
    "expect_column_values_to_be_in_type_list",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
}

# (table, expectation as `type(column)`) the contract implies but the suite does not have yet.
# Each is a rule the loader already enforces, so adding it to the suite cannot fail on loaded data.
KNOWN_GAPS: set[tuple[str, str]] = set()


def _key(expectation: dict) -> str:
    kwargs = expectation["kwargs"]
    column = kwargs.get("column") or ",".join(kwargs.get("column_list") or [])
    if expectation["type"] == "expect_column_values_to_be_in_type_list":
        column += ":" + "|".join(sorted(kwargs["type_list"]))
    return f"{expectation['type']}({column})"


def expected_structure(dataset) -> set[str]:
    """The structural expectations the contract implies, as `type(column)` keys."""
    keys = {"expect_table_columns_to_match_set()"}
    if not (dataset.sparse or dataset.when_empty):  # an empty table is valid for these
        keys.add("expect_table_row_count_to_be_between()")
    for column, kind in dataset.columns.items():
        if kind in PANDAS_TYPES:
            keys.add(f"expect_column_values_to_be_in_type_list({column}:{'|'.join(sorted(PANDAS_TYPES[kind]))})")
        if column not in dataset.nullable:
            keys.add(f"expect_column_values_to_not_be_null({column})")
        if column in dataset.positive:
            keys.add(f"expect_column_values_to_be_between({column})>0")
        if column in dataset.non_negative:
            keys.add(f"expect_column_values_to_be_between({column})>=0")
    if len(dataset.key) == 1:
        keys.add(f"expect_column_values_to_be_unique({dataset.key[0]})")
    else:
        keys.add(f"expect_compound_columns_to_be_unique({','.join(dataset.key)})")
    return keys


def suite_structure(suite: dict, dataset) -> set[str]:
    """The structural expectations the suite has on the contract's columns (critical ones only)."""
    found = set()
    for expectation in suite["expectations"]:
        kwargs, kind = expectation["kwargs"], expectation["type"]
        if expectation.get("severity") != "critical":
            continue
        if kind == "expect_column_values_to_be_between" and kwargs.get("min_value") == 0:
            if kwargs.get("max_value") is None:
                found.add(f"{_key(expectation)}{'>0' if kwargs.get('strict_min') else '>=0'}")
            continue
        if kind in STRUCTURAL:
            column = kwargs.get("column")
            if column is None or column in dataset.columns:
                found.add(_key(expectation) if column or kwargs.get("column_list") else f"{kind}()")
    return found


@pytest.mark.parametrize("dataset", RAW_DATASETS.values(), ids=list(RAW_DATASETS))
def test_the_suite_states_the_contract(dataset):
    suite = json.loads((EXPECTATIONS / f"raw.{dataset.name}.json").read_text())
    assert suite["meta"]["table"] == f"raw.{dataset.name}"
    assert suite["meta"]["asset_key"] == ["raw", dataset.name]
    (columns,) = [e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set"]
    # the query may add columns of its own after the table's (`select *, ...`)
    assert columns["kwargs"]["column_set"][: len(dataset.columns)] == list(dataset.columns)
    expected, found = expected_structure(dataset), suite_structure(suite, dataset)
    gaps = {(dataset.name, key) for key in expected - found}
    assert gaps <= KNOWN_GAPS, f"raw.{dataset.name}.json lacks {sorted(k for _, k in gaps - KNOWN_GAPS)}"
    assert not (found - expected), f"raw.{dataset.name}.json states rules the contract does not: {found - expected}"
    closed = {gap for gap in KNOWN_GAPS if gap[0] == dataset.name} - gaps
    assert not closed, f"closed, remove from KNOWN_GAPS: {sorted(closed)}"


def test_sources_yml_declares_the_contract():
    """The same tables (and raw.load_log, the loads' own log, which is not a dataset), the same
    descriptions, the same columns in the same order."""
    (source,) = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    assert (source["name"], source["schema"]) == ("raw", "raw")
    tables = {table["name"]: table for table in source["tables"]}
    assert set(tables) == {*RAW_DATASETS, "load_log"}
    for dataset in RAW_DATASETS.values():
        declared = [column["name"] for column in tables[dataset.name].get("columns", [])]
        assert declared == list(dataset.columns), f"sources.yml, {dataset.name}: {declared}"
        # the same description, which dbt's docs site shows and the loader writes as the table's comment
        assert " ".join(tables[dataset.name]["description"].split()) == dataset.description, dataset.name


def test_load_log_is_declared_once():
    """raw.load_log's columns are LOAD_LOG_COLUMNS (the loader creates the table from them): sources.yml
    lists them in order, and stg_load_log.sql selects them in order, each cast to its type or, for
    VARCHAR, passed through as it is."""
    (source,) = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    (table,) = [t for t in source["tables"] if t["name"] == "load_log"]
    assert [column["name"] for column in table.get("columns", [])] == list(LOAD_LOG_COLUMNS)

    sql = STG_LOAD_LOG.read_text()
    (select_list,) = re.findall(r"renamed as \(\s*select(.*?)\bfrom source\b", sql, re.DOTALL)
    selected = {}
    for item in (line.strip() for line in select_list.split(",")):
        cast = re.fullmatch(r"cast\((\w+) as (\w+)\) as (\w+)", item)
        if cast:
            assert cast[1] == cast[3], item
            selected[cast[3]] = cast[2].upper()
        else:
            assert re.fullmatch(r"\w+", item), item
            selected[item] = "VARCHAR"
    assert list(selected) == list(LOAD_LOG_COLUMNS), f"stg_load_log.sql selects {list(selected)}"
    assert selected == LOAD_LOG_COLUMNS, f"stg_load_log.sql casts {selected}"
