"""Resources: the build DuckDB file, the dbt CLI, and the selected source."""

from __future__ import annotations

import os

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from orchestration.defs.dbt_project import DBT_PROJECT
from orchestration.settings import Settings, load_settings
from orchestration.sources import Source, make_source


class SourceResource(dg.ConfigurableResource):
    """The raw-data source named by WAREHOUSE_SOURCE (demo by default)."""

    kind: str = "demo"

    def get(self) -> Source:
        return make_source(self.kind)


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or load_settings()
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    # dbt runs as a subprocess and reads the build file's folder from here (profiles.yml).
    os.environ["WAREHOUSE_DIR"] = str(settings.warehouse_dir)
    return {
        "duckdb": DuckDBResource(database=str(settings.build_db)),
        "dbt": DbtCliResource(project_dir=DBT_PROJECT),
        "source": SourceResource(kind=settings.source),
    }
