"""Resources: the warehouse folder, the build DuckDB file, the dbt CLI, and the selected source."""

from __future__ import annotations

from functools import cached_property
from importlib.metadata import version as installed_version

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging.version import Version
from pydantic import Field

from orchestration.defs.dbt_project import DBT_PROJECT
from orchestration.retention import DEFAULT_KEEP_RUNS
from orchestration.settings import Settings
from orchestration.sources import Source, make_source


class WarehouseResource(dg.ConfigurableResource):
    """The folder holding build.duckdb, published.duckdb and the rendered notes (WAREHOUSE_DIR), and
    how many runs' dbt folders and GX results it keeps (WAREHOUSE_KEEP_RUNS)."""

    warehouse_dir: str
    published_db: str
    keep_runs: int = Field(default=DEFAULT_KEEP_RUNS, ge=1)


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs of every `dbt build` step that this
    project never uses (about 4.5 s together; measured by `make bench`):

    - the dbt version comes from the installed dbt-core package instead of a `dbt --version`
      subprocess (the dbt executable is this venv's, see settings.prepare_environment);
    - no in-process dbt adapter: dagster-dbt builds one (loading the profile and every macro) only
      for `fetch_row_counts()` / `fetch_column_metadata()`, which the dbt asset does not call - it
      reads row counts itself once dbt has exited (dbt_metadata.py). dagster-dbt runs without an
      adapter when creating one fails, so None is a state it handles.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


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
            warehouse_dir=str(settings.warehouse_dir),
            published_db=str(settings.published_db),
            keep_runs=settings.keep_runs,
        ),
        "duckdb": DuckDBResource(database=str(settings.build_db)),
        "dbt": WarehouseDbtCliResource(project_dir=DBT_PROJECT),
        "source": SourceResource(
            kind=settings.source,
            warehouse_dir=str(settings.warehouse_dir),
            csv_dir=str(settings.csv_dir) if settings.csv_dir else None,
            demo_tickers=settings.demo_tickers,
            demo_years=settings.demo_years,
        ),
    }
