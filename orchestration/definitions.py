"""The one Definitions object: `make run`, `make ui` and the tests all load this. It only assembles
what the stages define: raw -> transform -> quality -> publish -> note, and the automation over them."""

from orchestration.core.settings import Settings, load_settings, prepare_environment

prepare_environment()

import dagster as dg  # noqa: E402

from orchestration.automation import build_and_publish, daily_refresh, monthly_publish, note_after_publish  # noqa: E402
from orchestration.core.resources import BuildDuckDBResource, WarehouseResource  # noqa: E402
from orchestration.note.asset import monthly_note, publish_note  # noqa: E402
from orchestration.publish.asset import published_warehouse  # noqa: E402
from orchestration.quality.checks import GX_CHECKS  # noqa: E402
from orchestration.raw.assets import LOAD_LOG, RAW_ASSETS  # noqa: E402
from orchestration.raw.resources import SourceResource  # noqa: E402
from orchestration.transform.assets import warehouse_dbt_assets  # noqa: E402
from orchestration.transform.project import DBT_PROJECT  # noqa: E402
from orchestration.transform.resource import WarehouseDbtCliResource  # noqa: E402


def build_resources(settings: Settings) -> dict[str, object]:
    """Each stage's resources, bound to one warehouse folder and source."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": WarehouseResource(
            warehouse_dir=str(settings.warehouse_dir),
            keep_runs=settings.keep_runs,
        ),
        "duckdb": BuildDuckDBResource(database=str(settings.build_db)),
        "dbt": WarehouseDbtCliResource(project_dir=DBT_PROJECT),
        "source": SourceResource(
            kind=settings.source,
            warehouse_dir=str(settings.warehouse_dir),
            csv_dir=str(settings.csv_dir) if settings.csv_dir else None,
            demo_tickers=settings.demo_tickers,
            demo_years=settings.demo_years,
        ),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    """The asset graph bound to one warehouse folder and source (what the environment selects)."""
    return dg.Definitions(
        assets=[*RAW_ASSETS, LOAD_LOG, warehouse_dbt_assets, published_warehouse, monthly_note],
        asset_checks=GX_CHECKS,
        jobs=[build_and_publish, publish_note],
        schedules=[monthly_publish, daily_refresh],
        sensors=[note_after_publish],
        resources=build_resources(settings),
        # DuckDB allows one writer per file: steps run one after another in a single process.
        executor=dg.in_process_executor,
    )


defs = build_definitions(load_settings())
