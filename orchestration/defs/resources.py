"""Resources: the warehouse folder, the build DuckDB file, the dbt CLI, and the selected source."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from orchestration.defs.dbt_project import DBT_PROJECT
from orchestration.settings import Settings
from orchestration.sources import Source, make_source


class WarehouseResource(dg.ConfigurableResource):
    """The folder holding build.duckdb, published.duckdb and the rendered notes (WAREHOUSE_DIR)."""

    warehouse_dir: str
    published_db: str


class SourceResource(dg.ConfigurableResource):
    """The raw-data source named by WAREHOUSE_SOURCE (demo by default)."""

    kind: str = "demo"
    warehouse_dir: str
    csv_dir: str | None = None
    demo_tickers: int | None = None
    demo_years: float | None = None

    def get(self) -> Source:
        return make_source(self.kind, self.warehouse_dir, self.csv_dir, self.demo_tickers, self.demo_years)


def build_resources(settings: Settings) -> dict[str, object]:
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": WarehouseResource(
            warehouse_dir=str(settings.warehouse_dir), published_db=str(settings.published_db)
        ),
        "duckdb": DuckDBResource(database=str(settings.build_db)),
        "dbt": DbtCliResource(project_dir=DBT_PROJECT),
        "source": SourceResource(
            kind=settings.source,
            warehouse_dir=str(settings.warehouse_dir),
            csv_dir=str(settings.csv_dir) if settings.csv_dir else None,
            demo_tickers=settings.demo_tickers,
            demo_years=settings.demo_years,
        ),
    }
