"""The one Definitions object: `make run`, `make ui` and the tests all load this. It only assembles
what the stages define: raw -> transform -> quality -> publish -> note, and the automation over them."""

import dagster as dg

from orchestration.automation import build_and_publish, daily_refresh, monthly_publish, note_after_publish
from orchestration.core.resources import BuildDuckDBResource, WarehouseResource
from orchestration.core.settings import Settings, load_settings, prepare_environment
from orchestration.note.asset import monthly_note, publish_note
from orchestration.publish.asset import published_warehouse
from orchestration.quality.checks import warehouse_gx_checks
from orchestration.raw.assets import LOAD_LOG, RAW_ASSETS
from orchestration.raw.resources import RawSourceResource
from orchestration.raw.sources import check_source_settings
from orchestration.transform.assets import warehouse_dbt_assets
from orchestration.transform.project import dbt_project
from orchestration.transform.resource import WarehouseDbtCliResource


def build_resources(settings: Settings) -> dict[str, object]:
    """Each stage's resources, bound to one warehouse folder and raw source."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": WarehouseResource(
            warehouse_dir=str(settings.warehouse_dir),
            keep_runs=settings.keep_runs,
            missing_caps_allowed=list(settings.missing_caps_allowed),
            allow_shrink=settings.allow_shrink,
            lake=settings.lake,
            lake_data=settings.lake_data,
        ),
        "duckdb": BuildDuckDBResource(database=str(settings.build_db)),
        "dbt": WarehouseDbtCliResource(project_dir=dbt_project()),
        "raw_source": RawSourceResource(
            kind=settings.source,
            warehouse_dir=str(settings.warehouse_dir),
            csv_dir=str(settings.csv_dir) if settings.csv_dir else None,
            demo_tickers=settings.demo_tickers,
            demo_years=settings.demo_years,
            sec_user_agent=settings.sec_user_agent,
            shares_overrides=str(settings.shares_overrides) if settings.shares_overrides else None,
            live_refresh=settings.live_refresh,
        ),
    }


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The asset graph bound to one warehouse folder and source (default: what the environment
    selects). The process environment is prepared here, not on import: telemetry off and this
    interpreter's dbt first on PATH are read only when Dagster, dbt and GX run, never when they
    are imported (GX, whose progress-bar library reads TQDM_DISABLE on import, is imported later,
    by quality.gx_engine after the same call)."""
    prepare_environment()
    settings = settings or load_settings()
    check_source_settings(settings)
    return dg.Definitions(
        assets=[*RAW_ASSETS, LOAD_LOG, warehouse_dbt_assets, published_warehouse, monthly_note],
        asset_checks=list(warehouse_gx_checks()),
        jobs=[build_and_publish, publish_note],
        schedules=[monthly_publish, daily_refresh],
        sensors=[note_after_publish],
        resources=build_resources(settings),
        # DuckDB allows one writer per file: steps run one after another in a single process.
        executor=dg.in_process_executor,
    )


# What `dagster dev -m orchestration.definitions` and workspace.yaml load.
defs = build_definitions()
