"""Every path of the warehouse folder comes from one place (core/paths.py); the files outside
Python that name one of them (dbt's profile, the Makefile) agree with it."""

from __future__ import annotations

from pathlib import Path

import yaml

from orchestration.core.paths import BUILD_FILE, PUBLISHED_FILE, REPO_ROOT, WarehousePaths
from orchestration.core.settings import Settings, load_settings


def test_dbt_profile_names_the_build_file_of_the_paths():
    outputs = yaml.safe_load((REPO_ROOT / "dbt_project" / "profiles.yml").read_text())["miner_warehouse"]["outputs"]
    assert outputs["build"]["path"] == "{{ env_var('WAREHOUSE_DIR', '../warehouse') }}/" + BUILD_FILE
    assert outputs["lint"]["path"] == ":memory:"  # sqlfluff's templater never opens the build file
    assert WarehousePaths(Path("/w")).dbt_env() == {"WAREHOUSE_DIR": "/w"}


def test_the_makefile_leaves_the_paths_to_the_programs():
    """No make function splits a path with a space: the Makefile derives no warehouse path but
    the published file `make sql` opens, in the shell, from the same default folder."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "$(WAREHOUSE_DIR)" not in makefile and "$(DAGSTER_HOME)" not in makefile
    assert f'db="$${{WAREHOUSE_DIR:-warehouse}}/{PUBLISHED_FILE}"' in makefile
    assert load_settings({}).warehouse_dir == REPO_ROOT / "warehouse"
    assert load_settings({}).dagster_home == WarehousePaths(REPO_ROOT / "warehouse").dagster_home


def test_every_path_lies_in_the_warehouse_folder(tmp_path):
    paths = Settings(warehouse_dir=tmp_path, source="demo").paths
    names = [n for n, v in vars(WarehousePaths).items() if isinstance(v, property)]
    assert len(names) >= 15
    for name in names:
        assert getattr(paths, name).is_relative_to(tmp_path), name
    assert (paths.build_db, paths.published_db) == (tmp_path / "build.duckdb", tmp_path / "published.duckdb")


def test_dagster_home_defaults_to_the_warehouse_folder(tmp_path):
    assert load_settings({"WAREHOUSE_DIR": str(tmp_path)}).dagster_home == tmp_path / "dagster_home"
    assert (
        load_settings({"WAREHOUSE_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "h")}).dagster_home
        == tmp_path / "h"
    )
