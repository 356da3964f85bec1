"""WAREHOUSE_LAKE and WAREHOUSE_LAKE_DATA: both or neither, a catalog and a data folder this venv
can use, said in one line naming the variable when not."""

from __future__ import annotations

import pytest

from orchestration.core.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WAREHOUSE_LAKE": "postgres:dbname=lake"}, "WAREHOUSE_LAKE is set but WAREHOUSE_LAKE_DATA is not"),
        ({"WAREHOUSE_LAKE_DATA": "{tmp}"}, "WAREHOUSE_LAKE_DATA is set but WAREHOUSE_LAKE is not"),
        (
            {"WAREHOUSE_LAKE": "postgres:dbname=lake", "WAREHOUSE_LAKE_DATA": "s3://bucket/lake/"},
            "an s3:// data path needs DuckDB's httpfs extension, which this venv has no wheel of",
        ),
        (
            {"WAREHOUSE_LAKE": "mysql:db=lake", "WAREHOUSE_LAKE_DATA": "{tmp}"},
            "a catalog of kind 'mysql' is not supported",
        ),
        ({"WAREHOUSE_LAKE": "postgres: ", "WAREHOUSE_LAKE_DATA": "{tmp}"}, "no connection after postgres:"),
        (
            {"WAREHOUSE_LAKE": "postgres:dbname=lake", "WAREHOUSE_LAKE_DATA": "{tmp}/unmounted"},
            "no such folder",
        ),
        ({"WAREHOUSE_LAKE": "{tmp}/nowhere/lake.ducklake", "WAREHOUSE_LAKE_DATA": "{tmp}"}, "no such folder"),
    ],
)
def test_lake_settings_are_both_or_neither_and_usable(tmp_path, env, message):
    env = {name: value.replace("{tmp}", str(tmp_path)) for name, value in env.items()}
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_settings({"WAREHOUSE_DIR": str(tmp_path), **env})


def test_lake_settings_when_usable(tmp_path):
    assert (load_settings({"WAREHOUSE_DIR": str(tmp_path)}).lake, load_settings({}).lake_data) == (None, None)
    settings = load_settings(
        {"WAREHOUSE_LAKE": "ducklake:postgres:dbname=lake host=db", "WAREHOUSE_LAKE_DATA": str(tmp_path)}
    )
    assert (settings.lake, settings.lake_data) == ("postgres:dbname=lake host=db", str(tmp_path))
    settings = load_settings({"WAREHOUSE_LAKE": str(tmp_path / "team.ducklake"), "WAREHOUSE_LAKE_DATA": str(tmp_path)})
    assert settings.lake == str(tmp_path / "team.ducklake")
